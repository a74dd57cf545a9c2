import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';

/** Browser tests run beside other heavy suites on two cores: each gets this long. */
export const BROWSER_TEST_TIMEOUT = 30_000;

/** Debian's chromium, headless, with nothing that phones home. */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      '--disable-sync',
    ],
  });
}

export interface DashboardPage {
  readonly page: Page;
  readonly context: BrowserContext;
  /**
   * What went wrong so far: console errors and warnings, uncaught exceptions, failed requests,
   * requests that left the dashboard's origin, dialogs (dismissed), HTTP errors not expected.
   */
  readonly problems: string[];
  /** Every URL the page asked for, in order. */
  readonly requested: string[];
  /** Lets `status` answers to requests whose path ends with `pathEnd` through (a 403 a test provokes). */
  expectStatus(pathEnd: string, status: number): void;
  close(): Promise<void>;
}

/**
 * Opens the dashboard at `url` in a fresh context (its own sessionStorage) and, unless told not
 * to, waits until the page is live: it has read the snapshot and its event stream is open.
 */
export async function openDashboard(
  browser: Browser,
  url: string,
  options: {
    colorScheme?: 'light' | 'dark';
    width?: number;
    height?: number;
    /** Wait for the event stream to be open (default), or only for the page to load. */
    live?: boolean;
    /** HTTP errors the test provokes from the start, as for {@link DashboardPage.expectStatus}. */
    expect?: readonly { pathEnd: string; status: number }[];
  } = {},
): Promise<DashboardPage> {
  const context = await browser.newContext({
    viewport: { width: options.width ?? 1440, height: options.height ?? 900 },
    colorScheme: options.colorScheme ?? 'light',
  });
  const page = await context.newPage();
  const origin = new URL(url).origin;
  const problems: string[] = [];
  const requested: string[] = [];
  const expected = [...(options.expect ?? [])];
  const isExpected = (url: string, status: number): boolean => {
    const path = new URL(url).pathname;
    return expected.some((e) => e.status === status && path.endsWith(e.pathEnd));
  };
  page.on('console', (message) => {
    if (message.type() !== 'error' && message.type() !== 'warning') return;
    // Chromium logs every HTTP error a fetch gets; those a test provokes are not problems.
    const status = /status of (\d{3})/.exec(message.text())?.[1];
    if (status !== undefined && isExpected(message.location().url, Number(status))) return;
    problems.push(`console.${message.type()}: ${message.text()} (${message.location().url})`);
  });
  page.on('pageerror', (error) => problems.push(`uncaught in the page: ${error.message}`));
  page.on('dialog', (dialog) => {
    problems.push(`a ${dialog.type()} dialog opened: ${dialog.message()}`);
    void dialog.dismiss();
  });
  page.on('request', (request) => {
    requested.push(request.url());
    const target = new URL(request.url());
    if (target.protocol !== 'data:' && target.origin !== origin) {
      problems.push(`a request left the dashboard's origin: ${request.url()}`);
    }
  });
  // Chromium may abort the body of an answer it refuses (an EventSource's 503): that request
  // failing is part of the error the test provoked.
  const refused = new Set<unknown>();
  page.on('requestfailed', (request) => {
    if (refused.has(request)) return;
    problems.push(`request failed: ${request.url()} (${request.failure()?.errorText})`);
  });
  page.on('response', (response) => {
    const status = response.status();
    if (status < 400) return;
    if (isExpected(response.url(), status)) refused.add(response.request());
    else problems.push(`HTTP ${status} for ${response.request().method()} ${response.url()}`);
  });
  await page.goto(url);
  if (options.live !== false) {
    await page.locator('[data-testid="connection"][data-status="live"]').waitFor();
  }
  return {
    page,
    context,
    problems,
    requested,
    expectStatus: (pathEnd, status) => expected.push({ pathEnd, status }),
    close: () => context.close(),
  };
}

/** The row that shows breaker `name`: matched by its dataset, so any name works, quotes and all. */
export function rowSelector(name: string): string {
  return `[data-testid="breaker-row"][data-name="${cssString(name)}"]`;
}

function cssString(value: string): string {
  // A line break cannot stand in a CSS string: it is written as its escape.
  return value
    .replaceAll('\\', '\\\\')
    .replaceAll('"', '\\"')
    .replaceAll('\n', '\\a ')
    .replaceAll('\r', '\\d ');
}

/** A breaker row as the page shows it. */
export interface ShownRow {
  readonly name: string;
  readonly state: string;
  /** Its aria-posinset: the place in the (filtered) list it says it has. */
  readonly position: number;
  /** Where it is drawn, in CSS px from the top of the list. */
  readonly top: number;
}

/** What the functions below use of a row element, in the page. */
interface RowElement {
  getAttribute(name: string): string | null;
}

/**
 * The rows in DOM order, read in one evaluation. Not `locator.evaluateAll`: it finds the
 * elements and reads them in two round trips, and a render between the two gives the old
 * rows' order with the names the list has since bound to them (a reused row shows another
 * breaker), which reads as rows out of order when they never were.
 */
export function shownRows(page: Page): Promise<ShownRow[]> {
  return page.evaluate(() => {
    const { document } = globalThis as unknown as {
      document: { querySelectorAll(selector: string): Iterable<RowElement> };
    };
    return Array.from(document.querySelectorAll('[data-testid="breaker-row"]'), (row) => ({
      name: row.getAttribute('data-name') ?? '',
      state: row.getAttribute('data-state') ?? '',
      position: Number(row.getAttribute('aria-posinset')),
      // The list places rows by transform alone: offsetTop is 0 for all of them.
      top: Number(/translateY\((-?[\d.]+)px\)/.exec(row.getAttribute('style') ?? '')?.[1]),
    }));
  });
}

/**
 * From now on, checks the rows after every change the page makes to them (a MutationObserver
 * runs once the render that made the changes is over): DOM order, aria-posinset and the drawn
 * position must all agree. {@link rowOrderBreaks} tells what broke that, if anything did.
 */
export function watchRowOrder(page: Page): Promise<void> {
  return page.evaluate(() => {
    const scope = globalThis as unknown as {
      document: { querySelector(selector: string): { children: Iterable<RowElement> } | null };
      MutationObserver: new (
        callback: () => void,
      ) => { observe(target: unknown, options: Record<string, unknown>): void };
      rowOrderBreaks: string[];
    };
    const spacer = scope.document.querySelector('.spacer');
    if (spacer === null) throw new Error('the page has no .spacer list');
    scope.rowOrderBreaks = [];
    const check = (): void => {
      let before: { position: number; top: number; name: string } | undefined;
      for (const row of spacer.children) {
        const now = {
          name: row.getAttribute('data-name') ?? '',
          position: Number(row.getAttribute('aria-posinset')),
          top: Number(/translateY\((-?[\d.]+)px\)/.exec(row.getAttribute('style') ?? '')?.[1]),
        };
        if (
          before !== undefined &&
          (now.position !== before.position + 1 || now.top <= before.top)
        ) {
          scope.rowOrderBreaks.push(
            `${now.name} (#${now.position} at ${now.top}px) right after ${before.name} (#${before.position} at ${before.top}px)`,
          );
          return;
        }
        before = now;
      }
    };
    new scope.MutationObserver(check).observe(spacer, {
      childList: true,
      subtree: true,
      attributes: true,
      attributeFilter: ['aria-posinset', 'style', 'data-name'],
    });
  });
}

/** What {@link watchRowOrder} saw go wrong, in order: empty when every render kept the order. */
export function rowOrderBreaks(page: Page): Promise<string[]> {
  return page.evaluate(
    () => (globalThis as unknown as { rowOrderBreaks: string[] }).rowOrderBreaks,
  );
}

/** Resolves once the page has drawn two more frames: anything scheduled for the next is done. */
export function nextFrames(page: Page): Promise<void> {
  return page.evaluate(
    () =>
      new Promise<void>((resolve) => {
        const { requestAnimationFrame: frame } = globalThis as unknown as {
          requestAnimationFrame(callback: () => void): void;
        };
        frame(() => frame(() => resolve()));
      }),
  );
}

/**
 * The page's window as code run in it (page.evaluate) sees it: the tests compile without the
 * DOM library, so what they use of it is typed here. Only a type: a cast to it costs nothing
 * in the function the browser runs.
 */
export interface PageWindow {
  getComputedStyle(element: unknown): { readonly backgroundColor: string; readonly color: string };
  readonly sessionStorage: { getItem(key: string): string | null };
}

/** A CSS colour as [r, g, b] (computed colours come back as `rgb(...)` or `rgba(...)`). */
export function rgbOf(colour: string): [number, number, number] {
  const match = /rgba?\((\d+(?:\.\d+)?)[ ,]+(\d+(?:\.\d+)?)[ ,]+(\d+(?:\.\d+)?)/.exec(colour);
  if (match === null) throw new Error(`not an rgb() colour: ${colour}`);
  return [Number(match[1]), Number(match[2]), Number(match[3])];
}
