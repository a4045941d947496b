import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseTransactionRequest } from '@hsm-signer/ethereum';
import { ANVIL_DEV_ADDRESS, startAnvil, type AnvilNode } from '@hsm-signer/testing';
import { ChainFactsCache, FALLBACK_PRIORITY_FEE } from './chain-facts';
import { EthNodeClient } from './eth-node-client';
import { TransactionSender } from './transaction-sender';

// ChainFactsCache and EthNodeClient.call against a real anvil. FIXTURE: a counting HTTP proxy in
// front of it shows how many HTTP requests reach the node; it can answer one method with geth's
// "method does not exist" the way an older node would.

function countingProxy(target: string, unsupported?: string): Promise<{ server: Server; url: string; requests: string[] }> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', async () => {
      requests.push(body);
      const upstream = await fetch(target, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      let text = await upstream.text();
      if (unsupported) {
        const calls = [JSON.parse(body)].flat() as Array<{ id: number; method: string }>;
        const answers = [JSON.parse(text)].flat() as Array<{ id: number }>;
        const patched = answers.map((a) => {
          const call = calls.find((c) => c.id === a.id);
          return call?.method === unsupported ? { jsonrpc: '2.0', id: a.id, error: { code: -32601, message: `the method ${unsupported} does not exist/is not available` } } : a;
        });
        text = JSON.stringify(Array.isArray(JSON.parse(body)) ? patched : patched[0]);
      }
      res.writeHead(upstream.status, { 'content-type': 'application/json' }).end(text);
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests })));
}

describe('ChainFactsCache and coalesced node calls (real anvil)', () => {
  let anvil: AnvilNode;
  let proxy: Awaited<ReturnType<typeof countingProxy>>;

  beforeAll(async () => {
    anvil = await startAnvil();
    proxy = await countingProxy(anvil.url);
  });
  afterAll(async () => {
    await new Promise((r) => proxy?.server.close(r));
    await anvil?.stop();
  });
  beforeEach(() => (proxy.requests.length = 0));

  it('concurrent sends share one read of the block fees; within maxAge nothing is read again', async () => {
    const cache = new ChainFactsCache(new EthNodeClient({ url: proxy.url, timeoutMs: 5_000 }), 60_000);
    expect(cache.supports1559).toBeUndefined();
    const all = await Promise.all([cache.get(), cache.get(), cache.get()]);
    expect(proxy.requests).toHaveLength(1);
    expect(JSON.parse(proxy.requests[0]).map((c: { method: string }) => c.method)).toEqual(['eth_getBlockByNumber', 'eth_maxPriorityFeePerGas', 'eth_gasPrice']);
    const block = await anvil.rpc<{ baseFeePerGas: string; gasLimit: string }>('eth_getBlockByNumber', ['latest', false]);
    expect(all[0]).toEqual(all[2]);
    expect(all[0].baseFeePerGas).toBe(BigInt(block.baseFeePerGas));
    expect(all[0].blockGasLimit).toBe(BigInt(block.gasLimit));
    expect(all[0].gasPrice).toBe(BigInt(await anvil.rpc<string>('eth_gasPrice')));
    expect(cache.supports1559).toBe(true);
    await cache.get();
    expect(proxy.requests).toHaveLength(1);
  });

  it('with maxAge 0 every send reads again; a failed read is not kept', async () => {
    const cache = new ChainFactsCache(new EthNodeClient({ url: proxy.url, timeoutMs: 5_000 }), 0);
    await cache.get();
    await cache.get();
    expect(proxy.requests).toHaveLength(2);
    const down = new ChainFactsCache(new EthNodeClient({ url: 'http://127.0.0.1:9', timeoutMs: 1_000 }), 60_000);
    await expect(down.get()).rejects.toThrow(/downstream/i);
    await expect(down.get()).rejects.toThrow(/downstream/i);
  });

  it("a node without eth_maxPriorityFeePerGas gets ethers' default tip", async () => {
    const older = await countingProxy(anvil.url, 'eth_maxPriorityFeePerGas');
    try {
      const facts = await new ChainFactsCache(new EthNodeClient({ url: older.url, timeoutMs: 5_000 }), 0).get();
      expect(facts.maxPriorityFeePerGas).toBe(FALLBACK_PRIORITY_FEE);
      expect(facts.gasPrice).toBe(BigInt(await anvil.rpc<string>('eth_gasPrice')));
    } finally {
      await new Promise((r) => older.server.close(r));
    }
  });

  it('call() puts the calls of one event-loop turn into one JSON-RPC batch, each with its own outcome', async () => {
    const node = new EthNodeClient({ url: proxy.url, timeoutMs: 5_000, maxBatch: 3 });
    const results = await Promise.allSettled([
      node.call('eth_chainId'),
      node.call('eth_blockNumber'),
      node.call('hsm_noSuchMethod'),
      node.call('eth_chainId'),
    ]);
    expect(proxy.requests.map((r) => JSON.parse(r).length)).toEqual([3, 1]); // split at maxBatch
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect((results[0] as PromiseFulfilledResult<string>).value).toBe('0x' + anvil.chainId.toString(16));
    expect((results[2] as PromiseRejectedResult).reason.code).toBe(-32601);
    // A later turn is a new request; maxBatch 1 means no batching at all.
    proxy.requests.length = 0;
    const single = new EthNodeClient({ url: proxy.url, timeoutMs: 5_000, maxBatch: 1 });
    await Promise.all([single.call('eth_chainId'), single.call('eth_chainId')]);
    expect(proxy.requests.map((r) => Array.isArray(JSON.parse(r)))).toEqual([false, false]);
  });
});

describe('TransactionSender.prepare: the estimate block is explicit (real anvil)', () => {
  let anvil: AnvilNode;
  let proxy: Awaited<ReturnType<typeof countingProxy>>;
  beforeAll(async () => {
    anvil = await startAnvil();
    proxy = await countingProxy(anvil.url);
  });
  afterAll(async () => {
    await new Promise((r) => proxy?.server.close(r));
    await anvil?.stop();
  });

  it.each([
    [undefined, 'latest'],
    ['pending' as const, 'pending'],
  ])('GAS_ESTIMATE_BLOCK %s → eth_estimateGas(…, %s), one batch for the estimate and the fees', async (estimateBlock, expected) => {
    proxy.requests.length = 0;
    const node = new EthNodeClient({ url: proxy.url, timeoutMs: 5_000, maxBatch: 10 });
    const sender = new TransactionSender({ bus: undefined as never, accounts: undefined as never, node, gasMultiplier: 1, feeCacheMs: 60_000, ...(estimateBlock ? { estimateBlock } : {}) });
    const prepared = await sender.prepare(parseTransactionRequest({ from: ANVIL_DEV_ADDRESS, to: ANVIL_DEV_ADDRESS, value: '0x1' }), anvil.chainId);
    expect(prepared).toMatchObject({ type: 2, gasLimit: '0x5208' });
    const calls = proxy.requests.flatMap((r) => [JSON.parse(r)].flat()) as Array<{ method: string; params: unknown[] }>;
    expect(calls.find((c) => c.method === 'eth_estimateGas')?.params[1]).toBe(expected);
  });
});
