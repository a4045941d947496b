import type { RestAsyncRequest, RestTransaction } from '@hsm-signer/contracts';
import type { SendResult } from '@hsm-signer/transactions';
import { RestError, RestErrorCode, toRestError } from '../errors';
import { errorReply, pendingReply, receiptReply, withDeployLinks, type NodeReceipt, type ReplyContext } from '../replies/reply-bodies';
import { ReceiptTimeoutError, TransactionNotMinedError, type ReceiptWaiter } from '../replies/receipt-waiter';
import type { AsyncDelivery, AsyncOutcome, AsyncRequestQueue } from './async-queue';
import { PENDING_META, type PendingMeta } from '../replies/reply-completer';

/** How long an asynchronous request waits for its id's earlier, unfinished send before its reply is an Error. */
export const IN_FLIGHT_PATIENCE_MS = 10 * 60_000;

/** A transaction the REST API was asked for, encoded (ABI resolved, inputs converted). */
export interface RestTransactionRequest {
  kind: 'send' | 'deploy';
  tx: RestTransaction;
  abiId?: string;
  /** Deploy: friendly name for /contracts/<name>. */
  registerAs?: string;
}

/** Where a request came from: what its reply headers and an Error reply quote. */
export interface RequestContext {
  requestId: string;
  receivedAt: number;
  baseUrl: string;
  requestPayload: string;
}

export interface DispatcherPorts {
  send(tx: RestTransaction, requestId: string): Promise<SendResult>;
  replies: {
    createPendingReply(input: { id: string; body: object; transactionId?: string | null; from?: string | null; to?: string | null }): Promise<'created' | 'exists'>;
    saveReply(input: { id: string; body: object; pending: boolean; transactionId?: string | null; from?: string | null; to?: string | null }): Promise<unknown>;
    /** Removes a pending reply that never got a transaction (acktype=receipt whose publish failed). */
    deletePendingReply(id: string): Promise<unknown>;
  };
  /** Registers a deployed contract under its ABI (and friendly name). */
  registerDeployed(address: string, abiId: string, registerAs: string | undefined): Promise<void>;
}

export interface HttpAnswer {
  status: number;
  body: unknown;
}

/**
 * Sync and async transactions of the REST API (research/rest-gateway.md §2.3 "Transaction POST").
 * sync: the HTTP answer waits for the receipt: 200 receipt, 500 receipt for status 0 (ethconnect's
 * TransactionFailure), an error body for anything before mining. async: 202 `{sent, id}` once
 * JetStream stored the request; the reply lands in the reply store.
 */
export class TransactionDispatcher {
  constructor(
    private readonly ports: DispatcherPorts,
    private readonly waiter: ReceiptWaiter,
    private readonly queue: Pick<AsyncRequestQueue, 'publish'>,
    private readonly syncTimeoutMs: number,
    private readonly log: { warn(obj: object, msg: string): void },
  ) {}

  async sync(request: RestTransactionRequest, context: RequestContext): Promise<HttpAnswer> {
    let sent: SendResult;
    try {
      sent = await this.ports.send(request.tx, context.requestId);
    } catch (error) {
      throw toRestError(error, { from: request.tx.from });
    }
    let mined: { receipt: NodeReceipt; hash: string };
    try {
      mined = await this.waiter.wait(sent.transactionId, sent.hash, this.syncTimeoutMs);
    } catch (error) {
      if (error instanceof ReceiptTimeoutError) throw new RestError(500, RestErrorCode.ReceiptTimeout, error.message, { cause: error });
      if (error instanceof TransactionNotMinedError) throw new RestError(500, RestErrorCode.NotMined, error.message, { cause: error });
      throw toRestError(error);
    }
    const body = await this.finish(mined.receipt, sent.nonce, request, { ...context, ...(request.abiId ? { abiId: request.abiId } : {}) });
    return { status: body['status'] === '1' ? 200 : 500, body };
  }

  /**
   * Stores the request in JetStream and answers 202. With `ackType: 'receipt'` a pending reply is
   * written first and a reused id refused with 409 (ethconnect `acktype=receipt`, FE webhooks.go:165-186).
   */
  async async(request: RestTransactionRequest, context: RequestContext, options: { ackType?: string } = {}): Promise<HttpAnswer> {
    const message: RestAsyncRequest = {
      id: context.requestId,
      kind: request.kind,
      tx: request.tx,
      receivedAt: context.receivedAt,
      baseUrl: context.baseUrl,
      requestPayload: context.requestPayload,
      ...(request.abiId ? { abiId: request.abiId } : {}),
      ...(request.registerAs ? { registerAs: request.registerAs } : {}),
    };
    if (options.ackType === 'receipt') {
      const created = await this.ports.replies.createPendingReply({ id: context.requestId, body: pendingReply(this.replyContext(message)), from: request.tx.from, to: request.tx.to ?? null });
      if (created === 'exists') throw new RestError(409, RestErrorCode.DuplicateRequestId, `Request ID is not unique: ${context.requestId} was already used`);
    }
    try {
      await this.queue.publish(message);
    } catch (error) {
      // Nothing was queued: the id must stay free for the client's retry.
      if (options.ackType === 'receipt') await this.ports.replies.deletePendingReply(context.requestId).catch(() => undefined);
      throw new RestError(503, RestErrorCode.Unavailable, `The request could not be stored for asynchronous processing (JetStream): ${(error as Error).message}; nothing was sent, retry`, { cause: error });
    }
    return { status: 202, body: { sent: true, id: context.requestId } };
  }

  /** The JetStream worker: sends one accepted request and stores its pending (or Error) reply. */
  async processAsync(request: RestAsyncRequest, delivery: AsyncDelivery): Promise<AsyncOutcome> {
    const context = this.replyContext(request);
    const where = { id: request.id, from: request.tx.from, to: request.tx.to ?? null };
    let sent: SendResult;
    try {
      sent = await this.ports.send(request.tx, request.id);
    } catch (error) {
      const restError = toRestError(error, { from: request.tx.from });
      if (restError.code === RestErrorCode.DuplicateRequestId) {
        // The id belongs to an earlier request with another payload: its reply is that request's, not ours to overwrite.
        this.log.warn({ id: request.id }, 'asynchronous request refused: its id was used for another payload; the first request keeps the reply');
        return 'done';
      }
      if (restError.code === RestErrorCode.RequestInFlight && Date.now() - request.receivedAt < IN_FLIGHT_PATIENCE_MS) {
        // A replica that died after allocating holds the id until nonce-service reaps its lease
        // (NONCE_LEASE_MS, then one nonce per tracker round): wait for that, however many deliveries it takes.
        return 'wait-in-flight';
      }
      if (restError.status === 503 && !delivery.last) {
        this.log.warn({ id: request.id, attempt: delivery.attempt, err: restError.message }, 'asynchronous request not sent (a service is unavailable); it is delivered again');
        return 'retry';
      }
      await this.ports.replies.saveReply({ ...where, pending: false, body: errorReply({ message: restError.message, code: restError.code }, { ...context, requestPayload: request.requestPayload }) });
      return 'done';
    }
    await this.ports.replies.saveReply({
      ...where,
      pending: true,
      transactionId: sent.transactionId,
      body: { ...pendingReply({ ...context, requestPayload: request.requestPayload }, { transactionHash: sent.hash, nonce: sent.nonce }), [PENDING_META]: this.meta(request) },
    });
    return 'done';
  }

  /** The final reply of a mined transaction: receipt, plus registration and links for a deploy. */
  async finish(receipt: NodeReceipt, nonce: number | bigint, request: { kind: 'send' | 'deploy'; abiId?: string; registerAs?: string }, context: ReplyContext & { baseUrl: string }): Promise<Record<string, unknown>> {
    let body = receiptReply(receipt, nonce, context);
    if (request.kind === 'deploy' && receipt.contractAddress && body['status'] === '1' && request.abiId) {
      try {
        await this.ports.registerDeployed(receipt.contractAddress.toLowerCase(), request.abiId, request.registerAs);
        body = withDeployLinks(body, context.baseUrl, request.registerAs);
      } catch (error) {
        // The contract is on chain whatever happens here; say why /contracts does not know it.
        this.log.warn({ address: receipt.contractAddress, err: (error as Error).message }, 'deployed contract could not be registered');
        body = { ...body, registerError: (error as Error).message };
      }
    }
    return body;
  }

  /** What the completer needs later, kept in the pending reply (any replica may complete it). */
  private meta(request: RestAsyncRequest): PendingMeta {
    return {
      kind: request.kind,
      baseUrl: request.baseUrl,
      requestId: request.id,
      receivedAt: request.receivedAt,
      ...(request.abiId ? { abiId: request.abiId } : {}),
      ...(request.registerAs ? { registerAs: request.registerAs } : {}),
    };
  }

  /** The completer's way to the final reply of a pending one. */
  finishPending(receipt: NodeReceipt, nonce: bigint, meta: PendingMeta): Promise<Record<string, unknown>> {
    return this.finish(receipt, nonce, meta, { requestId: meta.requestId, receivedAt: meta.receivedAt, ...(meta.abiId ? { abiId: meta.abiId } : {}), baseUrl: meta.baseUrl });
  }

  private replyContext(request: Pick<RestAsyncRequest, 'id' | 'receivedAt' | 'abiId' | 'requestPayload'>): ReplyContext & { requestPayload: string } {
    return { requestId: request.id, receivedAt: request.receivedAt, ...(request.abiId ? { abiId: request.abiId } : {}), requestPayload: request.requestPayload };
  }
}
