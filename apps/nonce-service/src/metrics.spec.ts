/**
 * Integration: GET /metrics of nonce-service booted in-process on a real Postgres, anvil and
 * nats-server (JetStream), after allocations and outcomes requested over NATS as the gateways do.
 */
import { keccak256, Wallet } from 'ethers';
import { Client } from 'pg';
import { loadConfig, nonceServiceConfig } from '@hsm-signer/config';
import { BatchRoutes, Routes } from '@hsm-signer/contracts';
import { createLogger } from '@hsm-signer/logging';
import { NatsBus } from '@hsm-signer/messaging';
import { sampleValue, samples } from '@hsm-signer/metrics';
import { createTestDatabase, startAnvil, startNatsServer, waitFor, type AnvilNode, type NatsServer, type TestDatabase } from '@hsm-signer/testing';
import { startNonceService, type NonceService } from './app';
import { NonceMetrics, OPEN_STATES, type LedgerQuery } from './metrics';

jest.setTimeout(120_000);

const silent = createLogger('nonce-metrics-test', 'silent');

let db: TestDatabase;
let anvil: AnvilNode;
let nats: NatsServer;
let bus: NatsBus;
let pg: Client;

beforeAll(async () => {
  [db, anvil, nats] = await Promise.all([createTestDatabase(), startAnvil(), startNatsServer({ jetstream: true })]);
  bus = await NatsBus.connect({ servers: nats.url, name: 'nonce-metrics-test', requestTimeoutMs: 15_000 });
  pg = new Client({ connectionString: db.url });
  await pg.connect();
}, 60_000);

afterAll(async () => {
  await bus?.close();
  await pg?.end();
  await nats?.stop();
  await anvil?.stop();
  await db?.drop();
});

function start(env: Record<string, string>): Promise<NonceService> {
  const config = loadConfig(nonceServiceConfig, {
    DATABASE_URL: db.url,
    NATS_URL: nats.url,
    ETH_NODE_URL: anvil.url,
    NONCE_HTTP_HOST: '127.0.0.1',
    NONCE_HTTP_PORT: '0',
    LOG_LEVEL: 'silent',
    ...env,
  });
  return startNonceService(config, silent);
}

async function scrape(url: string): Promise<string> {
  const res = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5_000) });
  expect(res.status).toBe(200);
  return res.text();
}

/** The ledger as the gauges should show it, read directly. */
async function ledgerCounts(): Promise<{ states: Record<string, number>; outbox: number }> {
  const states: Record<string, number> = {};
  for (const s of OPEN_STATES) states[s] = Number((await pg.query(`SELECT count(*)::int AS n FROM transactions WHERE status = $1`, [s])).rows[0].n);
  const outbox = Number((await pg.query(`SELECT count(*)::int AS n FROM outbox_events WHERE published_at IS NULL`)).rows[0].n);
  return { states, outbox };
}

describe('nonce-service GET /metrics (tracker and relay off: the ledger stays as the requests left it)', () => {
  let service: NonceService;

  beforeAll(async () => {
    service = await start({ NONCE_TRACKER_ENABLED: 'false' });
  });

  afterAll(async () => {
    await service?.close();
  });

  it('exports every series at 0 before the first request', async () => {
    const text = await scrape(service.httpUrl);
    expect(sampleValue(text, 'hsm_nonce_allocations_total', { outcome: 'ok' })).toBe(0);
    expect(sampleValue(text, 'hsm_nonce_allocations_total', { outcome: 'error' })).toBe(0);
    expect(sampleValue(text, 'hsm_nonce_allocation_batch_size_count')).toBe(0);
    expect(sampleValue(text, 'hsm_nonce_record_outcomes_total', { outcome: 'abandoned', result: 'error' })).toBe(0);
    expect(sampleValue(text, 'hsm_tracker_rounds_total', { outcome: 'ok' })).toBe(0);
    expect(sampleValue(text, 'hsm_outbox_published_total')).toBe(0);
    expect(sampleValue(text, 'hsm_outbox_backlog')).toBe(0);
    for (const state of OPEN_STATES) expect(sampleValue(text, 'hsm_nonce_transactions', { state })).toBe(0);
    expect(sampleValue(text, 'hsm_process_resident_memory_bytes')).toBeGreaterThan(0);
  });

  it('counts allocations, their statements and batch sizes, and recorded outcomes; the gauges follow the ledger; no address or id becomes a label', async () => {
    const chainId = anvil.chainId;
    const wallet = Wallet.createRandom();
    const address = wallet.address.toLowerCase();
    const before = { ...service.allocator.stats };

    // One turn's allocations in one batched message (as the gateways send them): they share statements.
    const batch = await Promise.all(Array.from({ length: 6 }, () => bus.requestBatched(BatchRoutes.nonceAllocate, { chainId, address })));
    const single = await bus.request(Routes.nonceAllocate, { chainId, address });
    // Refused: a chain this node is not on (the account cannot be seeded).
    await expect(bus.request(Routes.nonceAllocate, { chainId: chainId + 1, address })).rejects.toThrow();
    const statements = service.allocator.stats.batches - before.batches;
    const requests = service.allocator.stats.requests - before.requests;
    expect(requests).toBe(8);

    const [a, b, c, d] = batch;
    const signedRaw = async (nonce: number) => {
      const raw = await wallet.signTransaction({ type: 2, chainId, nonce, to: '0x' + '11'.repeat(20), value: 1n, gasLimit: 21_000n, maxFeePerGas: 10n ** 10n, maxPriorityFeePerGas: 10n ** 9n });
      return { raw, hash: keccak256(raw) };
    };
    // Two submitted through the batched route (one statement), one signed, one abandoned, two refused.
    await Promise.all([a!, b!].map(async (x) => bus.requestBatched(BatchRoutes.nonceRecordOutcome, { transactionId: x.transactionId, outcome: 'submitted', ...(await signedRaw(x.nonce)) })));
    await bus.request(Routes.nonceRecordOutcome, { transactionId: c!.transactionId, outcome: 'signed', ...(await signedRaw(c!.nonce)) });
    await bus.request(Routes.nonceRecordOutcome, { transactionId: d!.transactionId, outcome: 'abandoned', error: 'test' });
    // Refused: its nonce is released, it cannot be signed any more.
    await expect(bus.request(Routes.nonceRecordOutcome, { transactionId: d!.transactionId, outcome: 'signed', ...(await signedRaw(d!.nonce)) })).rejects.toThrow();
    await expect(
      bus.requestBatched(BatchRoutes.nonceRecordOutcome, { transactionId: '00000000-0000-4000-8000-000000000000', outcome: 'submitted', hash: '0x' + '22'.repeat(32) }),
    ).rejects.toThrow();

    const text = await scrape(service.httpUrl);
    expect(sampleValue(text, 'hsm_nonce_allocations_total', { outcome: 'ok' })).toBe(7);
    expect(sampleValue(text, 'hsm_nonce_allocations_total', { outcome: 'error' })).toBe(1);
    // Every statement is observed once, and together they served every queued request (the first
    // ones found the account unknown and asked again once it was seeded).
    expect(statements).toBeGreaterThan(0);
    expect(sampleValue(text, 'hsm_nonce_allocation_batch_size_count')).toBe(statements);
    expect(sampleValue(text, 'hsm_nonce_allocation_duration_seconds_count')).toBe(statements);
    // Each queued request went into a statement at least once (8 requests; the first sighting of the account twice).
    expect(sampleValue(text, 'hsm_nonce_allocation_batch_size_sum')).toBeGreaterThanOrEqual(requests);
    expect(sampleValue(text, 'hsm_nonce_allocation_batch_size_bucket', { le: '1' })).toBeLessThan(statements); // some statement served several
    expect(sampleValue(text, 'hsm_nonce_record_outcomes_total', { outcome: 'submitted', result: 'ok' })).toBe(2);
    expect(sampleValue(text, 'hsm_nonce_record_outcomes_total', { outcome: 'submitted', result: 'error' })).toBe(1);
    expect(sampleValue(text, 'hsm_nonce_record_outcomes_total', { outcome: 'signed', result: 'ok' })).toBe(1);
    expect(sampleValue(text, 'hsm_nonce_record_outcomes_total', { outcome: 'abandoned', result: 'ok' })).toBe(1);
    expect(sampleValue(text, 'hsm_nonce_record_outcomes_total', { outcome: 'signed', result: 'error' })).toBe(1);
    expect(sampleValue(text, 'hsm_nonce_record_outcomes_total', { outcome: 'abandoned', result: 'error' })).toBe(0);
    expect(sampleValue(text, 'hsm_nonce_record_outcomes_total', { outcome: 'rejected', result: 'ok' })).toBe(0);

    // The gauges were last read at the first scrape (< LEDGER_CACHE_MS ago, maybe): wait for a fresh read.
    const expected = await ledgerCounts();
    expect(expected.states).toEqual({ allocated: 3, signed: 1, submitted: 2, mined: 0 });
    expect(expected.outbox).toBeGreaterThan(0); // the relay is off
    const fresh = await waitFor(
      'the ledger gauges to show the new rows',
      async () => {
        const t = await scrape(service.httpUrl);
        return sampleValue(t, 'hsm_nonce_transactions', { state: 'submitted' }) === 2 ? t : undefined;
      },
      20_000,
      250,
    );
    for (const state of OPEN_STATES) expect(sampleValue(fresh, 'hsm_nonce_transactions', { state })).toBe(expected.states[state]);
    expect(sampleValue(fresh, 'hsm_outbox_backlog')).toBe(expected.outbox);

    const labels = samples(fresh).flatMap((s) => Object.values(s.labels));
    for (const secret of [address, wallet.address, single.transactionId, a!.transactionId, String(chainId)]) expect(labels).not.toContain(secret);
  });
});

describe('nonce-service GET /metrics with the tracker and the outbox relay running', () => {
  it('counts tracker rounds and published events; the backlog empties', async () => {
    const service = await start({ NONCE_TRACK_INTERVAL_MS: '100', NONCE_OUTBOX_INTERVAL_MS: '50', NONCE_TRACKER_ENABLED: 'true' });
    try {
      // The first describe left unpublished events behind; this replica relays them.
      const text = await waitFor(
        'tracker rounds and the outbox relayed',
        async () => {
          const t = await scrape(service.httpUrl);
          const ok = (sampleValue(t, 'hsm_tracker_rounds_total', { outcome: 'ok' }) ?? 0) > 0;
          const published = (sampleValue(t, 'hsm_outbox_published_total') ?? 0) > 0;
          return ok && published && sampleValue(t, 'hsm_outbox_backlog') === 0 ? t : undefined;
        },
        30_000,
        250,
      );
      expect(sampleValue(text, 'hsm_outbox_published_total')).toBe(service.relay!.stats.published);
      expect(sampleValue(text, 'hsm_outbox_relay_failures_total')).toBe(service.relay!.stats.failures);
      expect(sampleValue(text, 'hsm_tracker_rounds_total', { outcome: 'error' })).toBe(service.tracker.stats.roundsFailed);
      for (const name of ['hsm_tracker_resends_total', 'hsm_tracker_replacements_total', 'hsm_tracker_gap_fills_total', 'hsm_tracker_reaped_total', 'hsm_tracker_reorgs_total']) {
        expect(sampleValue(text, name)).toBeGreaterThanOrEqual(0);
      }
      expect((await ledgerCounts()).outbox).toBe(0);
    } finally {
      await service.close();
    }
  });
});

describe('NonceMetrics ledger gauges', () => {
  it('read the ledger once per cache period for every scrape, and leave the gauges out while it fails', async () => {
    let queries = 0;
    let fail = false;
    const ledger: LedgerQuery = {
      query: async <R>() => {
        queries++;
        if (fail) throw new Error('database unreachable');
        return { rows: [{ key: 'submitted', n: 4 }, { key: 'outbox', n: 9 }] as R[] };
      },
    };
    const cached = new NonceMetrics({ ledger, ledgerCacheMs: 60_000 });
    const scrapes = await Promise.all([cached.registry.metrics(), cached.registry.metrics(), cached.registry.metrics()]);
    expect(queries).toBe(1);
    for (const text of scrapes) {
      expect(sampleValue(text, 'hsm_nonce_transactions', { state: 'submitted' })).toBe(4);
      expect(sampleValue(text, 'hsm_nonce_transactions', { state: 'allocated' })).toBe(0);
      expect(sampleValue(text, 'hsm_outbox_backlog')).toBe(9);
    }

    const uncached = new NonceMetrics({ ledger, ledgerCacheMs: 0 });
    fail = true;
    const text = await uncached.registry.metrics();
    expect(sampleValue(text, 'hsm_nonce_transactions', { state: 'submitted' })).toBeUndefined();
    expect(sampleValue(text, 'hsm_outbox_backlog')).toBeUndefined();
    expect(sampleValue(text, 'hsm_nonce_allocations_total', { outcome: 'ok' })).toBe(0); // the rest of the scrape is there
    fail = false;
    expect(sampleValue(await uncached.registry.metrics(), 'hsm_outbox_backlog')).toBe(9);
  });
});

describe('nonce-service with METRICS_ENABLED=false', () => {
  it('has no GET /metrics (404) while /health answers', async () => {
    const service = await start({ NONCE_TRACKER_ENABLED: 'false', METRICS_ENABLED: 'false' });
    try {
      expect((await fetch(`${service.httpUrl}/metrics`, { signal: AbortSignal.timeout(5_000) })).status).toBe(404);
      expect((await fetch(`${service.httpUrl}/health`, { signal: AbortSignal.timeout(5_000) })).status).toBe(200);
    } finally {
      await service.close();
    }
  });
});
