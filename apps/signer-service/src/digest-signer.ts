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
import { toServiceError } from './errors';

export class DigestSigner {
  private inFlight = 0;
  private closing = false;
  private idle?: () => void;

  constructor(private readonly registry: BackendRegistry) {}

  async signDigest(request: SignDigestRequest): Promise<SignDigestReply> {
    if (this.closing) throw new ServiceError(ErrorCode.BackendUnavailable, 'signer-service replica is shutting down; retry');
    this.inFlight++;
    try {
      return await this.sign(request);
    } catch (error) {
      throw toServiceError(error);
    } finally {
      if (--this.inFlight === 0) this.idle?.();
    }
  }

  /** Shutdown: refuse new requests, let the running ones reply (as Signer.drain). */
  async drain(timeoutMs = 10_000): Promise<void> {
    this.closing = true;
    if (this.inFlight === 0) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.idle = () => {
        clearTimeout(timer);
        resolve();
      };
    });
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
    const key = await this.registry.getKey(ref);
    if (!key) throw new ServiceError(ErrorCode.KeyNotFound, `backend ${ref.backendId} holds no signing key "${ref.keyId}"`);
    if (key.address !== from) {
      throw new ServiceError(ErrorCode.SignatureMismatch, `key "${ref.keyId}" of backend ${ref.backendId} is ${key.address}, not the requested signer ${from}`);
    }
    if (!key.publicKey) throw new ServiceError(ErrorCode.SigningFailed, `backend ${ref.backendId} did not provide the public key of "${ref.keyId}"`);

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
