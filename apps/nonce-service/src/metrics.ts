import type { RecordOutcomeRequest } from '@hsm-signer/contracts';
import { CounterFamily, createMetricsRegistry, HistogramFamily, LATENCY_BUCKETS_SECONDS, ScrapedMetric, secondsSince, type CounterCell, type HistogramCell, type Registry } from '@hsm-signer/metrics';

export type RecordedOutcome = RecordOutcomeRequest['outcome'];

const OUTCOMES: readonly RecordedOutcome[] = ['submitted', 'rejected', 'abandoned', 'signed'];

/**
 * Transaction states that are not final (allocated → signed → submitted → mined → confirmed): the
 * ones the gauge counts. Final rows only grow; counting them would scan the table.
 */
export const OPEN_STATES = ['allocated', 'signed', 'submitted', 'mined'] as const;

/**
 * Requests per allocation statement: 1 at low load, up to NONCE_MAX_BATCH (default 256) when
 * requests queue behind the statement in flight (batcher.ts).
 */
export const BATCH_SIZE_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];

/** How long one read of the ledger gauges is reused: scrapes (of N Prometheus servers, say) never load Postgres more than this. */
export const LEDGER_CACHE_MS = 5_000;

/** What NonceAllocator tells its metrics; every call is arithmetic on cells bound at start-up. */
export interface AllocationObserver {
  /** One allocate request answered (`ok`) or refused. */
  allocated(ok: boolean): void;
  /** One allocation statement of `requests` queued requests, started at `startedMs` (performance.now()). */
  statement(requests: number, startedMs: number): void;
  /** One record-outcome request answered (`ok`) or refused (conflict, not found, invalid, database down). */
  recorded(outcome: RecordedOutcome, ok: boolean): void;
}

/** The one statement the ledger gauges need (a pg Pool, or anything with its query()). */
export interface LedgerQuery {
  query<R>(sql: string): Promise<{ rows: R[] }>;
}

/** Read at scrape time: what the tracker and the outbox relay count anyway (their `stats`). */
export interface NonceMetricsSources {
  ledger?: LedgerQuery;
  tracker?: () => { roundsOk: number; roundsFailed: number; resent: number; replaced: number; gapFilled: number; reaped: number; reorged: number };
  outbox?: () => { published: number; failures: number };
  /** Default {@link LEDGER_CACHE_MS}. */
  ledgerCacheMs?: number;
}

/**
 * Open transactions per state and unpublished outbox rows, in ONE statement. Both counts use
 * indexes: transactions(status, updated_at) for the IN list, outbox_events(seq) WHERE published_at IS NULL for
 * the unpublished rows — rows that the relay (research/nonce-and-lifecycle.md §8.2) empties every
 * NONCE_OUTBOX_INTERVAL_MS, so the count is small unless JetStream is down.
 */
export const LEDGER_SNAPSHOT_SQL = `
SELECT status::text AS key, count(*)::int AS n FROM transactions WHERE status IN (${OPEN_STATES.map((s) => `'${s}'`).join(', ')}) GROUP BY status
UNION ALL
SELECT 'outbox' AS key, count(*)::int AS n FROM outbox_events WHERE published_at IS NULL`;

interface LedgerSnapshot {
  states: Record<string, number>;
  outbox: number;
}

/**
 * nonce-service's metrics (docs/metrics.md): allocations and their statements, recorded outcomes,
 * the tracker's rounds and actions, the outbox relay, and the ledger's open transactions. No label
 * holds an address, a chain id, a hash or a transaction id: one deployment is one chain, and the
 * operator view (GET /accounts/:chainId/:address) is where a single account is looked at.
 */
export class NonceMetrics implements AllocationObserver {
  readonly registry: Registry = createMetricsRegistry();
  private readonly allocations: { ok: CounterCell; error: CounterCell };
  private readonly batchSize: HistogramCell;
  private readonly duration: HistogramCell;
  private readonly outcomes = new Map<RecordedOutcome, { ok: CounterCell; error: CounterCell }>();
  private snapshot?: { at: number; value: Promise<LedgerSnapshot | undefined> };

  constructor(private readonly sources: NonceMetricsSources = {}) {
    const registers = [this.registry];
    const allocations = new CounterFamily({ name: 'hsm_nonce_allocations_total', help: 'Nonce allocation requests by outcome (ok | error).', labelNames: ['outcome'], registers });
    this.allocations = { ok: allocations.cell('ok'), error: allocations.cell('error') };
    this.batchSize = new HistogramFamily({
      name: 'hsm_nonce_allocation_batch_size',
      help: 'Requests served by one allocation statement (they coalesce while a statement is in flight).',
      buckets: BATCH_SIZE_BUCKETS,
      registers,
    }).cell();
    this.duration = new HistogramFamily({
      name: 'hsm_nonce_allocation_duration_seconds',
      help: 'Time of one allocation statement in Postgres (successes and failures).',
      buckets: LATENCY_BUCKETS_SECONDS,
      registers,
    }).cell();
    const outcomes = new CounterFamily({
      name: 'hsm_nonce_record_outcomes_total',
      help: 'Recorded send outcomes by outcome (submitted | rejected | abandoned | signed) and result (ok | error).',
      labelNames: ['outcome', 'result'],
      registers,
    });
    for (const o of OUTCOMES) this.outcomes.set(o, { ok: outcomes.cell(o, 'ok'), error: outcomes.cell(o, 'error') });

    const { tracker, outbox, ledger } = sources;
    if (tracker) {
      new ScrapedMetric(this.registry, 'counter', 'hsm_tracker_rounds_total', 'Tracker rounds by outcome (ok | error: the round stopped, e.g. the node or Postgres unreachable).', 'outcome', () => {
        const s = tracker();
        return [['ok', s.roundsOk], ['error', s.roundsFailed]];
      });
      new ScrapedMetric(this.registry, 'counter', 'hsm_tracker_resends_total', 'Transactions broadcast again with the same bytes (stuck, not held by the node at its next nonce, maybe-sent after a lease expiry, reorganised out).', undefined, () => [['', tracker().resent]]);
      new ScrapedMetric(this.registry, 'counter', 'hsm_tracker_replacements_total', 'Stuck transactions (or ones a node claims to know but does not hold) replaced at the same nonce with bumped fees.', undefined, () => [['', tracker().replaced]]);
      new ScrapedMetric(this.registry, 'counter', 'hsm_tracker_gap_fills_total', 'Holes (released nonces nobody reused) filled with a zero-value self-transfer.', undefined, () => [['', tracker().gapFilled]]);
      new ScrapedMetric(this.registry, 'counter', 'hsm_tracker_reaped_total', 'Allocated nonces whose lease expired without an outcome, released by the tracker.', undefined, () => [['', tracker().reaped]]);
      new ScrapedMetric(this.registry, 'counter', 'hsm_tracker_reorgs_total', 'Mined transactions found reorganised out of their block (back to submitted).', undefined, () => [['', tracker().reorged]]);
    }
    if (outbox) {
      new ScrapedMetric(this.registry, 'counter', 'hsm_outbox_published_total', 'Lifecycle events relayed from the outbox to JetStream.', undefined, () => [['', outbox().published]]);
      new ScrapedMetric(this.registry, 'counter', 'hsm_outbox_relay_failures_total', 'Outbox relay rounds that failed (JetStream or Postgres unreachable, a publish not acknowledged).', undefined, () => [['', outbox().failures]]);
    }
    if (ledger) {
      const read = () => this.ledgerSnapshot(ledger);
      new ScrapedMetric(
        this.registry,
        'gauge',
        'hsm_nonce_transactions',
        `Ledger transactions in a non-final state (${OPEN_STATES.join(' | ')}), read at most every few seconds; absent while Postgres cannot be read.`,
        'state',
        async () => {
          const s = await read();
          return s ? OPEN_STATES.map((state) => [state, s.states[state] ?? 0]) : [];
        },
      );
      new ScrapedMetric(this.registry, 'gauge', 'hsm_outbox_backlog', 'Outbox events not yet published to JetStream, read at most every few seconds; absent while Postgres cannot be read.', undefined, async () => {
        const s = await read();
        return s ? [['', s.outbox]] : [];
      });
    }
  }

  allocated(ok: boolean): void {
    if (ok) this.allocations.ok.inc();
    else this.allocations.error.inc();
  }

  statement(requests: number, startedMs: number): void {
    this.batchSize.observe(requests);
    this.duration.observe(secondsSince(startedMs));
  }

  recorded(outcome: RecordedOutcome, ok: boolean): void {
    const cells = this.outcomes.get(outcome);
    if (!cells) return;
    if (ok) cells.ok.inc();
    else cells.error.inc();
  }

  /**
   * The ledger counts, one statement per {@link LEDGER_CACHE_MS} at most, shared by the two gauges
   * of a scrape and by concurrent scrapes. A failed read is cached too (a scraper retrying against a
   * down database adds no load) and leaves the gauges out rather than failing the whole scrape.
   */
  private ledgerSnapshot(ledger: LedgerQuery): Promise<LedgerSnapshot | undefined> {
    const now = Date.now();
    if (this.snapshot && now - this.snapshot.at < (this.sources.ledgerCacheMs ?? LEDGER_CACHE_MS)) return this.snapshot.value;
    const value = ledger.query<{ key: string; n: number }>(LEDGER_SNAPSHOT_SQL).then(
      ({ rows }) => {
        const snapshot: LedgerSnapshot = { states: {}, outbox: 0 };
        for (const r of rows) {
          if (r.key === 'outbox') snapshot.outbox = Number(r.n);
          else snapshot.states[r.key] = Number(r.n);
        }
        return snapshot;
      },
      () => undefined,
    );
    this.snapshot = { at: now, value };
    return value;
  }
}
