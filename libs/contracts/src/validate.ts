/**
 * A tiny runtime validator for wire payloads. Every message that crosses NATS is parsed with one of
 * these on receipt, so a malformed or foreign payload fails with a message naming the field instead
 * of surfacing later as `undefined` deep inside a handler.
 */

export class ContractViolationError extends Error {
  override readonly name = 'ContractViolationError';
  constructor(
    readonly path: string,
    readonly expected: string,
  ) {
    super(`invalid payload: ${path || '(root)'} must be ${expected}`);
  }
}

export type Parser<T> = (value: unknown, path?: string) => T;
export type Infer<P> = P extends Parser<infer T> ? T : never;

const HEX = /^0x[0-9a-fA-F]*$/;
const QUANTITY = /^0x(0|[1-9a-fA-F][0-9a-fA-F]*)$/;
const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const HASH = /^0x[0-9a-fA-F]{64}$/;

function fail(path: string, expected: string): never {
  throw new ContractViolationError(path, expected);
}

export const string =
  (opts: { min?: number; max?: number } = {}): Parser<string> =>
  (v, path = '') => {
    if (typeof v !== 'string') fail(path, 'a string');
    if (opts.min !== undefined && v.length < opts.min) fail(path, `at least ${opts.min} characters`);
    if (opts.max !== undefined && v.length > opts.max) fail(path, `at most ${opts.max} characters`);
    return v;
  };

export const integer =
  (opts: { min?: number; max?: number } = {}): Parser<number> =>
  (v, path = '') => {
    if (typeof v !== 'number' || !Number.isSafeInteger(v)) fail(path, 'a safe integer');
    if (opts.min !== undefined && v < opts.min) fail(path, `>= ${opts.min}`);
    if (opts.max !== undefined && v > opts.max) fail(path, `<= ${opts.max}`);
    return v;
  };

export const boolean = (): Parser<boolean> => (v, path = '') => (typeof v === 'boolean' ? v : fail(path, 'a boolean'));

/** 0x-prefixed byte string (even length). */
export const hexData = (): Parser<string> => (v, path = '') =>
  typeof v === 'string' && HEX.test(v) && v.length % 2 === 0 ? v.toLowerCase() : fail(path, '0x-prefixed hex bytes');

/** JSON-RPC QUANTITY: 0x-prefixed hex without leading zeros. */
export const quantity = (): Parser<string> => (v, path = '') =>
  typeof v === 'string' && QUANTITY.test(v) ? v.toLowerCase() : fail(path, 'a 0x-prefixed hex quantity');

/** 20-byte address, normalised to lower case (the form every service uses as a key). */
export const address = (): Parser<string> => (v, path = '') =>
  typeof v === 'string' && ADDRESS.test(v) ? v.toLowerCase() : fail(path, 'a 0x-prefixed 20-byte address');

export const hash32 = (): Parser<string> => (v, path = '') =>
  typeof v === 'string' && HASH.test(v) ? v.toLowerCase() : fail(path, 'a 0x-prefixed 32-byte hash');

export const literal =
  <T extends string | number>(...values: T[]): Parser<T> =>
  (v, path = '') =>
    values.includes(v as T) ? (v as T) : fail(path, `one of ${values.map((x) => JSON.stringify(x)).join(', ')}`);

export const array =
  <T>(item: Parser<T>, opts: { max?: number } = {}): Parser<T[]> =>
  (v, path = '') => {
    if (!Array.isArray(v)) fail(path, 'an array');
    if (opts.max !== undefined && v.length > opts.max) fail(path, `an array of at most ${opts.max} items`);
    return v.map((x, i) => item(x, `${path}[${i}]`));
  };

export const optional =
  <T>(inner: Parser<T>): Parser<T | undefined> =>
  (v, path) =>
    v === undefined ? undefined : inner(v, path);

export const nullable =
  <T>(inner: Parser<T>): Parser<T | null> =>
  (v, path) =>
    v === null ? null : inner(v, path);

type Shape = Record<string, Parser<unknown>>;
type ObjectOf<S extends Shape> = {
  [K in keyof S as undefined extends Infer<S[K]> ? never : K]: Infer<S[K]>;
} & {
  [K in keyof S as undefined extends Infer<S[K]> ? K : never]?: Infer<S[K]>;
};

/** An object with exactly the listed fields; unknown fields are dropped, not passed on. */
export const object =
  <S extends Shape>(shape: S): Parser<ObjectOf<S>> =>
  (v, path = '') => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(path, 'an object');
    const out: Record<string, unknown> = {};
    for (const [key, parse] of Object.entries(shape)) {
      const value = parse((v as Record<string, unknown>)[key], path ? `${path}.${key}` : key);
      if (value !== undefined) out[key] = value;
    }
    return out as ObjectOf<S>;
  };
