/**
 * Label helpers for hot paths. prom-client's `metric.labels(a, b)` builds and hashes a label object
 * on every call; these bind each child once per label-value combination and then cost a Map lookup
 * (two for two labels), with no allocation per observation.
 *
 * Every label value must come from a small, known set (Prometheus: one time series per combination,
 * so never an address, a hash or a request id). Values that come from outside (a JSON-RPC method
 * name, a backend id in a request, an error code from the node) go through {@link BoundedValues}
 * first.
 */

/** `bind(value)` once per value, then the cached child. */
export function childrenBy<C>(bind: (value: string) => C): (value: string) => C {
  const children = new Map<string, C>();
  return (value) => {
    let child = children.get(value);
    if (child === undefined) children.set(value, (child = bind(value)));
    return child;
  };
}

/** `bind(a, b)` once per pair, then the cached child (nested Maps: no key string per call). */
export function childrenBy2<C>(bind: (a: string, b: string) => C): (a: string, b: string) => C {
  const byA = new Map<string, (b: string) => C>();
  return (a, b) => {
    let byB = byA.get(a);
    if (byB === undefined) byA.set(a, (byB = childrenBy((value) => bind(a, value))));
    return byB(b);
  };
}

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
