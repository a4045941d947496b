import { Controller, Inject, Optional } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import type { Logger } from 'pino';
import { BatchRoutes, Routes, Subjects, type SignDigestRequest, type SignTransactionRequest } from '@hsm-signer/contracts';
import { eachRequest, handleRpc, handleRpcBatch } from '@hsm-signer/messaging';
import { DigestSigner } from './digest-signer';
import { SIGNER_METRICS, type SignerMetrics } from './metrics';
import { Signer } from './signer';
import { LOGGER } from './tokens';

/** NATS request handlers (queue group `signer`): thin adapters over {@link Signer}. */
@Controller()
export class SignerController {
  constructor(
    private readonly signer: Signer,
    private readonly digestSigner: DigestSigner,
    @Inject(LOGGER) private readonly logger: Logger,
    @Optional() @Inject(SIGNER_METRICS) private readonly metrics?: SignerMetrics,
  ) {}

  @MessagePattern(Subjects.signerSignTransaction)
  signTransaction(@Payload() payload: unknown) {
    return handleRpc(Routes.signerSignTransaction, payload, this.sign, this.unexpected);
  }

  /** The gateways' hot path: every signature of one of their event-loop turns in one message, signed concurrently. */
  @MessagePattern(Subjects.signerSignTransactionBatch)
  signTransactionBatch(@Payload() payload: unknown) {
    return handleRpcBatch(BatchRoutes.signerSignTransaction, payload, eachRequest(this.sign), this.unexpected);
  }

  private readonly sign = async (request: SignTransactionRequest) => {
    const started = performance.now();
    let reply;
    try {
      reply = await this.signer.signTransaction(request);
    } catch (error) {
      this.metrics?.signed(request.key.backendId, 'transaction', started, false);
      throw error;
    }
    this.metrics?.signed(request.key.backendId, 'transaction', started, true);
    // One line per signature (debug): which replica signed what, for audits and the e2e replica test.
    this.logger.debug({ from: request.from, chainId: request.tx.chainId, nonce: request.tx.nonce, hash: reply.hash }, 'signed transaction');
    return reply;
  };

  /** eth_sign / personal_sign / eth_signTypedData*: the gateway sends the EIP-191 / EIP-712 digest. */
  @MessagePattern(Subjects.signerSignDigest)
  signDigest(@Payload() payload: unknown) {
    return handleRpc(Routes.signerSignDigest, payload, this.signOneDigest, this.unexpected);
  }

  private readonly signOneDigest = async (request: SignDigestRequest) => {
    const started = performance.now();
    let reply;
    try {
      reply = await this.digestSigner.signDigest(request);
    } catch (error) {
      this.metrics?.signed(request.key.backendId, 'digest', started, false);
      throw error;
    }
    this.metrics?.signed(request.key.backendId, 'digest', started, true);
    // The digest is logged (it is what the key signed, for audits); the message itself never reaches this service.
    this.logger.debug({ from: request.from, digest: request.digest }, 'signed digest');
    return reply;
  };

  @MessagePattern(Subjects.signerListKeys)
  listKeys(@Payload() payload: unknown) {
    return handleRpc(Routes.signerListKeys, payload, () => this.signer.listKeys(), this.unexpected);
  }

  private readonly unexpected = (error: unknown) => {
    // Message and class only: a payload or cause chain could carry more than we want in logs.
    this.logger.error({ err: { type: error instanceof Error ? error.name : typeof error, message: error instanceof Error ? error.message : String(error) } }, 'unexpected error in signer handler');
  };
}
