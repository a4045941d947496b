import { Wallet, WebSocketProvider, getAddress } from 'ethers';
import { createPublicClient, createWalletClient, defineChain, webSocket, type Address, type Chain } from 'viem';
import { Web3, WebSocketProvider as Web3WebSocketProvider } from 'web3';
import WebSocket from 'ws';
import { freePort, waitFor } from '@hsm-signer/testing';
import type { MinedReceipt, RpcResponse } from './support/json-rpc';
import { sortedLower, useStack } from './support/stack';
import { startWsNodeRelay, type WsNodeRelay } from './support/ws-node-relay';

interface NodeTransaction {
  hash: string;
  from: string;
  to: string | null;
  value: string;
}

/** A raw WebSocket JSON-RPC client: send text, wait for the answer with an id, or for a close. */
async function rawClient(url: string) {
  const ws = new WebSocket(url);
  const messages: unknown[] = [];
  ws.on('message', (data) => messages.push(JSON.parse(String(data))));
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: String(reason) })));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  ws.on('error', () => undefined);
  const next = <T>(match: (m: unknown) => boolean, what: string) =>
    waitFor(
      what,
      async () => {
        const i = messages.findIndex(match);
        return i < 0 ? undefined : (messages.splice(i, 1)[0] as T);
      },
      20_000,
      20,
    );
  return {
    ws,
    closed,
    send: (payload: unknown) => ws.send(typeof payload === 'string' ? payload : JSON.stringify(payload)),
    answer: <T = unknown>(id: unknown) => next<RpcResponse<T>>((m) => !Array.isArray(m) && (m as RpcResponse).id === id, `the answer to id ${String(id)}`),
    batch: () => next<RpcResponse[]>((m) => Array.isArray(m), 'a batch answer'),
    notification: () => next<{ params: { subscription: string; result: { number: string } } }>((m) => (m as { method?: string }).method === 'eth_subscription', 'an eth_subscription'),
  };
}

type DebugEvent = { action: string; payload?: RpcPayload | RpcPayload[]; result?: RpcResponse | RpcResponse[] };
type RpcPayload = { method: string; id: number };

/** Resolves with the result of the next `method` request the ethers provider sends (seen through its 'debug' events). */
function answerTo(provider: WebSocketProvider, method: string, timeoutMs = 20_000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let id: number | undefined;
    const timer = setTimeout(() => reject(new Error(`no answer to ${method} in time`)), timeoutMs);
    const debug = (event: DebugEvent) => {
      const payloads = event.payload === undefined ? [] : ([] as RpcPayload[]).concat(event.payload);
      id ??= payloads.find((p) => p.method === method)?.id;
      const results = event.result === undefined ? [] : ([] as RpcResponse[]).concat(event.result);
      const answer = event.action === 'receiveRpcResult' && id !== undefined ? results.find((r) => r.id === id) : undefined;
      if (!answer) return;
      clearTimeout(timer);
      void provider.off('debug', debug);
      resolve(answer.result);
    };
    void provider.on('debug', debug);
  });
}

// JSON-RPC over WebSocket on the rpc-gateway's HTTP port, through real, unmodified clients (ethers v6
// WebSocketProvider, viem's webSocket transport, web3.js 4 WebsocketProvider) and raw frames, on the
// whole stack. Subscriptions reach anvil's own WebSocket; what reached the chain is read from anvil.
describe('JSON-RPC over WebSocket through the rpc-gateway', () => {
  const stack = useStack({ keys: 2, discoveryPollMs: 1_000 });
  let wsUrl: string;
  let hsm: string[];
  let chainId: number;
  const recipient = Wallet.createRandom().address;
  const onChain = (hash: string) => stack().anvil.rpc<NodeTransaction>('eth_getTransactionByHash', [hash]);
  const mine = () => stack().anvil.rpc('evm_mine');

  beforeAll(async () => {
    wsUrl = stack().rpcUrl.replace(/^http/, 'ws');
    hsm = stack().addresses.map((a) => getAddress(a));
    chainId = Number(await stack().anvil.rpc<string>('eth_chainId'));
  });

  describe('ethers v6 WebSocketProvider', () => {
    let provider: WebSocketProvider;
    beforeAll(() => {
      provider = new WebSocketProvider(wsUrl);
    });
    afterAll(async () => {
      await provider?.destroy();
    });

    it('eth_accounts lists the token keys', async () => {
      expect(sortedLower(await provider.send('eth_accounts', []))).toEqual(sortedLower(hsm));
      expect(sortedLower((await provider.listAccounts()).map((s) => s.address))).toEqual(sortedLower(hsm));
    });

    it('getSigner(hsmAddress).sendTransaction is signed in the HSM and mined', async () => {
      const signer = await provider.getSigner(hsm[0]);
      const tx = await signer.sendTransaction({ to: recipient, value: 4_321n });
      const receipt = await tx.wait(1, 30_000);
      expect(receipt?.status).toBe(1);
      const mined = await onChain(tx.hash);
      expect(getAddress(mined.from)).toBe(hsm[0]);
      expect(getAddress(mined.to!)).toBe(recipient);
      expect(BigInt(mined.value)).toBe(4_321n);
    });

    it("provider.on('block') receives anvil's new heads over the subscription", async () => {
      const seen: number[] = [];
      const listener = (n: number) => seen.push(n);
      await provider.on('block', listener);
      try {
        // ethers subscribes asynchronously; mine until a head has arrived, then two more.
        await waitFor('a first block event', async () => (await mine(), seen.length > 0 || undefined), 20_000, 200);
        await mine();
        await mine();
        const head = Number(await stack().anvil.rpc<string>('eth_blockNumber'));
        await waitFor('the block events of both blocks mined after it', async () => seen.includes(head) || undefined, 20_000, 50);
        expect(seen).toContain(head - 1);
      } finally {
        // off() sends eth_unsubscribe without waiting for it; destroying the provider before the
        // answer would make ethers reject that request unhandled. Wait for the node's `true`.
        const unsubscribed = answerTo(provider, 'eth_unsubscribe');
        await provider.off('block', listener);
        expect(await unsubscribed).toBe(true);
      }
    });
  });

  describe('viem webSocket transport', () => {
    let chain: Chain;
    beforeAll(() => {
      chain = defineChain({
        id: chainId,
        name: 'anvil via hsm-signer (ws)',
        nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
        rpcUrls: { default: { http: [stack().rpcUrl], webSocket: [wsUrl] } },
      });
    });

    it('a wallet client sends from an HSM account, and watchBlockNumber (eth_subscribe, no polling) sees the blocks', async () => {
      const transport = webSocket(wsUrl, { reconnect: false });
      const wallet = createWalletClient({ account: hsm[1] as Address, chain, transport });
      const reader = createPublicClient({ chain, transport });
      const blocks: bigint[] = [];
      // No `poll` option: over a webSocket transport viem's default is eth_subscribe newHeads, no polling.
      const unwatch = reader.watchBlockNumber({ onBlockNumber: (n) => blocks.push(n) });
      try {
        const hash = await wallet.sendTransaction({ to: recipient as Address, value: 1_111n });
        const receipt = await reader.waitForTransactionReceipt({ hash, timeout: 30_000 });
        expect(receipt.status).toBe('success');
        expect(getAddress((await onChain(hash)).from)).toBe(hsm[1]);

        await waitFor('a block number from the subscription', async () => (await mine(), blocks.length > 0 || undefined), 20_000, 200);
        await mine();
        const head = BigInt(await stack().anvil.rpc<string>('eth_blockNumber'));
        await waitFor('the latest head', async () => blocks.includes(head) || undefined, 20_000, 50);
      } finally {
        unwatch();
        (await reader.transport.getRpcClient()).close();
      }
    });

    it('transport.subscribe newHeads hands over the heads as anvil produced them', async () => {
      const transport = webSocket(wsUrl, { reconnect: false })({ chain });
      const heads: Array<{ number: string; hash: string }> = [];
      const { unsubscribe } = await transport.value!.subscribe({
        params: ['newHeads'],
        onData: (data) => heads.push((data as unknown as { result: { number: string; hash: string } }).result),
      });
      try {
        await mine();
        await waitFor('a new head', async () => heads.length > 0 || undefined, 20_000, 20);
        const onAnvil = await stack().anvil.rpc<{ hash: string }>('eth_getBlockByNumber', [heads[0]!.number, false]);
        expect(heads[0]!.hash).toBe(onAnvil.hash);
        expect((await unsubscribe()).result).toBe(true);
      } finally {
        (await transport.value!.getRpcClient()).close();
      }
    });
  });

  describe('web3.js 4 WebSocketProvider', () => {
    it('eth.getAccounts and eth.sendTransaction from an HSM account', async () => {
      const provider = new Web3WebSocketProvider(wsUrl, {}, { autoReconnect: false });
      const web3 = new Web3(provider);
      web3.eth.transactionPollingInterval = 100;
      try {
        expect(sortedLower(await web3.eth.getAccounts())).toEqual(sortedLower(hsm));
        const receipt = await web3.eth.sendTransaction({ from: hsm[1], to: recipient, value: 2_222n });
        expect(receipt.status).toBe(1n);
        const mined = await onChain(String(receipt.transactionHash));
        expect(getAddress(mined.from)).toBe(hsm[1]);
        expect(BigInt(mined.value)).toBe(2_222n);
      } finally {
        provider.disconnect(1000, 'done');
      }
    });
  });

  describe('raw frames', () => {
    it('a batch over WebSocket: local and pass-through methods in one array, in order', async () => {
      const c = await rawClient(wsUrl);
      try {
        c.send([
          { jsonrpc: '2.0', id: 'a', method: 'eth_accounts', params: [] },
          { jsonrpc: '2.0', id: 'b', method: 'eth_chainId', params: [] },
          { jsonrpc: '2.0', id: 'c', method: 'eth_getBalance', params: [hsm[0], 'latest'] },
        ]);
        const answers = await c.batch();
        expect(answers.map((a) => a.id)).toEqual(['a', 'b', 'c']);
        expect(sortedLower(answers[0]!.result as string[])).toEqual(sortedLower(hsm));
        expect(Number(answers[1]!.result)).toBe(chainId);
        expect(answers[2]!.result).toBe(await stack().anvil.rpc<string>('eth_getBalance', [hsm[0], 'latest']));
      } finally {
        c.ws.close();
      }
    });

    it('a frame that is not JSON gets -32700 with id null, and the connection stays usable', async () => {
      const c = await rawClient(wsUrl);
      try {
        c.send('{"jsonrpc": "2.0", "method": ');
        expect((await c.answer(null)).error?.code).toBe(-32700);
        c.send({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] });
        expect(Number((await c.answer<string>(1)).result)).toBe(chainId);
      } finally {
        c.ws.close();
      }
    });

    it('eth_sendTransaction as a raw frame, then eth_subscribe / eth_unsubscribe on the same connection', async () => {
      const c = await rawClient(wsUrl);
      try {
        c.send({ jsonrpc: '2.0', id: 1, method: 'eth_subscribe', params: ['newHeads'] });
        const subscription = (await c.answer<string>(1)).result!;
        c.send({ jsonrpc: '2.0', id: 2, method: 'eth_sendTransaction', params: [{ from: hsm[0], to: recipient, value: '0x7' }] });
        const hash = (await c.answer<string>(2)).result!;
        // Automine: the send's block arrives as a head on the subscription.
        const head = await c.notification();
        expect(head.params.subscription).toBe(subscription);
        const receipt = await stack().anvil.rpc<MinedReceipt>('eth_getTransactionReceipt', [hash]);
        expect(receipt.status).toBe('0x1');
        c.send({ jsonrpc: '2.0', id: 3, method: 'eth_unsubscribe', params: [subscription] });
        expect((await c.answer(3)).result).toBe(true);
      } finally {
        c.ws.close();
      }
    });
  });

  describe('with ETH_NODE_WS_URL pointing elsewhere (extra gateway replicas)', () => {
    let relay: WsNodeRelay;
    let relayedUrl: string;
    let unreachableUrl: string;
    beforeAll(async () => {
      relay = await startWsNodeRelay(stack().anvil.url.replace(/^http/, 'ws'));
      const [relayed, unreachable] = await Promise.all([
        stack().startService('rpc-gateway', { ETH_NODE_WS_URL: relay.url }),
        stack().startService('rpc-gateway', { ETH_NODE_WS_URL: `ws://127.0.0.1:${await freePort()}` }),
      ]);
      relayedUrl = relayed.url.replace(/^http/, 'ws');
      unreachableUrl = unreachable.url.replace(/^http/, 'ws');
    }, 120_000);
    afterAll(async () => {
      await relay?.close();
    });

    it('a node WebSocket that is not reachable: eth_subscribe answers a -32000 error, no hang; other calls keep working', async () => {
      const c = await rawClient(unreachableUrl);
      try {
        c.send({ jsonrpc: '2.0', id: 1, method: 'eth_subscribe', params: ['newHeads'] });
        const answer = await c.answer(1);
        expect(answer.error?.code).toBe(-32000);
        expect(answer.error?.message).toMatch(/WebSocket is not reachable.*ETH_NODE_WS_URL/);
        c.send({ jsonrpc: '2.0', id: 2, method: 'eth_accounts', params: [] });
        expect(sortedLower((await c.answer<string[]>(2)).result!)).toEqual(sortedLower(hsm));
      } finally {
        c.ws.close();
      }
    });

    it('one node connection per subscribing client (FIXTURE relay counts them), gone when the client disconnects', async () => {
      const a = new WebSocketProvider(relayedUrl);
      const b = new WebSocketProvider(relayedUrl);
      try {
        // Plain calls do not open a node WebSocket.
        expect(sortedLower(await a.send('eth_accounts', []))).toEqual(sortedLower(hsm));
        await a.getBlockNumber();
        expect(relay.connections).toBe(0);

        const seenA: number[] = [];
        const seenB: number[] = [];
        await a.on('block', (n: number) => seenA.push(n));
        await b.on('block', (n: number) => seenB.push(n));
        await waitFor('heads on both clients, relayed from anvil', async () => (await mine(), (seenA.length > 0 && seenB.length > 0) || undefined), 20_000, 200);
        expect(relay.connections).toBe(2);

        await a.destroy();
        await waitFor('the node connection of the client that left to close', async () => relay.connections === 1 || undefined, 10_000, 20);
        await b.destroy();
        await waitFor('no node connection left', async () => relay.connections === 0 || undefined, 10_000, 20);
        expect(relay.opened).toBe(2);
      } finally {
        await a.destroy();
        await b.destroy();
      }
    });

    it('the node WebSocket dropping under a subscription closes the client connection with 1012 and a reason', async () => {
      const c = await rawClient(relayedUrl);
      c.send({ jsonrpc: '2.0', id: 1, method: 'eth_subscribe', params: ['newHeads'] });
      expect((await c.answer<string>(1)).result).toMatch(/^0x/);
      await waitFor('the relay to hold the connection', async () => relay.connections === 1 || undefined, 10_000, 20);
      relay.dropAll();
      const closed = await c.closed;
      expect(closed.code).toBe(1012);
      expect(closed.reason).toMatch(/subscriptions are gone/);
    });
  });
});
