import { hexlify, type ParamType } from 'ethers';
import { componentName } from './names';

/** A decoded value as the REST API returns it (research/rest-gateway.md §3.2). */
export type FormattedValue = string | boolean | FormattedValue[] | { [key: string]: FormattedValue };

/** Decoded outputs, event data or transaction inputs, keyed by parameter name. */
export type DecodedValues = Record<string, FormattedValue>;

/**
 * What ethconnect answers (200, not an error) when bytes do not decode against the ABI:
 * `rlp` is the data as hex without `0x` (absent when the data is not hex at all), `raw` the data as
 * received, `error` why (ethconnect FE txn.go:179-200 addErrorToRetval, research/rest-gateway.md §3.2).
 */
export interface DecodeFailure {
  rlp?: string;
  raw: string;
  error: string;
}

/**
 * Formats one ethers-decoded value for JSON (ethconnect FE txn.go mapOutput, research/rest-gateway.md §3.2):
 * ints as decimal strings (exact above 2^53), bool, string, address/bytes/bytesN as lowercase 0x hex,
 * arrays as arrays, tuples as objects keyed by component names (nested).
 */
export function formatValue(param: ParamType, value: unknown): FormattedValue {
  if (param.baseType === 'array') {
    const child = param.arrayChildren;
    if (!child) throw new Error(`ABI type ${param.type} has no element type`);
    return Array.from(value as ArrayLike<unknown>, (item) => formatValue(child, item));
  }
  if (param.baseType === 'tuple') {
    const items = value as ArrayLike<unknown>;
    // Object.fromEntries defines own properties, so a component named `__proto__` cannot reach the prototype.
    return Object.fromEntries((param.components ?? []).map((c, i) => [componentName(c, i), formatValue(c, items[i])]));
  }
  if (param.type === 'bool') return Boolean(value);
  if (param.type === 'string') return String(value);
  if (param.type === 'address') return String(value).toLowerCase();
  if (param.type.startsWith('bytes')) return hexlify(value as string | Uint8Array).toLowerCase();
  if (typeof value === 'bigint') return value.toString();
  throw new Error(`ABI type ${param.type} decoded to an unexpected ${typeof value}`);
}
