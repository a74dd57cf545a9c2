/** Where a JSON text first goes wrong, and what was found there. */
export interface JsonErrorSpot {
  readonly offset: number;
  readonly problem: string;
}

const WHITESPACE = /[ \t\n\r]*/y;
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
// A string up to its closing quote, or up to the character that keeps it from being one.
// biome-ignore lint/suspicious/noControlCharactersInRegex: JSON refuses them raw in a string; finding them is the point.
const STRING_BODY = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*/y;
const LITERAL = /true|false|null/y;
const WORD = /[A-Za-z0-9_$.+-]+/y;
const MAX_SHOWN = 20;

/**
 * The first spot where `text` is not JSON, found by reading it as JSON.parse would: V8 names the
 * position of some errors only (Node 20 says "Unexpected token ','..." with the text around it and
 * no offset). What is found there is quoted, nothing more of the file: it may hold anything.
 * Undefined when the text is JSON after all.
 */
export function locateJsonError(text: string): JsonErrorSpot | undefined {
  const reader = new JsonReader(text);
  try {
    reader.value();
    reader.skip();
    if (reader.at < text.length) reader.fail('the end of the file');
    return undefined;
  } catch (error) {
    if (error instanceof Spotted) return error.spot;
    throw error;
  }
}

class Spotted extends Error {
  constructor(readonly spot: JsonErrorSpot) {
    super(spot.problem);
  }
}

class JsonReader {
  at = 0;

  constructor(private readonly text: string) {}

  skip(): void {
    WHITESPACE.lastIndex = this.at;
    WHITESPACE.exec(this.text);
    this.at = WHITESPACE.lastIndex;
  }

  fail(expected: string): never {
    throw new Spotted({
      offset: this.at,
      problem: `unexpected ${this.found()}; expected ${expected}`,
    });
  }

  value(): void {
    this.skip();
    const c = this.text[this.at];
    if (c === '{') this.members('}', () => this.member());
    else if (c === '[') this.members(']', () => this.value());
    else if (c === '"') this.string();
    else if (!this.match(NUMBER) && !this.match(LITERAL)) this.fail('a value');
  }

  private member(): void {
    this.skip();
    if (this.text[this.at] !== '"') this.fail('a property name in double quotes');
    this.string();
    this.skip();
    if (this.text[this.at] !== ':') this.fail('":"');
    this.at += 1;
    this.value();
  }

  private members(close: string, item: () => void): void {
    this.at += 1;
    this.skip();
    if (this.text[this.at] === close) {
      this.at += 1;
      return;
    }
    for (;;) {
      item();
      this.skip();
      const c = this.text[this.at];
      this.at += 1;
      if (c === close) return;
      if (c !== ',') {
        this.at -= 1;
        this.fail(`"," or "${close}"`);
      }
    }
  }

  private string(): void {
    this.match(STRING_BODY);
    if (this.text[this.at] !== '"')
      this.fail('a closing quote (control characters and bad escapes are not allowed in a string)');
    this.at += 1;
  }

  private match(pattern: RegExp): boolean {
    pattern.lastIndex = this.at;
    if (pattern.exec(this.text) === null) return false;
    this.at = pattern.lastIndex;
    return true;
  }

  private found(): string {
    if (this.at >= this.text.length) return 'the end of the file';
    WORD.lastIndex = this.at;
    const word = WORD.exec(this.text)?.[0];
    if (word === undefined) return JSON.stringify(this.text.slice(this.at, this.at + 1));
    return word.length > MAX_SHOWN ? `${word.slice(0, MAX_SHOWN)}...` : word;
  }
}
