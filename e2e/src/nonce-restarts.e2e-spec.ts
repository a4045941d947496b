import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JsonRpcProvider, Wallet, getAddress, type JsonRpcSigner } from 'ethers';
import { Client } from 'pg';
import { startNatsServer, startStack, type NatsServer, type Stack } from '@hsm-signer/testing';
import { result, waitForReceipt } from './support/json-rpc';
import { sleep } from './support/stack';

// Acceptance of issue 3: restart nonce-service, then drop every Postgres connection, then restart
// NATS, all during a steady stream of sends. Counted from Postgres and the chain: no duplicate nonce,
// no permanent gap, every accepted request mined, every other one answered with an error.
//
// Postgres is the machine's shared server, so it is not restarted here: its outage is every
// connection of the stack's database terminated at once (what a restart does to the clients). NATS is
// this file's own nats-server (JetStream, store kept), killed and started again on the same port.

describe('nonce lifecycle through restarts (issue 3 acceptance)', () => {
  let nats: NatsServer;
  let storeDir: string;
  let started: Stack | undefined;
  const stack = () => {
    if (!started) throw new Error('the stack did not start (see the beforeAll error above)');
    return started;
  };
  // The stack on this file's own nats-server (started first, so the test can restart it).
  beforeAll(async () => {
    storeDir = mkdtempSync(join(tmpdir(), 'hsm-e2e-nats-'));
    nats = await startNatsServer({ jetstream: true, storeDir });
    started = await startStack({
      keys: 2,
      natsUrl: nats.url,
      replicas: { 'rpc-gateway': 2, 'nonce-service': 2 },
      natsRequestTimeoutMs: 3_000,
      appEnv: { 'nonce-service': { NONCE_TRACK_INTERVAL_MS: '200', NONCE_GAP_FILL_AFTER_MS: '2000', NONCE_CONFIRMATIONS: '1', NONCE_LEASE_MS: '10000' } },
    });
  }, 240_000);
  afterAll(async () => {
    await started?.stop();
    await nats?.stop();
    if (storeDir) rmSync(storeDir, { recursive: true, force: true });
  }, 120_000);
  let pg: Client;
  const recipient = Wallet.createRandom().address;

  beforeAll(async () => {
    pg = new Client({ connectionString: stack().databaseUrl });
    pg.on('error', () => undefined);
    await pg.connect();
  });
  afterAll(async () => {
    await pg?.end();
  });

  it('a steady stream survives a nonce-service restart, a Postgres connection drop and a NATS restart', async () => {
    const from = getAddress(stack().addresses[0]);
    const lower = from.toLowerCase();
    const signers: JsonRpcSigner[] = await Promise.all(
      stack().rpcUrls.map((url) => new JsonRpcProvider(url, undefined, { staticNetwork: true, batchMaxCount: 1 }).getSigner(from)),
    );
    const minedCount = async () => Number(BigInt(await result<string>(stack().anvil.url, 'eth_getTransactionCount', [from, 'latest'])));
    const start = await minedCount();
    const accepted: string[] = [];
    const errors: string[] = [];
    let stop = false;
    const stream = (async () => {
      for (let i = 0; !stop && i < 1_000; i++) {
        const batch = await Promise.allSettled(signers.map((s) => s.sendUncheckedTransaction({ to: recipient, value: 1n, gasLimit: 21_000n })));
        for (const o of batch) {
          if (o.status === 'fulfilled') accepted.push(o.value);
          else errors.push(String(o.reason).slice(0, 160));
        }
        if (batch.some((o) => o.status === 'rejected')) await sleep(100);
      }
    })();

    await sleep(1_500);
    // 1. nonce-service: both replicas, one after the other.
    for (let r = 0; r < 2; r++) {
      await stack().stopService('nonce-service', 0);
      await stack().startService('nonce-service');
    }
    await sleep(1_500);
    // 2. Postgres: every connection of the stack's database dropped at once.
    await pg.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()');
    await sleep(1_500);
    // 3. NATS: killed, then started again on the same port with its JetStream store.
    await nats.kill();
    await sleep(1_000);
    nats = await startNatsServer({ port: nats.port, jetstream: true, storeDir });
    await sleep(3_000);
    stop = true;
    await stream;
    console.log(`[figure] stream through restarts: ${accepted.length} accepted, ${errors.length} answered with an error${errors.length ? `, e.g. ${errors[0]}` : ''}`);
    expect(accepted.length).toBeGreaterThan(20);

    // Every accepted send is in the ledger and ends mined (its own hash or a fee-bumped replacement).
    const deadline = Date.now() + 90_000;
    let state = '';
    for (;;) {
      const { rows } = await pg.query(
        `SELECT (SELECT next_nonce::int FROM nonces WHERE address = $1) AS next,
                (SELECT count(*)::int FROM transactions WHERE from_address = $1 AND status IN ('allocated','signed','submitted')) AS open,
                (SELECT count(*)::int FROM released_nonces WHERE address = $1) AS holes`,
        [lower],
      );
      const chain = await minedCount();
      state = JSON.stringify({ ...rows[0], chain });
      if (rows[0].open === 0 && rows[0].holes === 0 && rows[0].next === chain) break;
      if (Date.now() > deadline) throw new Error(`not settled: ${state}`);
      await sleep(250);
    }
    const ours = await pg.query(
      `SELECT t.hash, t.status::text, t.nonce::int FROM transactions t WHERE t.from_address = $1 AND t.nonce >= $2 AND t.live_nonce IS NOT NULL ORDER BY t.nonce`,
      [lower, start],
    );
    const attempts = await pg.query(`SELECT a.hash FROM transaction_attempts a JOIN transactions t ON t.id = a.transaction_id WHERE t.from_address = $1`, [lower]);
    const known = new Set([...ours.rows.map((r) => r.hash), ...attempts.rows.map((r) => r.hash)]);
    for (const h of accepted) expect(known.has(h)).toBe(true);
    // The ledger holds exactly one mined transaction per nonce the chain consumed since `start`.
    expect(ours.rows.map((r) => r.nonce)).toEqual(Array.from({ length: (await minedCount()) - start }, (_, i) => start + i));
    expect(ours.rows.every((r) => ['mined', 'confirmed'].includes(r.status))).toBe(true);
    for (const h of accepted.slice(-3)) {
      const r = await result<{ status: string } | null>(stack().anvil.url, 'eth_getTransactionReceipt', [h]);
      if (r) expect(r.status).toBe('0x1');
    }
    await waitForReceipt(stack().anvil.url, ours.rows.at(-1)!.hash);
  }, 240_000);
});
