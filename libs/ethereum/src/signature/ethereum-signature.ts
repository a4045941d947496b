import { hexlify } from 'ethers';
import { normalizeS } from './normalize';
import { parseBackendSignature, type BackendSignature } from './parse';
import { findRecoveryId, type RecoveryId } from './recover';

/** A signature Ethereum accepts: low-s, with the recovery id as yParity. r and s are 0x + 64 hex digits. */
export interface EthereumSignature {
  r: string;
  s: string;
  yParity: RecoveryId;
}

/** The same as bytes (32 each): what {@link serializeSignedTransaction} takes, with no hex round trip. */
export interface LowSSignature {
  r: Uint8Array;
  s: Uint8Array;
  yParity: RecoveryId;
}

/**
 * The whole post-processing of research/backend-apis.md §E for digest-signing backends:
 * parse (P1363 or DER, pad to 32) → low-s → recovery id by recovery against the known public key.
 *
 * @param digest the 32-byte hash the backend signed
 * @param signature what the backend returned
 * @param publicKey the signing key, uncompressed 65 bytes (see parsePublicKey)
 */
export function toEthereumSignature(digest: Uint8Array, signature: BackendSignature, publicKey: Uint8Array): EthereumSignature {
  const low = toLowSSignature(digest, signature, publicKey);
  return { r: hexlify(low.r), s: hexlify(low.s), yParity: low.yParity };
}

/** {@link toEthereumSignature} with r and s left as bytes (the signing hot path). */
export function toLowSSignature(digest: Uint8Array, signature: BackendSignature, publicKey: Uint8Array): LowSSignature {
  const low = normalizeS(parseBackendSignature(signature));
  return { r: low.r, s: low.s, yParity: findRecoveryId(digest, low, publicKey) };
}

/** v for a legacy transaction: 27/28 without chain id, chainId·2 + 35 + recid with EIP-155 (§E.5). */
export function legacyV(yParity: RecoveryId, chainId?: bigint | number): bigint {
  if (chainId === undefined || BigInt(chainId) === 0n) return 27n + BigInt(yParity);
  return BigInt(chainId) * 2n + 35n + BigInt(yParity);
}
