/** secp256k1 group order n and n/2 (research/backend-apis.md §E.3, EIP-2). */
export const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
export const SECP256K1_HALF_N = SECP256K1_N >> 1n;

export function bytesToBigInt(bytes: Uint8Array): bigint {
  if (bytes.length === 0) return 0n;
  return BigInt('0x' + Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex'));
}

/** Big-endian, left-padded to `length` bytes (bigint.toString(16) drops leading zeros: §E.2). */
export function bigIntToBytes(value: bigint, length = 32): Uint8Array {
  const hex = value.toString(16).padStart(length * 2, '0');
  if (hex.length > length * 2) throw new RangeError(`value does not fit in ${length} bytes`);
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}

// The hot path (one signature per transaction) compares and subtracts 32-byte big-endian scalars
// directly: building a BigInt from bytes goes through a hex string and costs more than the whole
// comparison.
const N_BYTES = bigIntToBytes(SECP256K1_N);
const HALF_N_BYTES = bigIntToBytes(SECP256K1_HALF_N);

/** Sign of a − b for two 32-byte big-endian unsigned integers. */
function compare32(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < 32; i++) {
    if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
  }
  return 0;
}

function isZero(a: Uint8Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== 0) return false;
  return true;
}

/** 1 ≤ v ≤ n − 1: a valid ECDSA r or s. */
export function isScalarInRange(v: Uint8Array): boolean {
  if (v.length !== 32) {
    const n = bytesToBigInt(v);
    return n !== 0n && n < SECP256K1_N;
  }
  return !isZero(v) && compare32(v, N_BYTES) < 0;
}

/** v ≤ n/2 (EIP-2 low s). */
export function isAtMostHalfN(v: Uint8Array): boolean {
  if (v.length !== 32) return bytesToBigInt(v) <= SECP256K1_HALF_N;
  return compare32(v, HALF_N_BYTES) <= 0;
}

/** n − v as 32 bytes, for 0 < v < n (the low-s twin of a high s). */
export function subtractFromN(v: Uint8Array): Uint8Array {
  if (v.length !== 32 || !isScalarInRange(v)) return bigIntToBytes(SECP256K1_N - bytesToBigInt(v));
  const out = new Uint8Array(32);
  let borrow = 0;
  for (let i = 31; i >= 0; i--) {
    let d = N_BYTES[i] - v[i] - borrow;
    borrow = d < 0 ? 1 : 0;
    if (d < 0) d += 256;
    out[i] = d;
  }
  return out;
}
