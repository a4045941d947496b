import { JsonRpcProvider, Wallet, getAddress, type JsonRpcSigner } from 'ethers';
import { Client } from 'pg';
import { Routes } from '@hsm-signer/contracts';
import { NatsBus } from '@hsm-signer/messaging';
import { call, result, waitForReceipt } from './support/json-rpc';
import { sleep, useStack } from './support/stack';

// Acceptance of issue 3 (nonce management and transaction lifecycle) on the whole stack: 2
// rpc-gateway and 2 nonce-service replicas, real SoftHSM2 keys, Postgres, NATS and anvil. Every
// invariant is counted from Postgres and the chain, never from in-memory counters
// (research/nonce-and-lifecycle.md §7.5 "harness lesson").

// The production default. Shorter leases end while a send is still queued at the one SoftHSM signer
// under the 1,000-send storm: the slot is then filled by a self-transfer and the send retried at a
// later nonce (no failure, no gap, but the client's nonces are no longer contiguous).
const LEASE_MS = 30_000;
const GAP_FILL_AFTER_MS = 2_000;

describe('nonce lifecycle across replicas (issue 3 acceptance)', () => {
  const stack = useStack({
    keys: 24,
    fundEth: '100',
    replicas: { 'rpc-gateway': 2, 'nonce-service': 2 },
    appEnv: {
      'nonce-service': {
        NONCE_LEASE_MS: String(LEASE_MS),
        NONCE_TRACK_INTERVAL_MS: '200',
        NONCE_GAP_FILL_AFTER_MS: String(GAP_FILL_AFTER_MS),
        NONCE_STUCK_AFTER_MS: '5000',
        NONCE_CONFIRMATIONS: '1',
      },
    },
    readyTimeoutMs: 180_000,
  });
  let hsm: string[];
  let pg: Client;
  const recipient = Wallet.createRandom().address;

  beforeAll(async () => {
    hsm = stack().addresses.map((a) => getAddress(a));
    pg = new Client({ connectionString: stack().databaseUrl });
    pg.on('error', () => undefined); // the stack drops the database at the end
    await pg.connect();
  });
  afterAll(async () => {
    await pg?.end();
  });

  const anvilRpc = <T>(method: string, params: unknown[] = []) => result<T>(stack().anvil.url, method, params);
  const minedCount = async (address: string) => Number(BigInt(await anvilRpc<string>('eth_getTransactionCount', [address, 'latest'])));
  const signers = async (address: string): Promise<JsonRpcSigner[]> =>
    Promise.all(stack().rpcUrls.slice(0, 2).map((url) => new JsonRpcProvider(url, undefined, { staticNetwork: true, batchMaxCount: 1 }).getSigner(address)));

  /** Nonces of the given hashes as the chain has them. */
  async function chainNonces(hashes: string[]): Promise<number[]> {
    const out: number[] = [];
    for (let i = 0; i < hashes.length; i += 50) {
      const txs = await Promise.all(hashes.slice(i, i + 50).map((h) => anvilRpc<{ nonce: string } | null>('eth_getTransactionByHash', [h])));
      for (const tx of txs) {
        if (!tx) throw new Error('a returned hash is unknown to the node');
        out.push(Number(BigInt(tx.nonce)));
      }
    }
    return out.sort((a, b) => a - b);
  }

  /**
   * The receipt of the accepted send `hash`, or of the fee-bumped replacement that took its nonce
   * (the ledger keeps earlier versions in transaction_attempts), re-read until mined; bounded.
   */
  async function minedVersion(hash: string, timeoutMs: number): Promise<{ hash: string; status: string }> {
    const deadline = Date.now() + timeoutMs;
    let current = hash.toLowerCase();
    while (Date.now() < deadline) {
      const { rows } = await pg.query<{ hash: string | null }>(
        `SELECT t.hash FROM transactions t WHERE t.hash = $1 OR t.id = (SELECT transaction_id FROM transaction_attempts WHERE hash = $1)`,
        [hash.toLowerCase()],
      );
      if (rows[0]?.hash) current = rows[0].hash;
      const receipt = await anvilRpc<{ status: string } | null>('eth_getTransactionReceipt', [current]);
      if (receipt) return { hash: current, status: receipt.status };
      await sleep(200);
    }
    throw new Error(`neither ${hash} nor a replacement mined within ${timeoutMs} ms (last seen ${current})`);
  }

  /** Ledger and chain agree: nothing open, and the chain's count equals the ledger's next nonce. */
  async function settled(address: string, timeoutMs = 30_000): Promise<void> {
    const a = address.toLowerCase();
    const deadline = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < deadline) {
      const { rows } = await pg.query(
        `SELECT (SELECT next_nonce::int FROM nonces WHERE address = $1) AS next,
                (SELECT count(*)::int FROM transactions WHERE from_address = $1 AND status IN ('allocated','signed','submitted')) AS open,
                (SELECT count(*)::int FROM released_nonces WHERE address = $1) AS holes`,
        [a],
      );
      const chain = await minedCount(address);
      last = JSON.stringify({ ...rows[0], chain });
      if (rows[0].open === 0 && rows[0].holes === 0 && rows[0].next === chain) return;
      await sleep(200);
    }
    throw new Error(`account ${address} not settled within ${timeoutMs} ms: ${last}`);
  }

  async function noDuplicateLiveNonce(): Promise<void> {
    const { rows } = await pg.query(`SELECT from_address, nonce FROM transactions WHERE live_nonce IS NOT NULL GROUP BY 1, 2 HAVING count(*) > 1`);
    expect(rows).toEqual([]);
  }

  it('storm: 500 concurrent eth_sendTransaction from one account over both gateways → 500 contiguous nonces, all mined', async () => {
    const from = hsm[0];
    const start = await minedCount(from);
    const [s0, s1] = await signers(from);
    const started = Date.now();
    const outcomes = await Promise.allSettled(Array.from({ length: 500 }, (_, i) => (i % 2 ? s1 : s0).sendUncheckedTransaction({ to: recipient, value: 1n, gasLimit: 21_000n })));
    const elapsed = Date.now() - started;
    const failures = outcomes.filter((o) => o.status === 'rejected');
    expect(failures.map((f) => String((f as PromiseRejectedResult).reason).slice(0, 200))).toEqual([]);
    const hashes = outcomes.map((o) => (o as PromiseFulfilledResult<string>).value);
    expect(new Set(hashes).size).toBe(500);
    expect(await chainNonces(hashes)).toEqual(Array.from({ length: 500 }, (_, i) => start + i));
    await settled(from, 60_000);
    expect(await minedCount(from)).toBe(start + 500);
    console.log(`[figure] storm 1 account × 500 over 2 gateways: ${elapsed} ms (${Math.round(500_000 / elapsed)} tx/s accepted)`);
    await noDuplicateLiveNonce();
  }, 300_000);

  it('storm: 20 accounts × 50 concurrent → per account contiguous and all mined', async () => {
    const accounts = hsm.slice(1, 21);
    const starts = await Promise.all(accounts.map(minedCount));
    const perAccount = await Promise.all(accounts.map((a) => signers(a)));
    const started = Date.now();
    const outcomes = await Promise.all(
      accounts.map((_, k) => Promise.allSettled(Array.from({ length: 50 }, (_, i) => perAccount[k][i % 2].sendUncheckedTransaction({ to: recipient, value: 1n, gasLimit: 21_000n })))),
    );
    const elapsed = Date.now() - started;
    for (let k = 0; k < accounts.length; k++) {
      const failures = outcomes[k].filter((o) => o.status === 'rejected');
      expect(failures.map((f) => String((f as PromiseRejectedResult).reason).slice(0, 200))).toEqual([]);
      const hashes = outcomes[k].map((o) => (o as PromiseFulfilledResult<string>).value);
      expect(await chainNonces(hashes)).toEqual(Array.from({ length: 50 }, (_, i) => starts[k] + i));
    }
    for (const a of accounts) await settled(a, 60_000);
    console.log(`[figure] storm 20 accounts × 50 over 2 gateways: ${elapsed} ms (${Math.round(1_000_000 / elapsed)} tx/s accepted)`);
    await noDuplicateLiveNonce();
  }, 300_000);

  it('the key used outside the system between two sends: the next send succeeds without an error to the client', async () => {
    const from = hsm[21];
    const [s0] = await signers(from);
    const first = await s0.sendUncheckedTransaction({ to: recipient, value: 1n, gasLimit: 21_000n });
    await waitForReceipt(stack().anvil.url, first);
    // Signed through signer-service (same key), sent straight to anvil: the ledger never saw it.
    const bus = await NatsBus.connect({ servers: stack().natsUrl, name: 'e2e-external', requestTimeoutMs: 10_000 });
    try {
      const { account } = await bus.request(Routes.accountsResolve, { address: from.toLowerCase() });
      expect(account).not.toBeNull();
      const nonce = await minedCount(from);
      const block = await anvilRpc<{ baseFeePerGas: string }>('eth_getBlockByNumber', ['latest', false]);
      const signed = await bus.request(Routes.signerSignTransaction, {
        from: from.toLowerCase(),
        key: { backendId: account!.backendId, keyId: account!.keyId },
        tx: { type: 2, chainId: stack().anvil.chainId, nonce, to: recipient, value: '0x1', data: '0x', gasLimit: '0x5208', maxFeePerGas: '0x' + (BigInt(block.baseFeePerGas) * 2n + 10n ** 9n).toString(16), maxPriorityFeePerGas: '0x3b9aca00' },
      });
      await anvilRpc('eth_sendRawTransaction', [signed.raw]);
      await waitForReceipt(stack().anvil.url, signed.hash);
    } finally {
      await bus.close();
    }
    const next = await s0.sendUncheckedTransaction({ to: recipient, value: 2n, gasLimit: 21_000n });
    const receipt = await waitForReceipt(stack().anvil.url, next);
    expect(receipt.status).toBe('0x1');
    await settled(from);
  });

  it('a retry with the same X-Request-Id returns the first hash and sends nothing new', async () => {
    const from = hsm[22];
    const before = await minedCount(from);
    const send = () =>
      fetch(stack().rpcUrls[0], {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-request-id': 'e2e-idem-1' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_sendTransaction', params: [{ from, to: recipient, value: '0x7' }] }),
      }).then((r) => r.json() as Promise<{ result?: string; error?: unknown }>);
    const first = await send();
    expect(first.error).toBeUndefined();
    const again = await send();
    expect(again.result).toBe(first.result);
    await waitForReceipt(stack().anvil.url, first.result!);
    await settled(from);
    expect(await minedCount(from)).toBe(before + 1);
  });

  it('a gateway SIGKILLed after allocation and before submission: the hole is reused or filled, and nothing stays stuck', async () => {
    const from = hsm[23];
    const paused = await stack().startService('rpc-gateway', { HSM_TEST_PAUSE_BEFORE_SUBMIT_MS: '60000' });
    const lower = from.toLowerCase();
    const openBefore = Number((await pg.query(`SELECT count(*)::int AS n FROM transactions WHERE from_address = $1`, [lower])).rows[0].n);
    // Sent through the paused gateway: allocated and signed, then held before eth_sendRawTransaction.
    const doomed = call(paused.url, 'eth_sendTransaction', [{ from, to: recipient, value: '0x1', gas: '0x5208' }], 90_000).catch((e: unknown) => e);
    const deadline = Date.now() + 20_000;
    while (Number((await pg.query(`SELECT count(*)::int AS n FROM transactions WHERE from_address = $1`, [lower])).rows[0].n) === openBefore) {
      if (Date.now() > deadline) throw new Error('the paused gateway never allocated');
      await sleep(50);
    }
    await sleep(300); // inside the pause: signed, not sent
    await paused.kill();
    await doomed;
    // Other sends continue meanwhile, through a healthy gateway: queued behind the hole until the
    // lease ends; then the hole is reused by the next send or filled. A send may be replaced by a
    // fee bump while it waits, so the ledger (by nonce), not the first hash, says what was mined.
    const [s0] = await signers(from);
    for (let i = 0; i < 3; i++) await s0.sendUncheckedTransaction({ to: recipient, value: 1n, gasLimit: 21_000n });
    await sleep(LEASE_MS + 1_000);
    for (let i = 0; i < 2; i++) await s0.sendUncheckedTransaction({ to: recipient, value: 1n, gasLimit: 21_000n });
    await settled(from, LEASE_MS + GAP_FILL_AFTER_MS + 20_000);
    const { rows } = await pg.query(`SELECT status::text, kind, count(*)::int AS n FROM transactions WHERE from_address = $1 GROUP BY 1, 2 ORDER BY 1, 2`, [lower]);
    console.log(`after the SIGKILL: ${JSON.stringify(rows)}`);
    expect(rows.find((r) => r.status === 'abandoned')).toBeDefined();
    expect(rows.filter((r) => ['confirmed', 'mined'].includes(r.status)).reduce((n, r) => n + r.n, 0)).toBe(await minedCount(from));
    await noDuplicateLiveNonce();
  }, 120_000);

  it('nonce-service replicas restarted one after the other during a steady stream: no duplicate nonce, no gap, every accepted send mined', async () => {
    const from = hsm[0];
    const [s0, s1] = await signers(from);
    const start = await minedCount(from);
    const accepted: string[] = [];
    let errors = 0;
    let stop = false;
    const stream = (async () => {
      for (let i = 0; !stop && i < 400; i++) {
        const batch = await Promise.allSettled([s0, s1].map((s) => s.sendUncheckedTransaction({ to: recipient, value: 1n, gasLimit: 21_000n })));
        for (const o of batch) {
          if (o.status === 'fulfilled') accepted.push(o.value);
          else errors++;
        }
      }
    })();
    await sleep(1_000);
    for (let r = 0; r < 2; r++) {
      await stack().stopService('nonce-service', 0);
      await stack().startService('nonce-service');
      await sleep(500);
    }
    await sleep(1_000);
    stop = true;
    await stream;
    console.log(`[figure] stream through nonce-service restarts: ${accepted.length} accepted, ${errors} answered with an error`);
    expect(accepted.length).toBeGreaterThan(10);
    // A send that waited behind a restart's hole longer than NONCE_STUCK_AFTER_MS may have been
    // replaced by a fee bump (same nonce): the ledger says which of its versions holds the nonce.
    const final: string[] = [];
    for (const h of accepted) {
      const mined = await minedVersion(h, 30_000);
      expect(mined.status).toBe('0x1');
      final.push(mined.hash);
    }
    await settled(from, 60_000);
    const nonces = await chainNonces(final);
    expect(new Set(nonces).size).toBe(nonces.length);
    // Every nonce the chain consumed since `start` is one of ours: accepted sends, or gap fills.
    const fills = Number((await pg.query(`SELECT count(*)::int AS n FROM transactions WHERE from_address = $1 AND kind = 'gap-fill' AND nonce >= $2`, [from.toLowerCase(), start])).rows[0].n);
    expect(await minedCount(from)).toBe(start + accepted.length + fills);
    await noDuplicateLiveNonce();
  }, 180_000);
});
