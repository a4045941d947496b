/**
 * Caps the values a label can take. Label values that come from outside (a JSON-RPC method name, a
 * backend id in a request, an error code from the node) must not create time series at will.
 */
export interface BoundedValuesOptions {
  /** Values always passed through as they are (e.g. the backend ids configured at start-up). */
  allowed?: Iterable<string>;
  /** How many other distinct values are passed through, first come first served (default 0). */
  extra?: number;
  /** What every value past those becomes. */
  other: string;
}

/**
 * Caps a label's values: the allowed ones, then at most `extra` others as they are first seen, then
 * `other` for everything else — so a client or a peer sending ever new values cannot create ever
 * new time series.
 */
export class BoundedValues {
  private readonly seen: Set<string>;
  private readonly limit: number;

  constructor(private readonly options: BoundedValuesOptions) {
    this.seen = new Set(options.allowed ?? []);
    this.limit = this.seen.size + (options.extra ?? 0);
  }

  of(value: string): string {
    if (this.seen.has(value)) return value;
    if (this.seen.size < this.limit) {
      this.seen.add(value);
      return value;
    }
    return this.options.other;
  }
}
