/**
 * What every signing request of this replica shares: admission (refused once the replica is
 * closing, so a caller retries on another replica instead of waiting for a reply that a closed
 * connection would drop), the error mapping for the caller, and the key checks before a backend is
 * asked to sign.
 */
import type { BackendKeyInfo, BackendRegistry } from '@hsm-signer/backends';
import { ErrorCode, type KeyRef } from '@hsm-signer/contracts';
import { ServiceError } from '@hsm-signer/messaging';
import { toServiceError } from './errors';

export class SigningGate {
  private inFlight = 0;
  private closing = false;
  private idle?: () => void;

  /** Runs one signing request; its failure reaches the caller as a ServiceError with a stable code. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.closing) throw new ServiceError(ErrorCode.BackendUnavailable, 'signer-service replica is shutting down; retry');
    this.inFlight++;
    try {
      return await work();
    } catch (error) {
      throw toServiceError(error);
    } finally {
      if (--this.inFlight === 0) this.idle?.();
    }
  }

  /**
   * Shutdown step 1, while NATS is still connected: refuse new requests and let the running ones
   * finish and reply, before the backends' sessions are closed.
   */
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
}

/** The key `ref` names, checked to be `from`'s and to carry its public key (the recovery check needs it). */
export async function signingKey(registry: BackendRegistry, ref: KeyRef, from: string, role: 'sender' | 'signer'): Promise<BackendKeyInfo & { publicKey: Uint8Array }> {
  const key = await registry.getKey(ref);
  if (!key) throw new ServiceError(ErrorCode.KeyNotFound, `backend ${ref.backendId} holds no signing key "${ref.keyId}"`);
  if (key.address !== from) {
    throw new ServiceError(ErrorCode.SignatureMismatch, `key "${ref.keyId}" of backend ${ref.backendId} is ${key.address}, not the requested ${role} ${from}`);
  }
  if (!key.publicKey) throw new ServiceError(ErrorCode.SigningFailed, `backend ${ref.backendId} did not provide the public key of "${ref.keyId}"`);
  return key as BackendKeyInfo & { publicKey: Uint8Array };
}
