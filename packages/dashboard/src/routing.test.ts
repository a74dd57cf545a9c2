import { describe, expect, it } from 'vitest';
import { locate } from './routing.js';

const files: Record<string, string> = { 'app.js': 'the app', 'icons/a.svg': 'an icon' };
const assetFor = (file: string) => (Object.hasOwn(files, file) ? files[file] : undefined);

describe('locate', () => {
  it('routes the fixed paths under the base, ignoring the query', () => {
    expect(locate('/ops/?x=1', '/ops/', assetFor)).toEqual({ route: { kind: 'page' } });
    expect(locate('/ops/breakers', '/ops/', assetFor)).toEqual({ route: { kind: 'breakers' } });
    expect(locate('/ops/health?verbose', '/ops/', assetFor)).toEqual({ route: { kind: 'health' } });
    expect(locate('/events', '/', assetFor)).toEqual({ route: { kind: 'events' } });
  });

  it('redirects the base without its slash, keeping the query', () => {
    expect(locate('/ops', '/ops/', assetFor)).toEqual({ redirect: '/ops/' });
    expect(locate('/ops?a=b', '/ops/', assetFor)).toEqual({ redirect: '/ops/?a=b' });
  });

  it('names only files the allowlist knows', () => {
    expect(locate('/assets/app.js', '/', assetFor)).toEqual({
      route: { kind: 'asset', asset: 'the app' },
    });
    expect(locate('/assets/icons/a.svg', '/', assetFor)).toEqual({
      route: { kind: 'asset', asset: 'an icon' },
    });
    for (const url of [
      '/assets/../app.js',
      '/assets/%2e%2e/x',
      '/assets/constructor',
      '/assets/',
    ]) {
      expect(locate(url, '/', assetFor), url).toBeUndefined();
    }
  });

  it('splits a control path at its last slash, leaving the name encoded', () => {
    expect(locate('/breakers/a%2Fb/open', '/', assetFor)).toEqual({
      route: { kind: 'control', name: 'a%2Fb', action: 'open' },
    });
    expect(locate('/breakers/a/b/reset', '/', assetFor)).toEqual({
      route: { kind: 'control', name: 'a/b', action: 'reset' },
    });
    expect(locate('/breakers/open', '/', assetFor)).toBeUndefined();
    expect(locate('/breakers//open', '/', assetFor)).toBeUndefined();
  });

  it('takes a name from ?name= for "." and "..", which no path can carry', () => {
    expect(locate('/breakers/open?name=%2E%2E', '/', assetFor)).toEqual({
      route: { kind: 'control', name: '%2E%2E', action: 'open' },
    });
    expect(locate('/breakers/reset?x=1&name=.', '/', assetFor)).toEqual({
      route: { kind: 'control', name: '.', action: 'reset' },
    });
    expect(locate('/breakers/open?names=a', '/', assetFor)).toBeUndefined();
  });

  it('leaves everything else alone: outside the base, or unknown under it', () => {
    for (const url of ['/', '/opsx/breakers', '/other/ops/', '/ops/nothing', '/ops/toString']) {
      expect(locate(url, '/ops/', assetFor), url).toBeUndefined();
    }
  });
});
