import { BatchRoutes, ErrorCode, type Account, type AllocateNonceReply, type RecordOutcomeRequest, type UnsignedTransaction } from '@hsm-signer/contracts';
import {
  completeTransaction,
  DownstreamUnavailableError,
  estimateGasRequest,
  factsNeeded,
  InternalJsonRpcError,
  JsonRpcError,
  JsonRpcErrorCode,
  NodeError,
  NonceTooLowError,
  parseQuantity,
  parseTransactionRequest,
  TransactionAlreadyKnownError,
  withNonce,
  type NodeFacts,
  type PreparedTransaction,
  type TransactionRequest,
} from '@hsm-signer/ethereum';
import { RemoteServiceError, type NatsBus } from '@hsm-signer/messaging';
import type { AccountDirectory } from './account-directory';
import { ChainFactsCache } from './chain-facts';
import type { EthNodeClient } from './eth-node-client';
import { silentLogger, type SendPathLogger } from './logger';
import { requestPayloadHash } from './payload-hash';
import { toClientError } from './service-errors';

/** The node is on another chain than the configured CHAIN_ID: nothing is signed for it. HTTP 502. */
export class NodeChainMismatchError extends JsonRpcError {
  override name = 'NodeChainMismatchError';
  constructor(
    readonly nodeChainId: number,
    readonly expectedChainId: number,
  ) {
    super(JsonRpcErrorCode.Server, `the node is on chain ${nodeChainId}, but this gateway is configured for chain ${expectedChainId} (CHAIN_ID)`, { httpStatus: 502 });
  }
}

export interface TransactionSenderOptions {
  bus: Pick<NatsBus, 'requestBatched'>;
  node: EthNodeClient;
  accounts: Pick<AccountDirectory, 'resolve'>;
  /** eth_estimateGas × this when the caller gives no gas. */
  gasMultiplier: number;
  /** How long the latest block's fees are reused by later sends (FEE_CACHE_MS; 0 = read for every send). */
  feeCacheMs?: number;
  /**
   * The block eth_estimateGas runs against (GAS_ESTIMATE_BLOCK, default 'latest'). Always sent
   * explicitly: nodes differ in their default (geth: latest; anvil: pending), and the send path
   * should behave the same on all of them.
   */
  estimateBlock?: 'latest' | 'pending';
  /** When set (non-zero), the node must report this chain id or nothing is sent. */
  expectedChainId?: number;
  logger?: SendPathLogger;
  /** TEST ONLY (HSM_TEST_PAUSE_BEFORE_SUBMIT_MS): wait this long between signing and broadcasting, so a test can kill the process there. */
  testPauseBeforeSubmitMs?: number;
  /** TEST ONLY (HSM_TEST_PAUSE_AFTER_SUBMIT_MS): wait this long after the node accepted the transaction, before recording it, so a test can kill the process between broadcast and record. */
  testPauseAfterSubmitMs?: number;
  /** Told how long each stage of a send took (the gateways' metrics); this library knows nothing of Prometheus. */
  observer?: SendObserver;
}

/**
 * The stages of one send: `estimate` completing the transaction (fees, eth_estimateGas), `allocate`
 * the nonce (nonce-service), `sign` (signer-service), `submit` eth_sendRawTransaction.
 */
export type SendStage = 'estimate' | 'allocate' | 'sign' | 'submit';

export interface SendObserver {
  /** A stage finished without throwing, after `seconds`. Called on the hot path: keep it to a histogram observe. */
  stageDone(stage: SendStage, seconds: number): void;
}

/**
 * Whether a failed record may still land later: transport trouble, or nonce-service answering that
 * its database is unreachable (or failing unexpectedly). A refusal on the merits (conflict, unknown
 * transaction, invalid) stays refused.
 */
function mayRecordLater(error: unknown): boolean {
  if (!(error instanceof RemoteServiceError)) return true;
  return error.code === ErrorCode.LedgerUnavailable || error.code === ErrorCode.Internal;
}

/**
 * A `submitted` record that failed is tried again 250 ms, 500 ms, 1 s later, then every 2 s, for
 * about two minutes: soon enough that the ledger knows the transaction right after a short outage
 * (a restart of NATS, nonce-service or Postgres takes seconds), long enough to outlast a longer one.
 * The first backoff (1 s … 32 s, six tries) left a record cut off by a Postgres restart unsent for a
 * minute, long after the tracker had reaped its nonce.
 */
const RECORD_RETRIES = 62;
function recordRetryDelayMs(attempt: number): number {
  return Math.min(2_000, 125 * 2 ** attempt);
}

/**
 * Allocations per send when the node says "nonce too low" for a nonce the ledger handed out (the
 * chain moved past the ledger: the key was used outside, or a reaped lease's transaction landed).
 */
const MAX_NONCE_ATTEMPTS = 3;

export interface SendOptions {
  /** Client idempotency key (X-Request-Id / kld-id): a repeat returns the first send's hash. */
  requestId?: string;
}

export interface SendResult {
  hash: string;
  nonce: number;
  /** nonce-service's ledger id. */
  transactionId: string;
  /** True when `requestId` matched an earlier send and nothing new was signed or sent. */
  duplicate: boolean;
  /** The transaction as signed (absent for a duplicate). */
  tx?: UnsignedTransaction;
}

/**
 * The send path both gateways share (ARCHITECTURE.md "One transaction, end to end"):
 * resolve the account → complete the transaction (node facts in one HTTP batch; gas estimated
 * BEFORE a nonce is taken, so a reverting call never consumes one) → allocate the nonce
 * (nonce-service) → sign (signer-service) → eth_sendRawTransaction → record the outcome.
 *
 * Hot path cost for a known account: the estimate (none when the caller gave gas; the block's fees
 * come from {@link ChainFactsCache}), 3 NATS hops (allocate, sign, record) and the raw send. The
 * hops use the batched routes (contracts batch.ts) and the node calls share JSON-RPC batches: the
 * sends of one event-loop turn share one message per hop and one HTTP request per node step.
 * The client gets its hash as soon as the node accepted the transaction; the `submitted` record
 * follows in the background (see {@link record}).
 *
 * Every error thrown is a JsonRpcError (from @hsm-signer/ethereum) with `cause`, so a gateway only
 * serialises it: the node's own errors verbatim, ours with the codes of research/rpc-signers.md §1.8.
 */
export class TransactionSender {
  private chainIdPromise?: Promise<number>;
  /** `submitted` records sent after the client got its answer: awaited by {@link flush} at shutdown. */
  private readonly pendingRecords = new Set<Promise<void>>();
  private readonly logger: SendPathLogger;

  private readonly chainFacts: ChainFactsCache;

  constructor(private readonly options: TransactionSenderOptions) {
    this.logger = options.logger ?? silentLogger;
    this.chainFacts = new ChainFactsCache(options.node, options.feeCacheMs ?? 0);
  }

  /** eth_sendTransaction: returns the transaction hash. `tx` is the JSON-RPC transaction object. */
  async sendTransaction(tx: unknown, options: SendOptions = {}): Promise<string> {
    return (await this.send(tx, options)).hash;
  }

  /** Like {@link sendTransaction}, with the nonce, ledger id and the transaction as signed. */
  async send(tx: unknown, options: SendOptions = {}): Promise<SendResult> {
    const request = parseTransactionRequest(tx);
    const account = await this.options.accounts.resolve(request.from);
    const chainId = await this.chainId();
    // Before any nonce is taken: a type the key cannot sign is refused here (-32602).
    const preparing = performance.now();
    const prepared = await this.prepare(request, chainId, account.transactionTypes);
    this.options.observer?.stageDone('estimate', (performance.now() - preparing) / 1000);
    // Only with a request id: a repeat under the id with another payload is refused by nonce-service.
    const payloadHash = options.requestId ? requestPayloadHash(request) : undefined;
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.sendOnce(request, prepared, account, chainId, options, payloadHash, attempt < MAX_NONCE_ATTEMPTS);
      if (outcome) return outcome;
    }
  }

  /** One allocation → sign → broadcast → record. Undefined: the nonce turned out consumed; allocate again. */
  private async sendOnce(
    request: TransactionRequest,
    prepared: PreparedTransaction,
    account: Pick<Account, 'backendId' | 'keyId'>,
    chainId: number,
    options: SendOptions,
    payloadHash: string | undefined,
    mayRetry: boolean,
  ): Promise<SendResult | undefined> {
    const allocatedAt = performance.now();
    const allocation: AllocateNonceReply = await this.call(() =>
      this.options.bus.requestBatched(BatchRoutes.nonceAllocate, {
        chainId,
        address: request.from,
        ...(options.requestId ? { requestId: options.requestId } : {}),
        ...(payloadHash ? { payloadHash } : {}),
        ...(request.nonce !== undefined ? { fixedNonce: request.nonce } : {}),
      }),
    );
    this.options.observer?.stageDone('allocate', (performance.now() - allocatedAt) / 1000);
    if (allocation.existingHash) {
      return { hash: allocation.existingHash, nonce: allocation.nonce, transactionId: allocation.transactionId, duplicate: true };
    }
    const base = { transactionId: allocation.transactionId };
    if (request.nonce !== undefined && allocation.nonce !== request.nonce) {
      const error = new InternalJsonRpcError(`nonce-service allocated nonce ${allocation.nonce} instead of the requested ${request.nonce}`);
      await this.record({ ...base, outcome: 'abandoned', error: error.message });
      throw error;
    }
    const unsigned = withNonce(prepared, allocation.nonce);

    let signed;
    const signing = performance.now();
    try {
      signed = await this.options.bus.requestBatched(BatchRoutes.signerSignTransaction, { from: request.from, key: { backendId: account.backendId, keyId: account.keyId }, tx: unsigned });
      this.options.observer?.stageDone('sign', (performance.now() - signing) / 1000);
    } catch (error) {
      const clientError = toClientError(error);
      await this.record({ ...base, outcome: 'abandoned', error: clientError.message });
      throw clientError;
    }

    if (this.options.testPauseBeforeSubmitMs) await new Promise((r) => setTimeout(r, this.options.testPauseBeforeSubmitMs));
    // The `signed` record (raw + hash before broadcast) costs a NATS hop and a Postgres write, so it
    // is made only on the slow path: past half the nonce lease, when nonce-service may soon treat
    // the nonce as a hole. On the fast path nothing is lost without it: a crash before broadcast
    // leaves nothing on chain (the lease expires, the hole is reused or filled), and a crash after
    // broadcast leaves a transaction whose nonce the chain floor and the "nonce too low" path below
    // reconcile. See apps/nonce-service/README.md "Hot path".
    // With a request id the record is always made: the id promises at most one transaction, and a
    // retry after a crash between broadcast and `submitted` (a replica SIGKILLed, an async REST
    // request redelivered) must find this hash in the ledger. Without it the reaper releases the
    // consumed nonce as abandoned, the id becomes free, and the retry would send a second transaction.
    const pastHalfLease = allocation.leaseMs !== undefined && performance.now() - allocatedAt > allocation.leaseMs / 2;
    if (options.requestId !== undefined || pastHalfLease) {
      try {
        await this.options.bus.requestBatched(BatchRoutes.nonceRecordOutcome, { ...base, outcome: 'signed', hash: signed.hash, raw: signed.raw });
      } catch (error) {
        if (error instanceof RemoteServiceError && error.code === ErrorCode.NonceConflict && mayRetry) return undefined; // lease lost: new nonce
        throw toClientError(error);
      }
    }

    const submitting = performance.now();
    try {
      const nodeHash = await this.options.node.call<string>('eth_sendRawTransaction', [signed.raw]);
      this.options.observer?.stageDone('submit', (performance.now() - submitting) / 1000);
      if (typeof nodeHash === 'string' && nodeHash.toLowerCase() !== signed.hash) {
        this.logger.warn({ ours: signed.hash, node: nodeHash }, 'the node reported another hash than signer-service computed');
      }
    } catch (error) {
      if (error instanceof NonceTooLowError && request.nonce === undefined) {
        // research/nonce-and-lifecycle.md §6.2 "nonce too low": first our own hash (an earlier send
        // of these bytes landed), then the chain: recorded as rejected, nonce-service raises the
        // counter to the node's mined count and drops the consumed nonce; a new nonce is allocated.
        if (await this.nodeKnows(signed.hash)) {
          await this.record({ ...base, outcome: 'submitted', hash: signed.hash, raw: signed.raw });
          return { hash: signed.hash, nonce: allocation.nonce, transactionId: allocation.transactionId, duplicate: false, tx: unsigned };
        }
        await this.record({ ...base, outcome: 'rejected', hash: signed.hash, error: error.message.slice(0, 2000) });
        if (mayRetry) {
          this.logger.warn({ from: request.from, nonce: allocation.nonce }, 'nonce too low: the chain is ahead of the ledger; retrying with a new nonce');
          return undefined;
        }
        throw error;
      }
      if ((await this.recordSubmitFailure(base, signed, error)) === 'maybe-sent') return { hash: signed.hash, nonce: allocation.nonce, transactionId: allocation.transactionId, duplicate: false, tx: unsigned };
    }
    // The node has it: the client's answer does not wait for the ledger. Losing this record (crash)
    // costs nothing on chain: the reaper never frees a slot the node shows occupied, and a mined
    // nonce is released as consumed (apps/nonce-service/README.md "Hot path").
    if (this.options.testPauseAfterSubmitMs) await new Promise((r) => setTimeout(r, this.options.testPauseAfterSubmitMs));
    this.recordInBackground({ ...base, outcome: 'submitted', hash: signed.hash, raw: signed.raw });
    this.logger.debug({ from: request.from, nonce: allocation.nonce, hash: signed.hash, type: unsigned.type }, 'transaction submitted');
    return { hash: signed.hash, nonce: allocation.nonce, transactionId: allocation.transactionId, duplicate: false, tx: unsigned };
  }

  /** Whether the node has a transaction with this hash (pooled or mined). False when it cannot tell. */
  private async nodeKnows(hash: string): Promise<boolean> {
    try {
      return (await this.options.node.request('eth_getTransactionByHash', [hash])) !== null;
    } catch {
      return false;
    }
  }

  /** The node's chain id, read once and checked against the configured one. */
  chainId(): Promise<number> {
    if (!this.chainIdPromise) {
      this.chainIdPromise = (async () => {
        const chainId = Number(parseQuantity(await this.options.node.request('eth_chainId'), 'eth_chainId result'));
        const expected = this.options.expectedChainId;
        if (expected && expected !== chainId) throw new NodeChainMismatchError(chainId, expected);
        return chainId;
      })();
      // A failed read (node down) must not stick: the next send asks again.
      this.chainIdPromise.catch(() => (this.chainIdPromise = undefined));
    }
    return this.chainIdPromise;
  }

  /**
   * Completes the request: the per-block facts from {@link ChainFactsCache} (one read per
   * FEE_CACHE_MS for all sends) and, when no gas was given, eth_estimateGas for this transaction
   * (coalesced with the other calls of this turn into one JSON-RPC batch), both at once.
   */
  async prepare(request: TransactionRequest, chainId: number, transactionTypes?: Account['transactionTypes']): Promise<PreparedTransaction> {
    const need = factsNeeded(request, { supports1559: this.chainFacts.supports1559 }, transactionTypes);
    const [chain, gasEstimate] = await Promise.all([
      need.latestBlock || need.maxPriorityFeePerGas || need.gasPrice ? this.chainFacts.get() : undefined,
      // Insufficient funds, a revert, intrinsic gas: the node's error goes to the client as it said it.
      need.estimateGas
        ? this.options.node.call('eth_estimateGas', [estimateGasRequest(request), this.options.estimateBlock ?? 'latest']).then((r) => parseQuantity(r, 'eth_estimateGas result'))
        : undefined,
    ]);
    const facts: NodeFacts = { chainId };
    if (gasEstimate !== undefined) facts.gasEstimate = gasEstimate;
    if (chain) {
      if (need.latestBlock) {
        facts.baseFeePerGas = chain.baseFeePerGas;
        if (chain.blockGasLimit !== undefined) facts.blockGasLimit = chain.blockGasLimit;
      }
      if (need.maxPriorityFeePerGas) {
        if (chain.maxPriorityFeePerGas !== undefined) facts.maxPriorityFeePerGas = chain.maxPriorityFeePerGas;
        else if (chain.baseFeePerGas !== null) throw chain.maxPriorityFeePerGasError;
      }
      if (need.gasPrice) {
        if (chain.gasPrice !== undefined) facts.gasPrice = chain.gasPrice;
        // Needed for certain when the chain has no base fee or the transaction cannot be type 2.
        else if (chain.baseFeePerGas === null || !need.maxPriorityFeePerGas) throw chain.gasPriceError;
      }
    }
    // No block read because the chain is known to lack EIP-1559: completion needs to know that.
    if (facts.baseFeePerGas === undefined && this.chainFacts.supports1559 === false) facts.baseFeePerGas = null;
    return completeTransaction(request, facts, { gasMultiplier: this.options.gasMultiplier, ...(transactionTypes ? { transactionTypes } : {}) });
  }

  /**
   * eth_sendRawTransaction failed. "Already known" for the hash we just signed means the node has it:
   * success. A node error means it refused: rejected. Not connected at all: nothing left us, abandoned.
   * A timeout or a dropped connection after the request went out is ambiguous ("maybe sent",
   * research/nonce-and-lifecycle.md §6): the transaction is recorded as submitted with its raw bytes,
   * nonce-service tracks it and re-sends those same bytes until it is mined, and the client gets the
   * hash, as a node answers once a transaction is in its pool. An error here would invite the client
   * to send again: a second transaction under a new nonce, the double send this path exists to avoid.
   * Returns which of the two it was when it does not throw.
   */
  private async recordSubmitFailure(base: { transactionId: string }, signed: { raw: string; hash: string }, error: unknown): Promise<'already-known' | 'maybe-sent'> {
    if (error instanceof TransactionAlreadyKnownError) return 'already-known'; // falls through to 'submitted'
    if (error instanceof NodeError) {
      await this.record({ ...base, outcome: 'rejected', hash: signed.hash, error: error.message.slice(0, 2000) });
      throw error;
    }
    if (error instanceof DownstreamUnavailableError && !error.requestSent) {
      await this.record({ ...base, outcome: 'abandoned', error: error.message });
      throw error;
    }
    const reason = toClientError(error).message;
    this.logger.warn({ hash: signed.hash, err: reason }, 'eth_sendRawTransaction outcome unknown: the transaction is tracked and re-sent by nonce-service; the client gets its hash');
    this.recordInBackground({ ...base, outcome: 'submitted', hash: signed.hash, raw: signed.raw, error: `submission outcome unknown: ${reason}` });
    return 'maybe-sent';
  }

  /** Waits for the `submitted` records still on their way (graceful shutdown: before NATS closes). */
  async flush(): Promise<void> {
    while (this.pendingRecords.size > 0) await Promise.all([...this.pendingRecords]);
  }

  private recordInBackground(request: RecordOutcomeRequest): void {
    const pending = this.record(request).finally(() => this.pendingRecords.delete(pending));
    this.pendingRecords.add(pending);
  }

  /**
   * Reports the outcome to nonce-service. A failure here is logged, never thrown: the transaction is
   * already with the node (or certainly not), and failing the client's call would invite a re-send.
   */
  private async record(request: RecordOutcomeRequest): Promise<void> {
    try {
      await this.options.bus.requestBatched(BatchRoutes.nonceRecordOutcome, request);
    } catch (error) {
      this.logger.error({ transactionId: request.transactionId, outcome: request.outcome, hash: request.hash, err: error instanceof Error ? error.message : String(error) }, 'could not record the send outcome with nonce-service');
      // A sent transaction the ledger never hears of loses its nonce lease and its hash; keep trying
      // in the background while NATS / nonce-service / Postgres come back (a late `submitted` is taken back).
      if (request.outcome === 'submitted' && mayRecordLater(error)) this.retryRecord(request, 1);
    }
  }

  /** Background retries of a `submitted` record: soon at first, then every 2 s, about two minutes in all. */
  private retryRecord(request: RecordOutcomeRequest, attempt: number): void {
    if (attempt > RECORD_RETRIES) return;
    const timer = setTimeout(() => {
      this.options.bus.requestBatched(BatchRoutes.nonceRecordOutcome, request).then(
        () => this.logger.warn({ transactionId: request.transactionId, attempt }, 'send outcome recorded on retry'),
        (error: unknown) => {
          if (mayRecordLater(error)) this.retryRecord(request, attempt + 1);
        },
      );
    }, recordRetryDelayMs(attempt));
    timer.unref();
  }

  private async call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw toClientError(error);
    }
  }
}
