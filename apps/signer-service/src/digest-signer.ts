/**
 * hsm.v1.signer.sign-digest: one 32-byte digest signed with one key, for the rpc-gateway's
 * eth_sign / personal_sign (EIP-191) and eth_signTypedData* (EIP-712); the gateway hashes, the
 * backend only ever sees the digest. Same post-processing as a transaction (research/backend-apis.md
 * §E): parse → low-s → recovery id found against the key's public key, which is the sender check —
 * a signature that does not recover to `from`'s key is never returned.
 *
 * Kept apart from signer.ts (the transaction hot path) on purpose; it reuses the same registry and
 * the same error mapping.
 */
import type { BackendRegistry } from '@hsm-signer/backends';
import { ErrorCode, type SignDigestReply, type SignDigestRequest } from '@hsm-signer/contracts';
import { toLowSSignature } from '@hsm-signer/ethereum';
import { ServiceError } from '@hsm-signer/messaging';
import { getBytes, hexlify } from 'ethers';
import { SigningGate, signingKey } from './signing-gate';

export class DigestSigner {
  private readonly gate = new SigningGate();

  constructor(private readonly registry: BackendRegistry) {}

  signDigest(request: SignDigestRequest): Promise<SignDigestReply> {
    return this.gate.run(() => this.sign(request));
  }

  /** Shutdown: refuse new requests, let the running ones reply (SigningGate.drain). */
  drain(timeoutMs?: number): Promise<void> {
    return this.gate.drain(timeoutMs);
  }

  private async sign({ from, key: ref, digest }: SignDigestRequest): Promise<SignDigestReply> {
    const backend = this.registry.get(ref.backendId);
    if (backend.capabilities.signs !== 'digest') {
      // Vault's ethsign plugin has no digest path, only accounts/<address>/sign for legacy
      // transactions (research/backend-apis.md §A.2, §A.4).
      throw new ServiceError(
        ErrorCode.UnsupportedTransaction,
        `backend ${ref.backendId} (${backend.kind}) signs whole transactions only; it cannot sign messages or typed data (eth_sign, personal_sign, eth_signTypedData)`,
      );
    }
    const key = await signingKey(this.registry, ref, from, 'signer');
    const bytes = getBytes(digest);
    const raw = await this.registry.signDigest(ref, bytes);
    const low = toLowSSignature(bytes, raw, key.publicKey);
    const signature = new Uint8Array(65);
    signature.set(low.r, 0);
    signature.set(low.s, 32);
    signature[64] = 27 + low.yParity; // geth's eth_sign convention (v = 27/28), what ethers' verifyMessage expects
    return { r: hexlify(low.r), s: hexlify(low.s), yParity: low.yParity, signature: hexlify(signature) };
  }
}
