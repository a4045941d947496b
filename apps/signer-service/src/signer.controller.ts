import { Controller, Inject } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import type { Logger } from 'pino';
import { BatchRoutes, Routes, Subjects, type SignTransactionRequest } from '@hsm-signer/contracts';
import { eachRequest, handleRpc, handleRpcBatch } from '@hsm-signer/messaging';
import { Signer } from './signer';
import { LOGGER } from './tokens';

/** NATS request handlers (queue group `signer`): thin adapters over {@link Signer}. */
@Controller()
export class SignerController {
  constructor(
    private readonly signer: Signer,
    @Inject(LOGGER) private readonly logger: Logger,
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
    const reply = await this.signer.signTransaction(request);
    // One line per signature (debug): which replica signed what, for audits and the e2e replica test.
    this.logger.debug({ from: request.from, chainId: request.tx.chainId, nonce: request.tx.nonce, hash: reply.hash }, 'signed transaction');
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
