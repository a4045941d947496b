import type { IncomingHttpHeaders } from 'node:http';

/** The prefixes every request is read with: Kaleido's, FireFly's, and the configured one. */
export interface ParamPrefixes {
  short: string;
  long: string;
}

const ALWAYS: ParamPrefixes[] = [
  { short: 'kld', long: 'kaleido' },
  { short: 'fly', long: 'firefly' },
];

/**
 * The special parameters of a request (`from`, `sync`, `id`, …): query `<short>-<name>` first,
 * matched case-insensitively, else header `x-<long>-<name>` (ethconnect FE kldparams.go:37-48,
 * research/rest-gateway.md §1). ethconnect reads one configured prefix pair; we read `kld`/`kaleido`
 * and `fly`/`firefly` (and the configured pair) at once, so clients of the Kaleido-hosted gateway and
 * of FireFly's ethconnect both work unchanged (§1 "Recommendation for us").
 */
export class SpecialParams {
  private readonly query = new Map<string, string[]>();
  private readonly prefixes: ParamPrefixes[];

  constructor(
    search: URLSearchParams,
    private readonly headers: IncomingHttpHeaders,
    configured: ParamPrefixes = ALWAYS[0],
  ) {
    this.prefixes = ALWAYS.some((p) => p.short === configured.short && p.long === configured.long) ? ALWAYS : [configured, ...ALWAYS];
    for (const [key, value] of search) {
      const lower = key.toLowerCase();
      const list = this.query.get(lower);
      if (list) list.push(value);
      else this.query.set(lower, [value]);
    }
  }

  /** Query values of `<short>-<name>` (first prefix that has any), else undefined. */
  private queryValues(name: string): string[] | undefined {
    for (const p of this.prefixes) {
      const values = this.query.get(`${p.short}-${name}`);
      if (values) return values;
    }
    return undefined;
  }

  private headerValues(name: string): string[] | undefined {
    for (const p of this.prefixes) {
      const value = this.headers[`x-${p.long}-${name}`];
      if (value !== undefined) return Array.isArray(value) ? value : [value];
    }
    return undefined;
  }

  /** A single-valued parameter: the query's (when not empty) wins over the header (FE kldparams.go:37-48). */
  string(name: string): string | undefined {
    const q = this.queryValues(name)?.[0];
    if (q !== undefined && q !== '') return q;
    const h = this.headerValues(name)?.[0];
    return h !== undefined && h !== '' ? h : undefined;
  }

  /**
   * A boolean: present in the query with an empty value → true (`?kld-sync`); otherwise true only
   * for "true" in any case; the header only when the query parameter is absent (FE kldparams.go:50-63).
   */
  bool(name: string): boolean {
    const q = this.queryValues(name);
    if (q !== undefined) return q[0] === '' || q[0].toLowerCase() === 'true';
    const h = this.headerValues(name)?.[0];
    return h !== undefined && h.toLowerCase() === 'true';
  }

  /** Whether a boolean was given at all (to tell "sync=false" from "not said"). */
  has(name: string): boolean {
    return this.queryValues(name) !== undefined || this.headerValues(name) !== undefined;
  }
}
