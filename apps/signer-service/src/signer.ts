/**
 * The signing path: unsigned transaction → digest → backend → low-s Ethereum signature whose
 * recovered key is the requested sender → serialised transaction (research/backend-apis.md §E).
 * Hot path cost: one ethers Transaction build and ONE serialisation (the signed form reuses its RLP
 * fields: libs/ethereum signing-payload.ts), three keccaks (digest, hash, and ethers' checksum of
 * `to`), one backend call, 1.5 native recoveries on average; r and s stay bytes throughout; the
 * key's address and public key come from the connector's cache.
 */
import type { BackendRegistry } from '@hsm-signer/backends';
import { ErrorCode, type ListKeysReply, type SignTransactionReply, type SignTransactionRequest } from '@hsm-signer/contracts';
import { serializeSignedTransaction, toLowSSignature, toSigningPayload, verifySignedTransactionSender } from '@hsm-signer/ethereum';
import { ServiceError } from '@hsm-signer/messaging';
import { toServiceError } from './errors';

export class Signer {
  private inFlight = 0;
  private closing = false;
  private idle?: () => void;

  constructor(private readonly registry: BackendRegistry) {}

  async signTransaction(request: SignTransactionRequest): Promise<SignTransactionReply> {
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

  /**
   * Shutdown step 1, while NATS is still connected: refuse new signing requests and let the running
   * ones finish and reply, before the backends' sessions are closed.
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

  private async sign({ from, key: ref, tx }: SignTransactionRequest): Promise<SignTransactionReply> {
    const backend = this.registry.get(ref.backendId);
    if (!backend.capabilities.transactionTypes.includes(tx.type)) {
      throw new ServiceError(ErrorCode.UnsupportedTransaction, `backend ${ref.backendId} (${backend.kind}) cannot sign type ${tx.type} transactions`);
    }
    if (backend.capabilities.signs === 'transaction') {
      // Whole-transaction backends (Vault ethsign) build and sign themselves; we still check the sender.
      return verifySignedTransactionSender(await this.registry.signTransaction(ref, tx), from);
    }

    const key = await this.registry.getKey(ref);
    if (!key) throw new ServiceError(ErrorCode.KeyNotFound, `backend ${ref.backendId} holds no signing key "${ref.keyId}"`);
    if (key.address !== from) {
      throw new ServiceError(ErrorCode.SignatureMismatch, `key "${ref.keyId}" of backend ${ref.backendId} is ${key.address}, not the requested sender ${from}`);
    }
    if (!key.publicKey) throw new ServiceError(ErrorCode.SigningFailed, `backend ${ref.backendId} did not provide the public key of "${ref.keyId}"`);

    const payload = toSigningPayload(tx);
    const raw = await this.registry.signDigest(ref, payload.digest);
    // Recovery against the key's public key (whose address is `from`) is the sender check.
    const signature = toLowSSignature(payload.digest, raw, key.publicKey);
    return serializeSignedTransaction(payload, signature);
  }

  async listKeys(): Promise<ListKeysReply> {
    return { backends: await this.registry.listAll() };
  }
}
