import type { Attributes } from '@opentelemetry/api';

/**
 * Attribute sets made once per distinct combination of values and reused by every collection,
 * for instruments whose attribute values come from the data (engines, strategies, outcomes).
 */
export class AttributeSets {
  private readonly sets = new Map<string, Attributes>();

  constructor(private readonly keys: readonly string[]) {}

  /** The set with `values` under the keys, in order. */
  get(...values: string[]): Attributes {
    // NUL cannot be confused with a character of a name.
    const id = values.join('\u0000');
    let set = this.sets.get(id);
    if (set === undefined) {
      set = Object.fromEntries(this.keys.map((key, i) => [key, values[i]]));
      this.sets.set(id, set);
    }
    return set;
  }
}
