/** What a request under the base path asks for, read from its path alone; `A` is a page file. */
export type Route<A> =
  | { readonly kind: 'page' | 'breakers' | 'health' | 'events' }
  | { readonly kind: 'asset'; readonly asset: A }
  /** `name` is still URL-encoded: decoding it can fail, and that is the control's to answer. */
  | { readonly kind: 'control'; readonly name: string; readonly action: string };

/** Where a request goes: a redirect, one of the dashboard's routes, or not the dashboard's. */
export type Destination<A> =
  | { readonly redirect: string }
  | { readonly route: Route<A> }
  | undefined;

/** The methods each route answers; any other gets 405 with these in `Allow`. */
export const METHODS: Readonly<Record<Route<unknown>['kind'], readonly string[]>> = {
  page: ['GET', 'HEAD'],
  breakers: ['GET', 'HEAD'],
  health: ['GET', 'HEAD'],
  events: ['GET'],
  asset: ['GET', 'HEAD'],
  control: ['POST'],
};

const FIXED: Readonly<Record<string, Route<never>>> = {
  '': { kind: 'page' },
  breakers: { kind: 'breakers' },
  health: { kind: 'health' },
  events: { kind: 'events' },
};
const ASSETS = 'assets/';
const CONTROLS = 'breakers/';

/**
 * Routes `url` (a request's path and query) under `basePath` (ends with "/"). An asset is a
 * route only when `assetFor` knows its file, so no other path ever names a file.
 */
export function locate<A>(
  url: string,
  basePath: string,
  assetFor: (file: string) => A | undefined,
): Destination<A> {
  const queryAt = url.indexOf('?');
  const path = queryAt < 0 ? url : url.slice(0, queryAt);
  if (basePath !== '/' && path === basePath.slice(0, -1)) {
    // The page's URLs are relative: they resolve only under the slash.
    return { redirect: basePath + (queryAt < 0 ? '' : url.slice(queryAt)) };
  }
  if (!path.startsWith(basePath)) return undefined;
  const rest = path.slice(basePath.length);
  const fixed = Object.hasOwn(FIXED, rest) ? FIXED[rest] : undefined;
  if (fixed !== undefined) return { route: fixed };
  if (rest.startsWith(ASSETS)) {
    const asset = assetFor(rest.slice(ASSETS.length));
    return asset === undefined ? undefined : { route: { kind: 'asset', asset } };
  }
  if (rest.startsWith(CONTROLS)) {
    const target = rest.slice(CONTROLS.length);
    // breakers/<name>/<action>: a name may hold an unencoded "/", the action never does.
    const slash = target.lastIndexOf('/');
    if (slash < 0 && queryAt >= 0) {
      // breakers/<action>?name=<name>: for "." and "..", which no URL path can carry (a browser
      // drops such a segment, encoded or not). The name stays encoded, as in a path.
      const name = url
        .slice(queryAt + 1)
        .split('&')
        .find((param) => param.startsWith('name='));
      if (name !== undefined)
        return { route: { kind: 'control', name: name.slice('name='.length), action: target } };
    }
    if (slash <= 0) return undefined;
    return {
      route: { kind: 'control', name: target.slice(0, slash), action: target.slice(slash + 1) },
    };
  }
  return undefined;
}
