import { isAtMostHalfN, subtractFromN } from './curve';
import type { RawSignature } from './parse';

/**
 * EIP-2 low-s: Ethereum rejects s > n/2, and about half of all HSM signatures have it
 * (research/backend-apis.md §E.3). s → n − s flips the recovery parity; we find the recovery id by
 * recovering afterwards, so the flip needs no bookkeeping.
 */
export function normalizeS(sig: RawSignature): RawSignature & { flipped: boolean } {
  if (isAtMostHalfN(sig.s)) return { r: sig.r, s: sig.s, flipped: false };
  return { r: sig.r, s: subtractFromN(sig.s), flipped: true };
}

export function isLowS(s: Uint8Array): boolean {
  return isAtMostHalfN(s);
}
