/** A rule's identifier and the line (1-based) it is declared on. */
export interface RuleDeclaration {
  readonly name: string;
  readonly line: number;
}

const WORD = /[A-Za-z0-9_]/;

/**
 * The rules a source declares, read with just enough of YARA's lexical grammar to skip what
 * may contain the word `rule` without declaring one: comments, text strings and regular
 * expressions (`/` is never division in YARA, whose division is `\`). Meant for sources that
 * compile on their own: a source that does not is reported by the compiler instead.
 */
export function ruleDeclarations(text: string): RuleDeclaration[] {
  const found: RuleDeclaration[] = [];
  let line = 1;
  let i = 0;
  let afterRule = false;
  /** Moves to `end`, counting the lines passed. */
  const skipTo = (end: number): void => {
    for (; i < end; i++) if (text[i] === '\n') line++;
  };
  while (i < text.length) {
    const c = text[i] as string;
    const next = text[i + 1];
    if (c === '/' && next === '/') {
      const end = text.indexOf('\n', i);
      skipTo(end < 0 ? text.length : end);
    } else if (c === '/' && next === '*') {
      const end = text.indexOf('*/', i + 2);
      skipTo(end < 0 ? text.length : end + 2);
    } else if (c === '"' || c === '/') {
      skipTo(literalEnd(text, i, c));
    } else if (WORD.test(c)) {
      const start = i;
      while (i < text.length && WORD.test(text[i] as string)) i++;
      const word = text.slice(start, i);
      if (afterRule) found.push({ name: word, line });
      afterRule = !afterRule && word === 'rule';
    } else {
      skipTo(i + 1);
    }
  }
  return found;
}

/** Just past the quote or slash that closes the literal opened at `start`; escapes skipped. */
function literalEnd(text: string, start: number, quote: string): number {
  let i = start + 1;
  while (i < text.length && text[i] !== quote) i += text[i] === '\\' ? 2 : 1;
  return Math.min(i + 1, text.length);
}
