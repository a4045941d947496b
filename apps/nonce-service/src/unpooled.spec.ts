import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { keccak256, type Wallet } from 'ethers';
import type { Client } from 'pg';
import { Routes } from '@hsm-signer/contracts';
import type { NatsBus } from '@hsm-signer/messaging';
import { waitFor, type AnvilNode } from '@hsm-signer/testing';
import type { NonceService } from './app';
import { startServiceHarness, type ServiceHarness } from './service-harness.spec-support';

// A submitted transaction at the chain's next nonce that the node no longer holds: re-sent after
// NONCE_UNPOOLED_AFTER_MS, long before NONCE_STUCK_AFTER_MS (10 minutes here), and replaced when the
// node says it knows it but still does not hold it. Real Postgres, anvil and nats-server.
jest.setTimeout(120_000);

const GWEI = 1_000_000_000n;

/**
 * FIXTURE: a JSON-RPC proxy in front of the real anvil that plays a wedged node for the hashes in
 * `wedged`: eth_sendRawTransaction of those bytes answers anvil's own "already imported" error
 * (code -32003, as anvil 1.7.1 answers a re-send of a transaction its auto-miner lost,
 * foundry-rs/foundry#10122) while anvil, after anvil_dropTransaction, does not hold it. Everything
 * else goes to anvil unchanged.
 */
async function startWedgedNodeFixture(anvilUrl: string, wedged: Set<string>): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const parsed = JSON.parse(body) as { id: unknown; method: string; params: unknown[] } | { id: unknown; method: string; params: unknown[] }[];
      const one = async (call: { id: unknown; method: string; params: unknown[] }) => {
        if (call.method === 'eth_sendRawTransaction' && wedged.has(keccak256(call.params[0] as string))) {
          return { jsonrpc: '2.0', id: call.id, error: { code: -32003, message: 'transaction already imported' } };
        }
        const r = await fetch(anvilUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(call) });
        return r.json();
      };
      const answer = Array.isArray(parsed) ? await Promise.all(parsed.map(one)) : await one(parsed);
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(answer));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('nonce-service: a transaction the node does not hold at the next nonce (real Postgres, anvil, JetStream)', () => {
  let anvil: AnvilNode;
  let service: NonceService;
  let bus: NatsBus;
  let pg: Client;
  let chainId: number;
  let node: { url: string; close(): Promise<void> } | undefined;
  let harness: ServiceHarness | undefined;
  const wedged = new Set<string>();
  const newWallet = () => {
    if (!harness) throw new Error('the harness did not start (see the beforeAll error)');
    return harness.newWallet();
  };
  /** What a gateway does: allocate, sign, broadcast, record `submitted`. */
  const send = async (wallet: Wallet, address: string) => {
    const a = await bus.request(Routes.nonceAllocate, { chainId, address });
    const raw = await wallet.signTransaction({ type: 2, chainId, nonce: a.nonce, to: '0x' + '22'.repeat(20), value: 1n, gasLimit: 21_000n, maxFeePerGas: 5n * GWEI, maxPriorityFeePerGas: GWEI });
    const hash = keccak256(raw);
    await anvil.rpc('eth_sendRawTransaction', [raw]);
    await bus.request(Routes.nonceRecordOutcome, { transactionId: a.transactionId, outcome: 'submitted', hash, raw });
    return { id: a.transactionId, nonce: a.nonce, hash };
  };
  const row = async (id: string) => (await pg.query(`SELECT status::text, hash, attempts, resends FROM transactions WHERE id = $1`, [id])).rows[0];
  /**
   * anvil_dropTransaction drops the later nonce too (a dependent): once the first is mined, the
   * second is at the next nonce and not held, so the tracker re-sends it as well, then it is mined.
   */
  const mineBoth = async (first: { id: string; hash: string }, second: { id: string; hash: string }) => {
    await waitFor('the first in the pool', async () => (await anvil.rpc('eth_getTransactionByHash', [first.hash])) !== null, 15_000, 50);
    await anvil.rpc('anvil_mine', [1]);
    await waitFor('the first mined', async () => (await row(first.id)).status === 'mined', 10_000, 50);
    await waitFor('the second re-sent', async () => (await anvil.rpc('eth_getTransactionByHash', [second.hash])) !== null, 15_000, 50);
    await anvil.rpc('anvil_mine', [1]);
    await waitFor('the second mined', async () => (await row(second.id)).status === 'mined', 10_000, 50);
  };
  const minedCount = async (address: string) => Number(BigInt(await anvil.rpc<string>('eth_getTransactionCount', [address, 'latest'])));

  beforeAll(async () => {
    harness = await startServiceHarness({
      name: 'nonce-unpooled',
      env: { NONCE_TRACK_INTERVAL_MS: '100', NONCE_STUCK_AFTER_MS: '600000', NONCE_UNPOOLED_AFTER_MS: '500' },
      nodeUrl: async (a) => (node = await startWedgedNodeFixture(a.url, wedged)).url,
    });
    ({ anvil, service, bus, pg, chainId } = harness);
    // Blocks only when a test mines one: what the node holds stays in its pool.
    await anvil.rpc('evm_setAutomine', [false]);
  }, 60_000);

  afterAll(async () => {
    await harness?.close();
    await node?.close();
  });

  it('leaves alone a transaction the node holds, however long it waits for a block', async () => {
    const { wallet, address } = await newWallet();
    const tx = await send(wallet, address);
    const rounds = service.tracker.stats.rounds;
    // Well past NONCE_UNPOOLED_AFTER_MS: the node's pending count shows it holds the transaction.
    await waitFor('20 tracker rounds', async () => service.tracker.stats.rounds >= rounds + 20, 20_000, 20);
    expect(await row(tx.id)).toMatchObject({ status: 'submitted', resends: 0, attempts: 1 });
    await anvil.rpc('anvil_mine', [1]);
    await waitFor('mined', async () => (await row(tx.id)).status === 'mined', 10_000, 50);
  });

  it('re-sends at once a transaction the node dropped while a later nonce waits behind it', async () => {
    const { wallet, address } = await newWallet();
    const first = await send(wallet, address);
    const second = await send(wallet, address);
    await anvil.rpc('anvil_dropTransaction', [first.hash]);
    expect(await anvil.rpc('eth_getTransactionByHash', [first.hash])).toBeNull();
    const unpooled = service.tracker.stats.unpooled;
    // Ten minutes before NONCE_STUCK_AFTER_MS would act.
    await waitFor('the dropped transaction back in the pool', async () => (await anvil.rpc('eth_getTransactionByHash', [first.hash])) !== null, 15_000, 50);
    expect(service.tracker.stats.unpooled).toBeGreaterThan(unpooled);
    await mineBoth(first, second);
    expect(await row(first.id)).toMatchObject({ status: 'mined', hash: first.hash, attempts: 1 });
    expect((await row(first.id)).resends).toBeGreaterThanOrEqual(1);
    expect(await minedCount(address)).toBe(second.nonce + 1);
  });

  it('replaces with bumped fees a transaction the node claims to know but does not hold (wedged node)', async () => {
    const { wallet, address } = await newWallet();
    const first = await send(wallet, address);
    const second = await send(wallet, address);
    wedged.add(first.hash);
    await anvil.rpc('anvil_dropTransaction', [first.hash]);
    await waitFor('a replacement at the nonce', async () => (await row(first.id)).hash !== first.hash, 15_000, 50);
    const replacement = (await row(first.id)).hash as string;
    const pooled = await anvil.rpc<{ nonce: string; maxFeePerGas: string } | null>('eth_getTransactionByHash', [replacement]);
    expect(Number(BigInt(pooled!.nonce))).toBe(first.nonce);
    expect(BigInt(pooled!.maxFeePerGas)).toBeGreaterThanOrEqual((5n * GWEI * 110n) / 100n);
    // The replacement wedged as well: re-sent, but not re-priced again before NONCE_STUCK_AFTER_MS
    // (a node whose pending count means nothing must not have a transaction bumped every few seconds).
    wedged.add(replacement);
    await anvil.rpc('anvil_dropTransaction', [replacement]);
    const resends = (await row(first.id)).resends as number;
    await waitFor('two more re-sends', async () => (await row(first.id)).resends >= resends + 2, 15_000, 50);
    expect(await row(first.id)).toMatchObject({ hash: replacement, attempts: 2 });
    wedged.delete(replacement); // the node takes it again: the next re-send lands
    await mineBoth({ ...first, hash: replacement }, second);
    expect(await row(first.id)).toMatchObject({ status: 'mined', hash: replacement, attempts: 2 });
    const attempts = (await pg.query(`SELECT hash, replaced_by FROM transaction_attempts WHERE transaction_id = $1`, [first.id])).rows;
    expect(attempts).toEqual([{ hash: first.hash, replaced_by: replacement }]);
    expect(await minedCount(address)).toBe(second.nonce + 1);
  });
});
