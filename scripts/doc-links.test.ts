import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

// The docs a newcomer reads first must point at things that exist in this repository:
// a link to a file outside it (or a heading that was renamed) is a dead end on a fresh clone.
const root = resolve(import.meta.dirname, '..');
const docs = execFileSync('git', ['ls-files', '*.md'], { cwd: root, encoding: 'utf8' })
  .split('\n')
  .filter((path) => path.length > 0);

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[`*_]/g, '')
    .replace(/[^\p{L}\p{N} -]/gu, '')
    .replace(/ /g, '-');
}

function anchors(markdown: string): Set<string> {
  const found = new Set<string>();
  for (const line of markdown.split('\n')) {
    const heading = /^#{1,6} (.+)$/.exec(line);
    if (heading?.[1] !== undefined) found.add(slug(heading[1]));
  }
  return found;
}

/**
 * Relative links in `[text](target)` form outside code blocks, and paths to Markdown files
 * named in code spans (`../notes/DESIGN.md`), which a reader follows just the same.
 */
function links(markdown: string): string[] {
  const prose = markdown.replace(/```[\s\S]*?```/g, '');
  const spans = [...prose.matchAll(/`([^`\s]+\/[^`\s]*\.md)`/g)].map((match) => match[1] as string);
  const withoutCode = prose.replace(/`[^`\n]*`/g, '');
  const targets = [...withoutCode.matchAll(/\]\(([^)\s]+)\)/g)].map((match) => match[1] as string);
  return [...targets, ...spans].filter((target) => !/^[a-z][a-z0-9+.-]*:/i.test(target));
}

describe('documentation links', () => {
  it('finds the docs and the links in them', () => {
    expect(docs).toContain('README.md');
    expect(docs).toContain('docs/architecture.md');
    expect(links(readFileSync(join(root, 'README.md'), 'utf8')).length).toBeGreaterThan(2);
  });

  it.each(docs)('%s links only to files and headings inside the repository', (doc) => {
    const text = readFileSync(join(root, doc), 'utf8');
    const broken: string[] = [];
    for (const target of links(text)) {
      const [path = '', anchor] = target.split('#');
      const file = path === '' ? join(root, doc) : resolve(root, dirname(doc), path);
      const inside = !relative(root, file).startsWith('..');
      if (!inside || !existsSync(file)) {
        broken.push(`${target}: no such file in the repository`);
        continue;
      }
      if (anchor !== undefined && statSync(file).isFile() && file.endsWith('.md')) {
        if (!anchors(readFileSync(file, 'utf8')).has(anchor)) {
          broken.push(`${target}: no heading #${anchor} there`);
        }
      }
    }
    expect(broken).toEqual([]);
  });
});
