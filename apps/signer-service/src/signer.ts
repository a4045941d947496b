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
import { SigningGate, signingKey } from './signing-gate';

export class Signer {
  private readonly gate = new SigningGate();

  constructor(private readonly registry: BackendRegistry) {}

  signTransaction(request: SignTransactionRequest): Promise<SignTransactionReply> {
    return this.gate.run(() => this.sign(request));
  }

  /** Shutdown step 1 (see SigningGate.drain). */
  drain(timeoutMs?: number): Promise<void> {
    return this.gate.drain(timeoutMs);
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

    const key = await signingKey(this.registry, ref, from, 'sender');
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
