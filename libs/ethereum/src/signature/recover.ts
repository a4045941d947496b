import { InvalidPublicKeyError, RecoveryIdNotFoundError } from './errors';
import type { RawSignature } from './parse';
import { publicKeyToAddress } from './public-key';
import { secp256k1 } from './secp256k1';

export type RecoveryId = 0 | 1;

function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * The recovery id (0 or 1) with which (r, s) over `digest` recovers `publicKey` (uncompressed, 65 bytes).
 * Uses native libsecp256k1 (~53 µs per try, research/style-and-performance.md §2.1). Recovery ids 2
 * and 3 need r ≥ n − p, cannot be expressed in Ethereum's v, and are not tried (§E.4). Throws
 * RecoveryIdNotFoundError when neither matches — a wrong key or corrupted bytes, never guessed.
 */
export function findRecoveryId(digest: Uint8Array, sig: RawSignature, publicKey: Uint8Array): RecoveryId {
  if (digest.length !== 32) throw new RangeError(`digest must be 32 bytes, got ${digest.length}`);
  if (publicKey.length !== 65 || publicKey[0] !== 0x04) throw new InvalidPublicKeyError('expected an uncompressed 65-byte public key');
  const lib = secp256k1();
  const compact = new Uint8Array(64);
  compact.set(sig.r, 0);
  compact.set(sig.s, 32);
  // Recovery ids are equally likely, so this costs 1.5 native recoveries on average. The recovered
  // point is only compared, so both tries write into one buffer.
  const recovered = new Uint8Array(65);
  for (const recid of [0, 1] as const) {
    try {
      lib.ecdsaRecover(compact, recid, digest, false, recovered);
    } catch {
      continue; // no point for this recovery id
    }
    if (equal(recovered, publicKey)) return recid;
  }
  throw new RecoveryIdNotFoundError(publicKeyToAddress(publicKey));
}

/** The lower-case address that (r, s, recid) over `digest` recovers to (native). */
export function recoverAddress(digest: Uint8Array, sig: RawSignature, recid: RecoveryId): string {
  const compact = new Uint8Array(64);
  compact.set(sig.r, 0);
  compact.set(sig.s, 32);
  return publicKeyToAddress(secp256k1().ecdsaRecover(compact, recid, digest, false));
}
