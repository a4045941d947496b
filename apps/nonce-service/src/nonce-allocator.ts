import type { Logger } from 'pino';
import { ErrorCode, type AllocateNonceReply, type AllocateNonceRequest, type RecordOutcomeReply, type RecordOutcomeRequest } from '@hsm-signer/contracts';
import { ServiceError } from '@hsm-signer/messaging';
import type { AccountSlot, ExistingSlot, LifecycleLedger, NonceLedger, OutcomeResult, SubmittedItem, SubmittedRecord } from '@hsm-signer/persistence';
import { Batcher } from './batcher';
import type { AllocationObserver } from './metrics';
import { NodeRequestError, type ChainReader } from './node-client';
import { decodeRawTransaction, RawTransactionError } from './raw-transaction';

export interface NonceAllocatorOptions {
  maxBatch: number;
  maxFixedNonceGap: number;
  /** The nonce lease (NONCE_LEASE_MS), told to callers and renewed by a `signed` outcome. */
  leaseMs?: number;
  /** How long a repeat of an in-flight request id waits for the first one's hash (default 5 s). */
  inFlightWaitMs?: number;
  /** Told every allocation, allocation statement and recorded outcome (metrics.ts; absent with METRICS_ENABLED=false). */
  observer?: AllocationObserver;
}

/** Internal marker: the request id names a transaction that is allocated but not yet sent. */
interface InFlight {
  inFlight: true;
  transactionId: string;
}

/** Internal marker: the account has no counter row yet (seed it from the node, then ask again). */
const UNKNOWN_ACCOUNT = Symbol('unknown-account');

interface Pending {
  chainId: number;
  address: string;
  requestId?: string;
  payloadHash?: string;
}

type BatchReply = AllocateNonceReply | InFlight | typeof UNKNOWN_ACCOUNT;

/**
 * nonce-service's logic over the ledger: coalesces concurrent requests of ANY accounts into one
 * allocation statement (NonceLedger.allocateMany: one statement in flight per replica, the next one
 * takes everything queued meanwhile), seeds an account from the node's pending count the first time
 * it is seen, enforces request-id idempotency, and records outcomes.
 */
export class NonceAllocator {
  private readonly batcher: Batcher<Pending, BatchReply>;
  /** Accounts being seeded from the node right now: concurrent first requests share one seeding. */
  private readonly seeding = new Map<string, Promise<void>>();
  /** Counters for the operator view and tests: how well concurrent requests coalesce (`batches` = allocation statements). */
  readonly stats = { requests: 0, batches: 0 };

  constructor(
    private readonly ledger: NonceLedger,
    private readonly chain: ChainReader,
    private readonly options: NonceAllocatorOptions,
    private readonly logger?: Logger,
    private readonly lifecycle?: LifecycleLedger,
  ) {
    this.batcher = new Batcher((items) => this.runBatch(items), options.maxBatch);
  }

  async allocate(request: AllocateNonceRequest): Promise<AllocateNonceReply> {
    const observer = this.options.observer;
    if (!observer) return this.allocateOnce(request, 1);
    try {
      const reply = await this.allocateOnce(request, 1);
      observer.allocated(true);
      return reply;
    } catch (error) {
      observer.allocated(false);
      throw error;
    }
  }

  private async allocateOnce(request: AllocateNonceRequest, attempt: number): Promise<AllocateNonceReply> {
    const reply = request.fixedNonce !== undefined ? await this.allocateFixed(request, request.fixedNonce) : await this.allocateQueued(request);
    if ('inFlight' in reply) return this.awaitInFlight(request, reply.transactionId, attempt);
    return this.options.leaseMs ? { ...reply, leaseMs: this.options.leaseMs } : reply;
  }

  /**
   * A nonce from the next allocation statement of this replica. An account seen for the first time
   * is seeded from the node (all unknown accounts of a batch in parallel, while the other requests
   * carry on), and only its requests ask again.
   */
  private async allocateQueued(request: AllocateNonceRequest): Promise<AllocateNonceReply | InFlight> {
    this.stats.requests++;
    const pending: Pending = { chainId: request.chainId, address: request.address, requestId: request.requestId, payloadHash: request.payloadHash };
    let reply = await this.batcher.submit(pending);
    if (reply === UNKNOWN_ACCOUNT) {
      await this.seed(request.chainId, request.address);
      reply = await this.batcher.submit(pending);
      if (reply === UNKNOWN_ACCOUNT) throw new ServiceError(ErrorCode.Internal, `nonce account ${request.chainId}/${request.address} vanished while being created`);
    }
    return reply;
  }

  /** initAccount once for all the requests that found the account unknown at the same time. */
  private seed(chainId: number, address: string): Promise<void> {
    const key = `${chainId}:${address}`;
    let seeding = this.seeding.get(key);
    if (!seeding) {
      seeding = this.initAccount(chainId, address).finally(() => this.seeding.delete(key));
      this.seeding.set(key, seeding);
    }
    return seeding;
  }

  /**
   * A repeat of a request id whose first transaction is allocated but not submitted yet: handing the
   * same nonce out again would let two callers sign and send it (two transactions, or a collision).
   * Wait for the first to finish instead: its hash comes back as a duplicate; if its nonce was
   * released (rejected, abandoned, lease expired), the id is free again and this request allocates.
   */
  private async awaitInFlight(request: AllocateNonceRequest, transactionId: string, attempt: number): Promise<AllocateNonceReply> {
    const deadline = Date.now() + (this.options.inFlightWaitMs ?? 5_000);
    while (Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 25));
      const tx = await this.ledger.find(transactionId);
      if (!tx) break;
      if (tx.status === 'rejected' || tx.status === 'abandoned') {
        if (attempt >= 3) break;
        return this.allocateOnce(request, attempt + 1);
      }
      if (tx.hash && tx.status !== 'allocated') return { transactionId, nonce: tx.nonce, existingHash: tx.hash };
    }
    throw new ServiceError(ErrorCode.RequestInFlight, `request id ${request.requestId} is still being sent by an earlier call (transaction ${transactionId}); retry later`);
  }

  /**
   * Many outcomes at once (the batched route): the `submitted` ones — nearly all of them on the hot
   * path — in one statement (NonceLedger.markSubmittedMany), the rest one by one. One reply or
   * error per request, in order; each ends exactly as {@link recordOutcome} would end it.
   */
  async recordOutcomes(requests: RecordOutcomeRequest[]): Promise<Array<RecordOutcomeReply | Error>> {
    const results: Array<RecordOutcomeReply | Error> = new Array(requests.length);
    const submitted: Array<{ index: number; item: SubmittedItem }> = [];
    const others: Promise<void>[] = [];
    requests.forEach((request, index) => {
      if (request.outcome !== 'submitted') {
        others.push(this.recordOne(request).then((r) => void (results[index] = r), (e: unknown) => void (results[index] = asError(e))));
        return;
      }
      try {
        submitted.push({ index, item: { transactionId: request.transactionId, record: this.submittedRecord(request) } });
      } catch (error) {
        results[index] = asError(error);
      }
    });
    const bulk = submitted.length
      ? this.ledger.markSubmittedMany(submitted.map((s) => s.item)).then(
          (outcomes) => outcomes.forEach((outcome, k) => (results[submitted[k].index] = this.outcomeReply(requests[submitted[k].index], outcome))),
          (error: unknown) => submitted.forEach((s) => (results[s.index] = asError(error))),
        )
      : undefined;
    await Promise.all([...others, bulk]);
    const observer = this.options.observer;
    if (observer) requests.forEach((request, i) => observer.recorded(request.outcome, !(results[i] instanceof Error)));
    return results;
  }

  async recordOutcome(request: RecordOutcomeRequest): Promise<RecordOutcomeReply> {
    const observer = this.options.observer;
    if (!observer) return this.recordOne(request);
    try {
      const reply = await this.recordOne(request);
      observer.recorded(request.outcome, true);
      return reply;
    } catch (error) {
      observer.recorded(request.outcome, false);
      throw error;
    }
  }

  private async recordOne(request: RecordOutcomeRequest): Promise<RecordOutcomeReply> {
    let result: OutcomeResult;
    if (request.outcome === 'signed') {
      if (!request.hash || !request.raw) throw new ServiceError(ErrorCode.InvalidRequest, 'a signed outcome needs the hash and the raw transaction');
      if (!this.lifecycle) throw new ServiceError(ErrorCode.Internal, 'signed outcomes are not supported by this replica');
      const decoded = this.decode(request.raw, request.hash);
      const ok = await this.lifecycle.markSigned(request.transactionId, { hash: request.hash, raw: request.raw, type: decoded.type, fields: decoded.fields }, this.options.leaseMs ?? 30_000);
      if (!ok) {
        throw new ServiceError(ErrorCode.NonceConflict, `transaction ${request.transactionId} no longer holds its nonce (lease expired or already recorded): do not broadcast it`);
      }
      return { ok: 1 };
    }
    if (request.outcome === 'submitted') {
      result = await this.ledger.markSubmitted(request.transactionId, this.submittedRecord(request));
    } else {
      const chainCount = request.outcome === 'rejected' ? await this.chainFloorFor(request.transactionId) : undefined;
      const released = await this.ledger.release(request.transactionId, request.outcome, request.error, chainCount);
      if (released.kind === 'ok' && !released.reusable) {
        this.logger?.warn(
          { transactionId: request.transactionId, address: released.address, nonce: released.nonce, chainCount },
          'nonce already consumed on chain (used outside this system?): not reused; counter raised to the chain',
        );
      }
      result = released;
    }
    const reply = this.outcomeReply(request, result);
    if (reply instanceof Error) throw reply;
    return reply;
  }

  /** The ledger's answer to an outcome as the caller sees it. */
  private outcomeReply(request: RecordOutcomeRequest, result: OutcomeResult): RecordOutcomeReply | ServiceError {
    if (result.kind === 'not-found') return new ServiceError(ErrorCode.TransactionNotFound, `no transaction ${request.transactionId} in the ledger`);
    if (result.kind === 'conflict') {
      this.logger?.warn({ transactionId: request.transactionId, outcome: request.outcome, status: result.status }, 'outcome refused');
      return new ServiceError(ErrorCode.NonceConflict, `cannot record ${request.outcome} for ${request.transactionId}: ${result.reason}`);
    }
    return { ok: 1 };
  }

  /** A `submitted` outcome as a ledger record: the raw transaction decoded and checked against the hash. */
  private submittedRecord(request: RecordOutcomeRequest): SubmittedRecord {
    if (!request.hash) throw new ServiceError(ErrorCode.InvalidRequest, 'a submitted outcome needs the transaction hash');
    if (!request.raw) return { hash: request.hash };
    const decoded = this.decode(request.raw, request.hash);
    return { hash: request.hash, raw: request.raw, type: decoded.type, fields: decoded.fields, rawNonce: decoded.nonce, rawChainId: decoded.chainId };
  }

  /**
   * The node's mined count for a rejected transaction's sender, so the release can apply the chain
   * as a floor (a "nonce too low" rejection would otherwise put a consumed nonce back for reuse, and
   * every later request would fail on it). Off the hot path: rejections only. A node that cannot be
   * asked leaves the release as it was (the next rejection asks again).
   */
  private async chainFloorFor(transactionId: string): Promise<number | undefined> {
    const tx = await this.ledger.find(transactionId);
    if (!tx || (tx.status !== 'allocated' && tx.status !== 'signed')) return undefined;
    try {
      if ((await this.chain.chainId()) !== tx.chainId) return undefined;
      return await this.chain.minedCount(tx.address);
    } catch (error) {
      this.logger?.warn({ transactionId, error: (error as Error).message }, 'cannot read the chain nonce while releasing; releasing without a floor');
      return undefined;
    }
  }

  private decode(raw: string, hash: string) {
    let decoded;
    try {
      decoded = decodeRawTransaction(raw);
    } catch (error) {
      if (error instanceof RawTransactionError) throw new ServiceError(ErrorCode.InvalidRequest, error.message, { cause: error });
      throw error;
    }
    if (decoded.hash !== hash) throw new ServiceError(ErrorCode.InvalidRequest, `hash ${hash} is not the hash of raw (${decoded.hash})`);
    return decoded;
  }

  /**
   * One allocation statement for every queued request, whatever their accounts. One slot per
   * distinct request id (request ids are unique across the ledger, not per account); repeats within
   * the batch share the first one's result.
   */
  private async runBatch(items: Pending[]): Promise<(BatchReply | Error)[]> {
    this.stats.batches++;
    const slots: AccountSlot[] = [];
    const slotOf: number[] = [];
    const firstItemOfSlot: number[] = [];
    const byRequestId = new Map<string, number>();
    for (const item of items) {
      const seen = item.requestId !== undefined ? byRequestId.get(item.requestId) : undefined;
      if (seen !== undefined) {
        slotOf.push(seen);
        continue;
      }
      if (item.requestId !== undefined) byRequestId.set(item.requestId, slots.length);
      slotOf.push(slots.length);
      firstItemOfSlot.push(slotOf.length - 1);
      slots.push({ chainId: item.chainId, address: item.address, slot: { requestId: item.requestId, payloadHash: item.payloadHash } });
    }

    const startedMs = performance.now();
    let slotResults: Awaited<ReturnType<NonceLedger['allocateMany']>>;
    try {
      slotResults = await this.ledger.allocateMany(slots);
    } finally {
      this.options.observer?.statement(items.length, startedMs);
    }
    return items.map((item, i) => {
      const slotIndex = slotOf[i];
      const slot = slotResults[slotIndex];
      if (slot.kind === 'unknown-account') return UNKNOWN_ACCOUNT;
      // A repeat inside the batch is "existing" from its point of view: same checks as a later retry.
      const first = slots[slotIndex];
      const isRepeat = firstItemOfSlot[slotIndex] !== i;
      if (slot.kind === 'existing') return this.existingReply(slot, item.chainId, item.address, item);
      if (isRepeat && (first.chainId !== item.chainId || first.address !== item.address)) return usedElsewhere(item.requestId);
      if (isRepeat && first.slot.payloadHash !== undefined && item.payloadHash !== undefined && first.slot.payloadHash !== item.payloadHash) {
        return payloadMismatch(item.requestId);
      }
      // The first item of the slot sends it; a repeat waits for that send (never a second transaction).
      if (isRepeat) return { inFlight: true, transactionId: slot.transactionId } satisfies InFlight;
      return { transactionId: slot.transactionId, nonce: slot.nonce };
    });
  }

  private async allocateFixed(request: AllocateNonceRequest, nonce: number): Promise<AllocateNonceReply | InFlight> {
    const slot = { requestId: request.requestId, payloadHash: request.payloadHash };
    let result = await this.ledger.allocateFixed(request.chainId, request.address, nonce, slot, this.options.maxFixedNonceGap);
    if (result.kind === 'unknown-account') {
      await this.initAccount(request.chainId, request.address);
      result = await this.ledger.allocateFixed(request.chainId, request.address, nonce, slot, this.options.maxFixedNonceGap);
    }
    switch (result.kind) {
      case 'allocated':
        return { transactionId: result.transactionId, nonce: result.nonce };
      case 'existing': {
        const reply = this.existingReply(result, request.chainId, request.address, slot);
        if (reply instanceof Error) throw reply;
        return reply;
      }
      case 'nonce-in-use':
        throw new ServiceError(ErrorCode.NonceConflict, `nonce ${nonce} of ${request.address} on chain ${request.chainId} is held by transaction ${result.transactionId}`);
      case 'too-far-ahead':
        throw new ServiceError(
          ErrorCode.NonceConflict,
          `nonce ${nonce} is more than ${this.options.maxFixedNonceGap} above the account's next nonce ${result.nextNonce}; it would leave a long gap`,
        );
      default:
        throw new ServiceError(ErrorCode.Internal, `nonce account ${request.chainId}/${request.address} vanished while being created`);
    }
  }

  private existingReply(slot: ExistingSlot, chainId: number, address: string, item: { requestId?: string; payloadHash?: string }): AllocateNonceReply | InFlight | ServiceError {
    if (slot.chainId !== chainId || slot.address !== address) return usedElsewhere(item.requestId);
    if (slot.payloadHash !== null && item.payloadHash !== undefined && slot.payloadHash !== item.payloadHash) return payloadMismatch(item.requestId);
    if (!slot.hash || slot.status === 'allocated') return { inFlight: true, transactionId: slot.transactionId };
    return { transactionId: slot.transactionId, nonce: slot.nonce, ...(slot.hash ? { existingHash: slot.hash } : {}) };
  }

  /** First sighting of an account: start at the node's pending count (research §7.1 #5: the chain is a floor). */
  private async initAccount(chainId: number, address: string): Promise<void> {
    let pending: number;
    try {
      const nodeChainId = await this.chain.chainId();
      if (nodeChainId !== chainId) {
        throw new ServiceError(ErrorCode.InvalidRequest, `chain ${chainId} is not served here: the node is on chain ${nodeChainId}`);
      }
      pending = await this.chain.pendingCount(address);
    } catch (error) {
      if (error instanceof NodeRequestError) {
        throw new ServiceError(ErrorCode.NodeUnavailable, `cannot read the pending nonce of ${address}: ${error.message}`, { cause: error });
      }
      throw error;
    }
    await this.ledger.initAccount(chainId, address, pending);
    this.logger?.info({ chainId, address, pending }, 'new nonce account seeded from the node');
  }
}

function asError(error: unknown): Error {
  // An error from another realm (a native module under jest) is not `instanceof Error`: keep it as the cause.
  return error instanceof Error ? error : new Error(String(error), { cause: error });
}

function usedElsewhere(requestId: string | undefined): ServiceError {
  return new ServiceError(ErrorCode.RequestIdReused, `request id ${requestId} was already used for another account or chain`);
}

function payloadMismatch(requestId: string | undefined): ServiceError {
  return new ServiceError(ErrorCode.RequestIdReused, `request id ${requestId} was already used with a different payload`);
}
