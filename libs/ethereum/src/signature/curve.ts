/** secp256k1 group order n and n/2 (research/backend-apis.md §E.3, EIP-2). */
export const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
export const SECP256K1_HALF_N = SECP256K1_N >> 1n;

export function bytesToBigInt(bytes: Uint8Array): bigint {
  let hex = '0x';
  for (const b of bytes) hex += b.toString(16).padStart(2, '0');
  return hex === '0x' ? 0n : BigInt(hex);
}

/** Big-endian, left-padded to `length` bytes (bigint.toString(16) drops leading zeros: §E.2). */
export function bigIntToBytes(value: bigint, length = 32): Uint8Array {
  const hex = value.toString(16).padStart(length * 2, '0');
  if (hex.length > length * 2) throw new RangeError(`value does not fit in ${length} bytes`);
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}
