import { hexlify, type ParamType } from 'ethers';
import { RestErrorCode } from '../errors';
import { componentName } from './names';
import { describeValue, hasOwn, jsonKind, parameterError } from './error-text';

/** A value in the shape ethers' AbiCoder encodes: ints as bigint, bytes/addresses as lowercase hex, tuples as arrays in component order. */
export type EncodableValue = bigint | boolean | string | readonly EncodableValue[];

/** Where a value sits, for messages that name it ("order.amounts[2]"), and whether it came from the query string. */
export interface ValueContext {
  readonly method: string;
  readonly path: string;
  readonly fromQuery: boolean;
}

const INT_TYPE = /^(u?)int(\d+)$/;
const FIXED_BYTES_TYPE = /^bytes(\d+)$/;
const ADDRESS = /^(0[xX])?[0-9a-fA-F]{40}$/;
const DECIMAL = /^[+-]?[0-9]+$/;
const HEX = /^[0-9a-fA-F]*$/;

/**
 * Converts one JSON (or query-string) value to its ABI type, following ethconnect's rules
 * (FE internal/eth/txn.go:476-719 generateTypedArg, research/rest-gateway.md §3.1). Where ethconnect
 * silently mangles a value (truncating floats, wrapping int8("300"), dropping invalid hex) we refuse
 * it with a 400 that names the parameter instead.
 */
export function convertInput(param: ParamType, value: unknown, ctx: ValueContext): EncodableValue {
  // FFEC100163: null is never a value (txn.go generateTypedArg).
  if (value === null || value === undefined) {
    throw parameterError(RestErrorCode.NullParameter, ctx.method, ctx.path, `is null: supply a value of type ${typeLabel(param)}`);
  }
  if (param.baseType === 'array') return convertArray(param, value, ctx);
  if (param.baseType === 'tuple') return convertTuple(param, value, ctx);
  if (param.type === 'bool') return convertBool(value, ctx);
  if (param.type === 'string') {
    if (typeof value === 'string') return value;
    throw invalid(ctx, `must be a JSON string; got ${jsonKind(value)} ${describeValue(value)}`);
  }
  if (param.type === 'address') return convertAddress(value, ctx);
  if (param.type === 'bytes' || FIXED_BYTES_TYPE.test(param.type)) return convertBytes(param.type, value, ctx);
  const int = INT_TYPE.exec(param.type);
  if (int) return convertInteger(param.type, int[1] === '', Number(int[2]), value, ctx);
  throw invalid(ctx, `has type ${typeLabel(param)}, which this gateway cannot convert from JSON`);
}

/** The type as Solidity writes it, with tuples spelled out: "tuple(address,uint256)[]" rather than ethers' "tuple[]". */
function typeLabel(param: ParamType): string {
  return param.format('sighash').replace(/^\(/, 'tuple(');
}

function invalid(ctx: ValueContext, problem: string) {
  return parameterError(RestErrorCode.InvalidParameter, ctx.method, ctx.path, problem);
}

/** Query-string values are single strings, so they can never be arrays or tuples (research/rest-gateway.md §3.1). */
function refuseFromQuery(param: ParamType, ctx: ValueContext): void {
  if (ctx.fromQuery) {
    throw invalid(ctx, `has type ${typeLabel(param)}, which a query parameter cannot carry: send it in the JSON body`);
  }
}

function convertArray(param: ParamType, value: unknown, ctx: ValueContext): EncodableValue {
  refuseFromQuery(param, ctx);
  if (!Array.isArray(value)) throw invalid(ctx, `must be a JSON array (type ${typeLabel(param)}); got ${jsonKind(value)} ${describeValue(value)}`);
  const child = param.arrayChildren;
  if (!child) throw invalid(ctx, `has type ${typeLabel(param)}, which has no element type`);
  if (param.arrayLength !== null && param.arrayLength >= 0 && value.length !== param.arrayLength) {
    throw invalid(ctx, `must be an array of exactly ${param.arrayLength} elements (type ${typeLabel(param)}); got ${value.length}`);
  }
  return value.map((item: unknown, i) => convertInput(child, item, { ...ctx, path: `${ctx.path}[${i}]` }));
}

/** A tuple is a JSON object keyed by component names, every component required (ethconnect FFEC100171/100180). */
function convertTuple(param: ParamType, value: unknown, ctx: ValueContext): EncodableValue {
  refuseFromQuery(param, ctx);
  const components = param.components ?? [];
  const keys = components.map(componentName);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw invalid(ctx, `must be a JSON object with the keys ${keys.map((k) => `'${k}'`).join(', ')}; got ${jsonKind(value)} ${describeValue(value)}`);
  }
  const record = value as Record<string, unknown>;
  return components.map((component, i) => {
    const key = componentName(component, i);
    const path = `${ctx.path}.${key}`;
    if (!hasOwn(record, key)) {
      throw parameterError(RestErrorCode.InvalidParameter, ctx.method, path, `is missing: every component of '${ctx.path}' (${keys.join(', ')}) is required`);
    }
    return convertInput(component, record[key], { ...ctx, path });
  });
}

/** JSON bool, or a string where only "true" (any case) is true; anything else is false, as in ethconnect (txn.go BoolTy). */
function convertBool(value: unknown, ctx: ValueContext): boolean {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string') return value.toLowerCase() === 'true';
  throw invalid(ctx, `must be a JSON boolean or the string "true"/"false"; got ${jsonKind(value)} ${describeValue(value)}`);
}

/**
 * 40 hex digits, `0x` optional, any case. Lower-cased before it reaches ethers so a mixed-case address
 * with a wrong EIP-55 checksum is accepted, as go-ethereum's IsHexAddress (ethconnect) accepts it.
 */
function convertAddress(value: unknown, ctx: ValueContext): string {
  if (typeof value === 'string' && ADDRESS.test(value)) return `0x${value.replace(/^0[xX]/, '').toLowerCase()}`;
  throw invalid(ctx, `must be an address: 40 hex digits, 0x optional; got ${jsonKind(value)} ${describeValue(value)}`);
}

/**
 * Hex (`0x` optional) or a JSON array of byte values 0-255 (research/rest-gateway.md §3.1). ethconnect
 * decodes hex leniently (an odd digit count gets a leading 0, invalid digits truncate the value); we
 * refuse both rather than sign a transaction with bytes the caller did not mean.
 */
function convertBytes(type: string, value: unknown, ctx: ValueContext): string {
  let hex: string;
  if (typeof value === 'string') {
    const digits = value.replace(/^0[xX]/, '');
    if (!HEX.test(digits)) throw invalid(ctx, `must be hex (0x optional) or an array of byte values 0-255 (type ${type}); got ${describeValue(value)}`);
    if (digits.length % 2 !== 0) throw invalid(ctx, `has an odd number of hex digits (${digits.length}); each byte needs two (type ${type})`);
    hex = `0x${digits.toLowerCase()}`;
  } else if (Array.isArray(value)) {
    const bytes = value.map((item: unknown, i) => {
      if (typeof item !== 'number' || !Number.isInteger(item) || item < 0 || item > 255) {
        throw parameterError(RestErrorCode.InvalidParameter, ctx.method, `${ctx.path}[${i}]`, `must be a byte value, an integer 0-255; got ${describeValue(item)}`);
      }
      return item;
    });
    hex = hexlify(Uint8Array.from(bytes));
  } else {
    throw invalid(ctx, `must be hex (0x optional) or an array of byte values 0-255 (type ${type}); got ${jsonKind(value)} ${describeValue(value)}`);
  }
  const fixed = FIXED_BYTES_TYPE.exec(type);
  const length = (hex.length - 2) / 2;
  if (fixed && length !== Number(fixed[1])) {
    throw invalid(ctx, `must be exactly ${fixed[1]} bytes (${Number(fixed[1]) * 2} hex digits) for type ${type}; got ${length} bytes`);
  }
  return hex;
}

/**
 * A base-10 string or a JSON number, as ethconnect accepts (txn.go getInteger/getBigInteger, research/rest-gateway.md §3.1):
 * hex strings are refused there too (base-10 only). Stricter than ethconnect: non-integral numbers are refused
 * (it truncates 1.5 to 1), values out of range for the type are refused (it wraps int8("300") to 44), and a JSON
 * number beyond 2^53 is refused with a request to send a string (ethconnect goes through float64 and silently
 * signs a different number). A bigint is accepted for callers whose JSON parser keeps big numbers exact.
 */
function convertInteger(type: string, signed: boolean, bits: number, value: unknown, ctx: ValueContext): bigint {
  let n: bigint;
  if (typeof value === 'bigint') {
    n = value;
  } else if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw invalid(ctx, `must be an integer (type ${type}); got ${describeValue(value)}`);
    if (!Number.isSafeInteger(value)) {
      throw invalid(ctx, `is the JSON number ${value}, beyond 2^53-1 where JSON numbers are not exact (type ${type}): send it as a base-10 string in quotes instead`);
    }
    n = BigInt(value);
  } else if (typeof value === 'string' && DECIMAL.test(value)) {
    n = BigInt(value);
  } else if (typeof value === 'string' && /^[+-]?0[xX]/.test(value)) {
    throw invalid(ctx, `must be a base-10 integer (type ${type}); hex such as ${describeValue(value)} is not accepted`);
  } else {
    throw invalid(ctx, `must be a base-10 integer string or a JSON number (type ${type}); got ${jsonKind(value)} ${describeValue(value)}`);
  }
  const min = signed ? -(1n << BigInt(bits - 1)) : 0n;
  const max = signed ? (1n << BigInt(bits - 1)) - 1n : (1n << BigInt(bits)) - 1n;
  if (n < min || n > max) {
    const range = bits <= 64 ? `${min} to ${max}` : signed ? `-2^${bits - 1} to 2^${bits - 1}-1` : `0 to 2^${bits}-1`;
    throw invalid(ctx, `is out of range for ${type} (${range}); got ${n}`);
  }
  return n;
}
