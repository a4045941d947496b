import type { IncomingMessage, ServerResponse } from 'node:http';
import { CounterFamily, createMetricsRegistry, HistogramFamily, LATENCY_BUCKETS_SECONDS, ScrapedMetric, secondsSince, type CounterCell, type HistogramCell, type Registry } from '@hsm-signer/metrics';
import { sendStageObserver, type SendObserver } from '@hsm-signer/transactions';
import type { AsyncDeliveryOutcome } from './dispatch/async-queue';
import type { HttpAnswer, RequestContext, RestTransactionRequest, TransactionDispatcher } from './dispatch/transaction-dispatcher';

/** The `kind` label: which part of the API a request was for, from its path (never the path itself). */
export const ROUTE_KINDS = ['abis', 'contracts', 'replies', 'webhook', 'status', 'exerciser', 'events', 'metrics', 'other'] as const;
export type RouteKind = (typeof ROUTE_KINDS)[number];

/** Statuses the gateway answers, exported at 0 from start-up; any other code gets its own series when first seen (at most 500 per kind). */
const KNOWN_STATUSES = [200, 201, 202, 400, 404, 405, 409, 413, 500, 503];
const DELIVERY_OUTCOMES: readonly AsyncDeliveryOutcome[] = ['done', 'retry', 'wait-in-flight', 'error', 'dropped'];
export type TransactionMode = 'sync' | 'async';
export type TransactionOutcome = 'mined' | 'failed' | 'error';

/** How long one count of the pending replies is reused: scrapers never load Postgres more than once per this. */
export const PENDING_REPLIES_CACHE_MS = 5_000;

const FIRST_SEGMENT = new Map<string, RouteKind>([
  ['', 'webhook'],
  ['hook', 'webhook'],
  ['fasthook', 'webhook'],
  ['abis', 'abis'],
  ['contracts', 'contracts'],
  ['replies', 'replies'],
  ['reply', 'replies'],
  ['status', 'status'],
  ['metrics', 'metrics'],
  ['api-exerciser', 'exerciser'],
  ['eventstreams', 'events'],
  ['subscriptions', 'events'],
  ['ws', 'events'],
]);
/** `?swagger`, `?openapi`, `?ui` on an ABI or contract: the generated Swagger and the exerciser page (registry.ts flags()). */
const DESCRIBE_QUERY = /(?:^|&)(?:swagger|openapi|ui)(?:[=&]|$)/i;

/**
 * The route kind of a request URL (as Express sees it: path and query, no base path). The event
 * routes are the subscribe paths (abis/{abi}/{address}/{event}/subscribe, contracts/{c}/{event}/subscribe)
 * and the event-stream ones; a contract method that happens to be called `subscribe` stays a call.
 */
export function routeKind(url: string | undefined): RouteKind {
  const raw = url ?? '/';
  const q = raw.indexOf('?');
  const path = q < 0 ? raw : raw.slice(0, q);
  const start = path.charCodeAt(0) === 47 /* / */ ? 1 : 0;
  const slash = path.indexOf('/', start);
  const kind = FIRST_SEGMENT.get(slash < 0 ? path.slice(start) : path.slice(start, slash)) ?? 'other';
  if (kind !== 'abis' && kind !== 'contracts') return kind;
  const trimmed = path.endsWith('/') ? path.slice(0, -1) : path;
  if (trimmed.endsWith('/subscribe') && trimmed.split('/').length - 1 - start === (kind === 'abis' ? 4 : 3)) return 'events';
  if (q >= 0 && DESCRIBE_QUERY.test(raw.slice(q + 1))) return 'exerciser';
  return kind;
}

/** What a final reply body says happened (reply-bodies.ts headers.type); undefined for a pending one. */
export function replyOutcome(body: object): TransactionOutcome | undefined {
  const type = (body as { headers?: { type?: unknown } }).headers?.type;
  if (type === 'TransactionSuccess') return 'mined';
  if (type === 'TransactionFailure') return 'failed';
  if (type === 'Error') return 'error';
  return undefined;
}

interface KindCells {
  kind: RouteKind;
  duration: HistogramCell;
  /** Indexed by HTTP status. */
  statuses: Array<CounterCell | undefined>;
}

export interface RestMetricsSources {
  /** AsyncRequestQueue.processing, once the queue exists. */
  asyncProcessing?: () => number | undefined;
  /** ReceiptWaiter.size, once the waiter exists. */
  syncWaiting?: () => number | undefined;
  /** RestStore.countPendingReplies: read at most every {@link PENDING_REPLIES_CACHE_MS}. */
  pendingReplies?: () => Promise<number>;
  pendingRepliesCacheMs?: number;
}

type SaveReply<I extends { pending: boolean; body: object }, R> = (input: I) => Promise<R>;

/**
 * The rest-gateway's metrics (docs/metrics.md): HTTP requests by route kind and status, transactions
 * by mode and outcome, the send path's stage durations (the same histogram as the rpc-gateway's),
 * the asynchronous queue and the replies. Every cell is bound here (libs/metrics cells.ts); a request
 * costs a path classification, two performance.now() and two cell updates.
 */
export class RestMetrics {
  readonly registry: Registry = createMetricsRegistry();
  private readonly kinds = new Map<RouteKind, KindCells>();
  private readonly requests: CounterFamily;
  private readonly transactions = new Map<string, CounterCell>();
  private readonly deliveries = new Map<AsyncDeliveryOutcome, CounterCell>();
  private readonly completed: CounterCell;
  private pending?: { at: number; value: Promise<number | undefined> };

  /** The send path's stage durations (TransactionSender's `observer` option). */
  readonly send: SendObserver = sendStageObserver(this.registry);

  /** An AsyncRequestQueue delivery finished (its `onDelivery` option). */
  readonly delivered = (outcome: AsyncDeliveryOutcome): void => this.deliveries.get(outcome)?.inc();

  /**
   * Starts timing a request: the server's first 'request' listener. Counted when the answer is
   * sent ('finish'); a client that hangs up before is not counted.
   */
  readonly track = (req: IncomingMessage, res: ServerResponse): void => {
    const started = performance.now();
    const cells = this.kinds.get(routeKind(req.url)) as KindCells;
    res.once('finish', () => {
      cells.duration.observe(secondsSince(started));
      this.statusCell(cells, res.statusCode).inc();
    });
  };

  constructor(private readonly sources: RestMetricsSources = {}) {
    const registers = [this.registry];
    this.requests = new CounterFamily({
      name: 'hsm_rest_requests_total',
      help: 'HTTP requests answered, by route kind (abis | contracts | replies | webhook | status | exerciser | events | metrics | other) and HTTP status code.',
      labelNames: ['kind', 'status'],
      registers,
    });
    const duration = new HistogramFamily({
      name: 'hsm_rest_request_duration_seconds',
      help: 'Time from a request to its answer sent, by route kind (a synchronous transaction: until its receipt).',
      labelNames: ['kind'],
      buckets: LATENCY_BUCKETS_SECONDS,
      registers,
    });
    for (const kind of ROUTE_KINDS) {
      const cells: KindCells = { kind, duration: duration.cell(kind), statuses: new Array<CounterCell | undefined>(600) };
      for (const status of KNOWN_STATUSES) cells.statuses[status] = this.requests.cell(kind, String(status));
      this.kinds.set(kind, cells);
    }
    const transactions = new CounterFamily({
      name: 'hsm_rest_transactions_total',
      help: 'Transactions by mode (sync | async) and outcome: mined, failed (mined with status 0), error (no receipt: refused, not sent, not mined, or a synchronous wait that timed out).',
      labelNames: ['mode', 'outcome'],
      registers,
    });
    for (const mode of ['sync', 'async'] as const) for (const outcome of ['mined', 'failed', 'error'] as const) this.transactions.set(`${mode}:${outcome}`, transactions.cell(mode, outcome));
    const deliveries = new CounterFamily({
      name: 'hsm_rest_async_deliveries_total',
      help: 'JetStream deliveries of asynchronous requests processed by this replica, by outcome: done (acked), retry (a service was unavailable), wait-in-flight (its id is still in flight elsewhere; counted at each re-check, once a second, the delivery kept), error (processing threw; delivered again), dropped (unreadable).',
      labelNames: ['outcome'],
      registers,
    });
    for (const o of DELIVERY_OUTCOMES) this.deliveries.set(o, deliveries.cell(o));
    this.completed = new CounterFamily({ name: 'hsm_rest_replies_completed_total', help: 'Pending replies made final by this replica\'s background completer (receipt, or Error for a transaction that will not be mined).', registers }).cell();

    const gauge = (name: string, help: string, read: (() => number | undefined) | undefined) =>
      new ScrapedMetric(this.registry, 'gauge', name, help, undefined, () => {
        const value = read?.();
        return value === undefined ? [] : [['', value]];
      });
    gauge('hsm_rest_async_processing', 'Asynchronous requests this replica is processing now (at most REST_ASYNC_CONCURRENCY).', sources.asyncProcessing);
    gauge('hsm_rest_sync_waiting', 'Synchronous transactions waiting for their receipt on this replica (by ledger id).', sources.syncWaiting);
    const pendingReplies = sources.pendingReplies;
    if (pendingReplies) {
      new ScrapedMetric(this.registry, 'gauge', 'hsm_rest_replies_pending', 'Replies still pending in the reply store (all replicas), read at most every few seconds; absent while Postgres cannot be read.', undefined, async () => {
        const n = await this.pendingReplies(pendingReplies);
        return n === undefined ? [] : [['', n]];
      });
    }
  }

  /** A transaction reached its answer. */
  transaction(mode: TransactionMode, outcome: TransactionOutcome): void {
    this.transactions.get(`${mode}:${outcome}`)?.inc();
  }

  /** One round of the background completer made `count` replies final. */
  repliesCompleted(count: number): void {
    if (count > 0) this.completed.inc(count);
  }

  /**
   * The dispatcher's `sync` and `async`, counting synchronous transactions: 200 mined, 500 with a
   * receipt failed (status 0), anything thrown an error.
   */
  countSync(dispatcher: Pick<TransactionDispatcher, 'sync' | 'async'>): Pick<TransactionDispatcher, 'sync' | 'async'> {
    return {
      sync: async (request: RestTransactionRequest, context: RequestContext): Promise<HttpAnswer> => {
        let answer: HttpAnswer;
        try {
          answer = await dispatcher.sync(request, context);
        } catch (error) {
          this.transaction('sync', 'error');
          throw error;
        }
        this.transaction('sync', answer.status === 200 ? 'mined' : 'failed');
        return answer;
      },
      async: (request, context, options) => dispatcher.async(request, context, options),
    };
  }

  /**
   * A reply store's saveReply, counting asynchronous transactions: only asynchronous requests get
   * stored final replies, and a final reply is written once (saveReply answers false when another
   * replica's completer wrote it first), so each request counts once whichever replica ends it.
   */
  countAsync<I extends { pending: boolean; body: object }>(save: SaveReply<I, boolean>): SaveReply<I, boolean> {
    return async (input) => {
      const written = await save(input);
      if (written && !input.pending) {
        const outcome = replyOutcome(input.body);
        if (outcome) this.transaction('async', outcome);
      }
      return written;
    };
  }

  private statusCell(cells: KindCells, status: number): CounterCell {
    const code = status >= 100 && status < 600 ? status : 0;
    let cell = cells.statuses[code];
    if (cell === undefined) cell = cells.statuses[code] = this.requests.cell(cells.kind, code === 0 ? 'other' : String(code));
    return cell;
  }

  /** One count per cache period, shared by concurrent scrapes; a failed read is cached too and leaves the gauge out. */
  private pendingReplies(read: () => Promise<number>): Promise<number | undefined> {
    const now = Date.now();
    if (this.pending && now - this.pending.at < (this.sources.pendingRepliesCacheMs ?? PENDING_REPLIES_CACHE_MS)) return this.pending.value;
    const value = read().then(
      (n) => n,
      () => undefined,
    );
    this.pending = { at: now, value };
    return value;
  }
}
