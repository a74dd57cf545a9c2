const STAR = 0x2a;
const QUESTION = 0x3f;

/** How many UTF-16 units the code point at `i` takes: a surrogate pair is one character. */
function width(text: string, i: number): number {
  const unit = text.charCodeAt(i);
  if (unit < 0xd800 || unit > 0xdbff || i + 1 >= text.length) return 1;
  const next = text.charCodeAt(i + 1);
  return next >= 0xdc00 && next <= 0xdfff ? 2 : 1;
}

/**
 * Whether `glob` matches the whole of `text`: `*` is any run of characters (none included), `?`
 * exactly one character (a code point, so one emoji too); every other character, regex
 * metacharacters and backslash included, stands for itself, and there is no escape.
 * Not a regular expression on purpose: greedy matching that backs up only to the last `*` takes
 * at most glob × text steps, where a regex of many `.*` can take exponentially long.
 */
export function matchesGlob(glob: string, text: string): boolean {
  let g = 0;
  let t = 0;
  let starAt = -1;
  let starText = 0;
  while (t < text.length) {
    if (g < glob.length) {
      const c = glob.charCodeAt(g);
      if (c === STAR) {
        starAt = g++;
        starText = t;
        continue;
      }
      if (c === QUESTION) {
        g++;
        t += width(text, t);
        continue;
      }
      if (c === text.charCodeAt(t)) {
        g++;
        t++;
        continue;
      }
    }
    if (starAt < 0) return false;
    // The last `*` takes one more character, and matching resumes after it.
    g = starAt + 1;
    starText += width(text, starText);
    t = starText;
  }
  while (g < glob.length && glob.charCodeAt(g) === STAR) g++;
  return g === glob.length;
}
