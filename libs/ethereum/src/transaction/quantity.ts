import { InvalidParamsError } from '../rpc/errors';

const HEX_QUANTITY = /^0x[0-9a-fA-F]+$/;
const DECIMAL = /^[0-9]+$/;

/**
 * Reads a JSON-RPC quantity a client sent. Accepts 0x-hex (leading zeros tolerated: some clients
 * pad), a decimal string, or a non-negative safe integer. Anything else — "NaN", "0x", "-1", 1.5 —
 * is an Invalid params error naming the field (research/rpc-signers.md §1.8: a NaN nonce, gas,
 * gasPrice or value → -32602).
 */
export function parseQuantity(value: unknown, field: string): bigint {
  if (typeof value === 'string') {
    if (HEX_QUANTITY.test(value)) return BigInt(value);
    if (DECIMAL.test(value)) return BigInt(value);
  } else if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) {
    return BigInt(value);
  } else if (typeof value === 'bigint' && value >= 0n) {
    return value;
  }
  throw new InvalidParamsError(`${field} must be a hex quantity, got ${describe(value)}`);
}

/** A quantity that must also fit a JS number (nonce, chainId, type). */
export function parseSmallQuantity(value: unknown, field: string): number {
  const n = parseQuantity(value, field);
  if (n > BigInt(Number.MAX_SAFE_INTEGER)) throw new InvalidParamsError(`${field} is too large`);
  return Number(n);
}

/** Canonical JSON-RPC QUANTITY: 0x-hex, no leading zeros ("0x0" for zero). */
export function toQuantity(value: bigint | number): string {
  return `0x${value.toString(16)}`;
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
  if (value === undefined) return 'nothing';
  return typeof value === 'object' ? (value === null ? 'null' : Array.isArray(value) ? 'an array' : 'an object') : String(value);
}
