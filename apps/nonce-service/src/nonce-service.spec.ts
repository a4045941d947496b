import { Wallet, keccak256, toUtf8Bytes } from 'ethers';
import { Client } from 'pg';
import { loadConfig, nonceServiceConfig } from '@hsm-signer/config';
import { ErrorCode, Routes } from '@hsm-signer/contracts';
import { createLogger } from '@hsm-signer/logging';
import { NatsBus, RemoteServiceError } from '@hsm-signer/messaging';
import { createDatabase, NonceLedger } from '@hsm-signer/persistence';
import { createTestDatabase, startAnvil, startNatsServer, type AnvilNode, type NatsServer, type TestDatabase } from '@hsm-signer/testing';
import { startNonceService, type NonceService } from './app';
import { ChainReader } from './node-client';
import { NonceAllocator } from './nonce-allocator';

// Real Postgres / NATS / anvil on a shared 2-core machine: allow for slow moments.
jest.setTimeout(120_000);

// anvil's dev accounts #1..#3 (unlocked on every anvil chain): their keys are public test keys.
const DEV = [
  { address: '0x70997970c51812dc3a010c7d01b50e0d17dc79c8', key: '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d' },
  { address: '0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc', key: '0x5de4111afa1a4b94908f83103eb1d1706367c2e68ca870fc3fb9a804cdab365a' },
  { address: '0x90f79bf6eb2c4f870365e785982e1f101e93b906', key: '0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6' },
];
const random = () => Wallet.createRandom().address.toLowerCase();

describe('nonce-service (2 replicas, real Postgres, anvil and nats-server)', () => {
  let db: TestDatabase;
  let anvil: AnvilNode;
  let nats: NatsServer;
  let replicas: NonceService[] = [];
  let bus: NatsBus;
  let pg: Client;
  let chainId: number;

  const allocate = (address: string, extra: { requestId?: string; fixedNonce?: number; payloadHash?: string } = {}) =>
    bus.request(Routes.nonceAllocate, { chainId, address, ...extra });
  const record = (transactionId: string, outcome: 'submitted' | 'rejected' | 'abandoned', extra: { hash?: string; raw?: string; error?: string } = {}) =>
    bus.request(Routes.nonceRecordOutcome, { transactionId, outcome, ...extra });
  const codeOf = (promise: Promise<unknown>) => promise.then(() => 'resolved', (e) => (e instanceof RemoteServiceError ? e.code : `not remote: ${e}`));
  const signedAt = async (key: string, nonce: number) => {
    const raw = await new Wallet(key).signTransaction({ type: 2, chainId, nonce, to: DEV[0].address, value: 1n, gasLimit: 21_000n, maxFeePerGas: 2_000_000_000n, maxPriorityFeePerGas: 1n });
    return { raw, hash: keccak256(raw) };
  };

  beforeAll(async () => {
    [db, anvil, nats] = await Promise.all([createTestDatabase(), startAnvil(), startNatsServer()]);
    chainId = anvil.chainId;
    const config = loadConfig(nonceServiceConfig, {
      DATABASE_URL: db.url,
      NATS_URL: nats.url,
      ETH_NODE_URL: anvil.url,
      NONCE_HTTP_HOST: '127.0.0.1',
      NONCE_HTTP_PORT: '0',
      NONCE_MAX_FIXED_GAP: '20',
    });
    const logger = createLogger('nonce-service-test', 'error');
    // Both replicas start at the same moment: the migrations must be applied once.
    replicas = await Promise.all([
      startNonceService({ ...config, serviceName: 'nonce-a' }, logger),
      startNonceService({ ...config, serviceName: 'nonce-b' }, logger),
    ]);
    bus = await NatsBus.connect({ servers: nats.url, name: 'nonce-service-spec', requestTimeoutMs: 15_000 });
    pg = new Client({ connectionString: db.url });
    await pg.connect();
  }, 60_000);

  afterAll(async () => {
    await bus?.close();
    await pg?.end();
    for (const r of replicas) await r.close();
    await nats?.stop();
    await anvil?.stop();
    await db?.drop();
  });

  afterEach(async () => {
    // The invariant behind every test: no two live transactions share (chain, from, nonce).
    const { rows } = await pg.query(
      `SELECT chain_id, from_address, nonce, count(*) FROM transactions WHERE status NOT IN ('rejected','abandoned','replaced') GROUP BY 1,2,3 HAVING count(*) > 1`,
    );
    expect(rows).toEqual([]);
  });

  it('serves /health on each replica and applied the migrations once', async () => {
    for (const r of replicas) {
      const res = await fetch(`${r.httpUrl}/health`);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ ok: true, service: 'nonce-service' });
    }
    const { rows } = await pg.query('SELECT migration_name FROM "_prisma_migrations"');
    expect(rows.length).toBeGreaterThan(0);
    expect(new Set(rows.map((r) => r.migration_name)).size).toBe(rows.length);
  });

  it('starts a new account at the node’s pending transaction count', async () => {
    // Two mined transactions from dev account #1 …
    for (let i = 0; i < 2; i++) await anvil.rpc('eth_sendTransaction', [{ from: DEV[0].address, to: DEV[1].address, value: '0x1' }]);
    expect((await allocate(DEV[0].address)).nonce).toBe(2);
    // … and one that is only pending (mining off): pending, not latest, is the start.
    await anvil.rpc('evm_setAutomine', [false]);
    try {
      await anvil.rpc('eth_sendTransaction', [{ from: DEV[1].address, to: DEV[0].address, value: '0x1' }]);
      expect(await anvil.rpc('eth_getTransactionCount', [DEV[1].address, 'latest'])).toBe('0x0');
      expect((await allocate(DEV[1].address)).nonce).toBe(1);
    } finally {
      await anvil.rpc('evm_setAutomine', [true]);
    }
    const { rows } = await pg.query('SELECT next_nonce::int, chain_nonce::int FROM nonces WHERE address = $1', [DEV[1].address]);
    expect(rows).toEqual([{ next_nonce: 2, chain_nonce: 1 }]);
  });

  it('hands out 200 contiguous nonces for one account to 200 concurrent requests over both replicas', async () => {
    const address = random();
    const calls = replicas.map((r) => jest.spyOn(r.allocator, 'allocate'));
    const before = replicas.map((r) => ({ ...r.allocator.stats }));
    const started = Date.now();
    const replies = await Promise.all(Array.from({ length: 200 }, () => allocate(address)));
    const elapsed = Date.now() - started;
    const nonces = replies.map((r) => r.nonce).sort((a, b) => a - b);
    expect(nonces).toEqual(Array.from({ length: 200 }, (_, i) => i));
    expect(new Set(replies.map((r) => r.transactionId)).size).toBe(200);
    // Both replicas took part (queue group), so the serialisation really happened in Postgres.
    for (const c of calls) expect(c.mock.calls.length).toBeGreaterThan(0);
    calls.forEach((c) => c.mockRestore());
    // Concurrent requests for the account were coalesced: fewer statements than requests.
    const requests = replicas.reduce((n, r, i) => n + r.allocator.stats.requests - before[i].requests, 0);
    const batches = replicas.reduce((n, r, i) => n + r.allocator.stats.batches - before[i].batches, 0);
    expect(requests).toBe(200);
    expect(batches).toBeLessThan(200);
    const { rows } = await pg.query(
      `SELECT count(*)::int AS n, count(DISTINCT nonce)::int AS d, min(nonce)::int AS lo, max(nonce)::int AS hi FROM transactions WHERE from_address = $1 AND status = 'allocated'`,
      [address],
    );
    expect(rows[0]).toEqual({ n: 200, d: 200, lo: 0, hi: 199 });
    expect((await pg.query('SELECT next_nonce::int FROM nonces WHERE address = $1', [address])).rows[0].next_nonce).toBe(200);
    console.log(`[figure] 200 concurrent allocations, one account, 2 replicas: ${elapsed} ms (${Math.round(200_000 / elapsed)} /s incl. NATS), ${batches} statements`);
  });

  it('coalesces concurrent requests of many accounts into few statements, seeding the new accounts in parallel', async () => {
    const addresses = Array.from({ length: 50 }, random);
    const before = replicas.map((r) => ({ ...r.allocator.stats }));
    // 4 requests per account, interleaved, all accounts new (each is seeded from the node once).
    const replies = await Promise.all(Array.from({ length: 200 }, (_, i) => allocate(addresses[i % 50]).then((r) => ({ address: addresses[i % 50], nonce: r.nonce }))));
    for (const address of addresses) {
      expect(replies.filter((r) => r.address === address).map((r) => r.nonce).sort((a, b) => a - b)).toEqual([0, 1, 2, 3]);
    }
    const requests = replicas.reduce((n, r, i) => n + r.allocator.stats.requests - before[i].requests, 0);
    const statements = replicas.reduce((n, r, i) => n + r.allocator.stats.batches - before[i].batches, 0);
    expect(requests).toBe(200);
    // Coalescing per account needs two statements per new account (unknown, then after seeding): 100
    // at least. Across accounts, the batches carry many accounts each.
    expect(statements).toBeLessThan(100);
    console.log(`[figure] 200 concurrent allocations over 50 new accounts, 2 replicas: ${statements} statements`);

    // One request id twice in one batch, for two accounts: the first gets the nonce, the second is refused.
    const [a, b] = addresses;
    const [first, second] = await Promise.allSettled([
      replicas[0].allocator.allocate({ chainId, address: a, requestId: 'req-two-accounts' }),
      replicas[0].allocator.allocate({ chainId, address: b, requestId: 'req-two-accounts' }),
    ]);
    expect(first).toMatchObject({ status: 'fulfilled', value: { nonce: 4 } });
    expect(second).toMatchObject({ status: 'rejected', reason: { code: ErrorCode.RequestIdReused } });
  });

  it('reuses released nonces, lowest first, before the counter', async () => {
    const address = random();
    const [a, b, c, d] = await Promise.all([0, 1, 2, 3].map(() => allocate(address))).then((r) => r.sort((x, y) => x.nonce - y.nonce));
    expect([a.nonce, b.nonce, c.nonce, d.nonce]).toEqual([0, 1, 2, 3]);
    await record(c.transactionId, 'rejected', { error: 'insufficient funds for gas * price + value' });
    await record(b.transactionId, 'abandoned', { error: 'signing failed' });
    // Recording the same outcome twice is harmless; a different one is refused.
    await record(b.transactionId, 'abandoned');
    expect(await codeOf(record(b.transactionId, 'rejected'))).toBe(ErrorCode.NonceConflict);

    expect((await allocate(address)).nonce).toBe(1);
    expect((await allocate(address)).nonce).toBe(2);
    expect((await allocate(address)).nonce).toBe(4);
    const { rows } = await pg.query(`SELECT nonce::int, status, nonce_source, error FROM transactions WHERE from_address = $1 ORDER BY nonce, created_at`, [address]);
    expect(rows).toEqual([
      { nonce: 0, status: 'allocated', nonce_source: 'counter', error: null },
      { nonce: 1, status: 'abandoned', nonce_source: 'counter', error: 'signing failed' },
      { nonce: 1, status: 'allocated', nonce_source: 'reused', error: null },
      { nonce: 2, status: 'rejected', nonce_source: 'counter', error: 'insufficient funds for gas * price + value' },
      { nonce: 2, status: 'allocated', nonce_source: 'reused', error: null },
      { nonce: 3, status: 'allocated', nonce_source: 'counter', error: null },
      { nonce: 4, status: 'allocated', nonce_source: 'counter', error: null },
    ]);
    // A submitted transaction cannot be released afterwards, and a released one cannot be submitted.
    const { raw, hash } = await signedAt(DEV[2].key, 0);
    expect(await codeOf(record(c.transactionId, 'submitted', { hash, raw }))).toBe(ErrorCode.NonceConflict);
  });

  it('honours a fixed nonce, moves past it and fills the nonces it skipped first', async () => {
    const address = random();
    expect((await allocate(address)).nonce).toBe(0);
    const fixed = await allocate(address, { fixedNonce: 3 });
    expect(fixed.nonce).toBe(3);
    expect((await Promise.all([allocate(address), allocate(address)])).map((r) => r.nonce).sort()).toEqual([1, 2]);
    expect((await allocate(address)).nonce).toBe(4);
    // A nonce a live transaction holds is refused …
    expect(await codeOf(allocate(address, { fixedNonce: 3 }))).toBe(ErrorCode.NonceConflict);
    // … a released one is taken back by the fixed request …
    await record(fixed.transactionId, 'rejected');
    expect((await allocate(address, { fixedNonce: 3 })).nonce).toBe(3);
    expect((await allocate(address)).nonce).toBe(5);
    // … and one far beyond the counter is refused rather than opening a long gap.
    expect(await codeOf(allocate(address, { fixedNonce: 500 }))).toBe(ErrorCode.NonceConflict);
    const { rows } = await pg.query(`SELECT nonce_source, count(*)::int AS n FROM transactions WHERE from_address = $1 AND live_nonce IS NOT NULL GROUP BY 1 ORDER BY 1`, [address]);
    expect(rows).toEqual([
      { nonce_source: 'counter', n: 3 },
      { nonce_source: 'reused', n: 2 },
      { nonce_source: 'fixed', n: 1 },
    ]);
  });

  it('is idempotent per request id, also under concurrency, and refuses another payload under it', async () => {
    const address = random();
    const payloadHash = keccak256(toUtf8Bytes('payload-1'));
    // Ten at once: one gets the nonce; the other nine wait for its send and get its hash (never the
    // same nonce to sign again, which would be a second transaction or a collision).
    const replies = Array.from({ length: 10 }, () => allocate(address, { requestId: 'req-idem-1', payloadHash }));
    const first = await Promise.race(replies);
    expect(first.existingHash).toBeUndefined();
    expect((await allocate(address)).nonce).toBe(first.nonce + 1);

    const { raw, hash } = await signedAt(DEV[2].key, first.nonce);
    await record(first.transactionId, 'submitted', { hash, raw });
    await record(first.transactionId, 'submitted', { hash, raw }); // repeated report: no-op
    const all = await Promise.all(replies);
    expect(all.filter((r) => r.existingHash === hash)).toHaveLength(9);
    expect(new Set(all.map((r) => `${r.transactionId}/${r.nonce}`)).size).toBe(1);
    const again = await allocate(address, { requestId: 'req-idem-1', payloadHash });
    expect(again).toEqual({ transactionId: first.transactionId, nonce: first.nonce, existingHash: hash, leaseMs: 30_000 });
    expect(await codeOf(allocate(address, { requestId: 'req-idem-1', payloadHash: keccak256(toUtf8Bytes('other')) }))).toBe(ErrorCode.RequestIdReused);
    expect(await codeOf(allocate(random(), { requestId: 'req-idem-1' }))).toBe(ErrorCode.RequestIdReused);

    const { rows } = await pg.query(`SELECT status, hash, raw, type, fields, attempts FROM transactions WHERE id = $1`, [first.transactionId]);
    expect(rows[0]).toMatchObject({ status: 'submitted', hash, raw, type: 2, attempts: 1 });
    expect(rows[0].fields).toMatchObject({ to: DEV[0].address, value: '0x1', gasLimit: '0x5208', maxFeePerGas: '0x77359400' });
    expect((await pg.query(`SELECT count(*)::int AS n FROM transactions WHERE request_id = 'req-idem-1'`)).rows[0].n).toBe(1);
  });

  it('does not hand out again a nonce the chain consumed outside the system, and moves the counter up to the chain', async () => {
    // anvil dev account #4, seen by the ledger first, then used directly on the node.
    const external = '0x15d34aaf54267db7d7c367839aaf71a00a2c6a65';
    const [ours, next] = [await allocate(external), await allocate(external)];
    expect([ours.nonce, next.nonce]).toEqual([0, 1]);
    for (let i = 0; i < 3; i++) await anvil.rpc('eth_sendTransaction', [{ from: external, to: DEV[0].address, value: '0x1' }]);
    // Our nonce-0 transaction is refused by the node as "nonce too low".
    await record(ours.transactionId, 'rejected', { error: 'nonce too low: next nonce 3, tx nonce 0' });
    expect((await allocate(external)).nonce).toBe(3);
    const { rows } = await pg.query('SELECT next_nonce::int, chain_nonce::int FROM nonces WHERE address = $1', [external]);
    expect(rows).toEqual([{ next_nonce: 4, chain_nonce: 3 }]);
    expect((await pg.query('SELECT nonce FROM released_nonces WHERE address = $1', [external])).rows).toEqual([]);
    // A rejection at or above the chain count still gives the nonce back.
    const third = await allocate(external);
    await record(third.transactionId, 'rejected', { error: 'insufficient funds for gas * price + value' });
    expect((await allocate(external)).nonce).toBe(third.nonce);
  });

  it('lets a client retry under the same request id after its transaction was rejected, reusing the nonce', async () => {
    const address = random();
    const first = await allocate(address, { requestId: 'req-retry-1' });
    await record(first.transactionId, 'rejected', { error: 'insufficient funds' });
    const retry = await allocate(address, { requestId: 'req-retry-1' });
    expect(retry.transactionId).not.toBe(first.transactionId);
    expect(retry.nonce).toBe(first.nonce);
  });

  it('checks recorded outcomes against the ledger', async () => {
    const address = random();
    const tx = await allocate(address);
    const wrongNonce = await signedAt(DEV[2].key, tx.nonce + 7);
    expect(await codeOf(record(tx.transactionId, 'submitted', wrongNonce))).toBe(ErrorCode.NonceConflict);
    const right = await signedAt(DEV[2].key, tx.nonce);
    expect(await codeOf(record(tx.transactionId, 'submitted', { raw: right.raw, hash: wrongNonce.hash }))).toBe(ErrorCode.InvalidRequest);
    expect(await codeOf(record(tx.transactionId, 'submitted', { raw: '0x1234', hash: right.hash }))).toBe(ErrorCode.InvalidRequest);
    expect(await codeOf(record(tx.transactionId, 'submitted'))).toBe(ErrorCode.InvalidRequest);
    expect(await codeOf(record('4b0c8a44-2f0e-4d7c-9a65-53d1b2a3c001', 'abandoned'))).toBe(ErrorCode.TransactionNotFound);
    expect(await codeOf(record('not-a-uuid', 'abandoned'))).toBe(ErrorCode.TransactionNotFound);
    expect(await codeOf(bus.request(Routes.nonceAllocate, { chainId: chainId + 1, address }))).toBe(ErrorCode.InvalidRequest);
    await record(tx.transactionId, 'submitted', right);
  });

  it('keeps allocating after Postgres drops every connection of the replicas', async () => {
    const address = random();
    expect((await allocate(address)).nonce).toBe(0);
    await pg.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()');
    await new Promise((r) => setTimeout(r, 200));
    const after = await Promise.all(Array.from({ length: 10 }, () => allocate(address)));
    expect(after.map((r) => r.nonce).sort((a, b) => a - b)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
    for (const r of replicas) expect((await fetch(`${r.httpUrl}/health`)).status).toBe(200);
  });

  it('answers NodeUnavailable for a new account when the node is down, and works for known accounts', async () => {
    const database = createDatabase(db.url, { poolSize: 2 });
    try {
      const known = random();
      const before = await allocate(known);
      const allocator = new NonceAllocator(new NonceLedger(database.pool, { leaseMs: 30_000 }), new ChainReader('http://127.0.0.1:1', 500), { maxBatch: 10, maxFixedNonceGap: 10 });
      await expect(allocator.allocate({ chainId, address: random() })).rejects.toMatchObject({ code: ErrorCode.NodeUnavailable });
      expect((await allocator.allocate({ chainId, address: known })).nonce).toBe(before.nonce + 1);
    } finally {
      await database.close();
    }
  });
});
