import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger } from '@hsm-signer/logging';
import { freePort, startAnvil, type AnvilNode } from '@hsm-signer/testing';
import { EthNodeClient } from '@hsm-signer/transactions';
import WebSocket, { WebSocketServer } from 'ws';
import { JsonRpcHandler } from '../rpc/json-rpc-handler';
import type { LocalMethods } from '../rpc/local-methods';
import { NODE_WS_UNAVAILABLE_MESSAGE } from './errors';
import { WebSocketEndpoint, type WsEndpointOptions } from './ws-endpoint';
import { CLOSE_REASON } from './ws-session';

// The WebSocket endpoint on a plain node:http server, against a real anvil (pass-through over HTTP,
// subscriptions over anvil's WebSocket). LocalMethods is a stub answering eth_accounts: the real
// send path over WebSocket is covered end to end in e2e/src/websocket.e2e-spec.ts.

const logger = createLogger('ws-endpoint-spec', 'silent');
const ACCOUNT = '0x00000000000000000000000000000000000000a1';
const local = { handles: (m: string) => m === 'eth_accounts', call: async () => [ACCOUNT] } as unknown as LocalMethods;

interface Gateway {
  url: string;
  endpoint: WebSocketEndpoint;
  close(): Promise<void>;
}

async function startGateway(anvil: AnvilNode, overrides: Partial<WsEndpointOptions> = {}): Promise<Gateway> {
  const node = new EthNodeClient({ url: anvil.url, timeoutMs: 5_000 });
  const endpoint = new WebSocketEndpoint({
    handlerFor: (transport) => new JsonRpcHandler(transport, local, { maxBatchSize: 10, logger }),
    node,
    nodeWsUrl: anvil.url.replace('http', 'ws'),
    nodeTimeoutMs: 5_000,
    pingIntervalMs: 60_000,
    maxBufferedBytes: 1024 * 1024,
    maxMessageBytes: 4096,
    logger,
    ...overrides,
  });
  const http: Server = createServer((_req, res) => res.writeHead(200).end('http'));
  endpoint.attach(http);
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `ws://127.0.0.1:${(http.address() as AddressInfo).port}`,
    endpoint,
    close: async () => {
      await endpoint.close();
      await new Promise((resolve) => http.close(resolve));
      await node.close();
    },
  };
}

/** A test client: sends, collects every message, and resolves the answer to an id. */
async function connect(url: string, options: WebSocket.ClientOptions = {}) {
  const ws = new WebSocket(url, options);
  const messages: unknown[] = [];
  const waiters: Array<() => void> = [];
  ws.on('message', (data) => {
    messages.push(JSON.parse(String(data)));
    waiters.splice(0).forEach((w) => w());
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: String(reason) })));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  ws.on('error', () => undefined);
  const next = async (match: (m: unknown) => boolean, timeoutMs = 10_000): Promise<unknown> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = messages.find(match);
      if (found !== undefined) {
        messages.splice(messages.indexOf(found), 1);
        return found;
      }
      if (Date.now() > deadline) throw new Error('no matching message in time');
      await new Promise<void>((resolve) => {
        waiters.push(resolve);
        setTimeout(resolve, 100);
      });
    }
  };
  return {
    ws,
    closed,
    send: (value: unknown) => ws.send(typeof value === 'string' ? value : JSON.stringify(value)),
    answer: (id: unknown) => next((m) => !Array.isArray(m) && (m as { id?: unknown }).id === id) as Promise<{ id: unknown; result?: unknown; error?: { code: number; message: string } }>,
    batch: () => next((m) => Array.isArray(m)) as Promise<Array<{ id: unknown; result?: unknown; error?: unknown }>>,
    notification: () => next((m) => (m as { method?: string }).method === 'eth_subscription') as Promise<{ params: { subscription: string; result: { number: string } } }>,
  };
}

/** FIXTURE standing in for a node's WebSocket (not a node): answers eth_subscribe, counts connections, can push or drop. */
async function fixtureNode() {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  wss.on('connection', (ws) =>
    ws.on('message', (data) => {
      const r = JSON.parse(String(data)) as { id: number; method: string };
      ws.send(JSON.stringify({ jsonrpc: '2.0', id: r.id, result: r.method === 'eth_subscribe' ? '0xfeed' : true }));
    }),
  );
  return {
    url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`,
    get connections() {
      return wss.clients.size;
    },
    push: (text: string) => wss.clients.forEach((c) => c.send(text)),
    dropAll: () => wss.clients.forEach((c) => c.terminate()),
    close: () => new Promise<void>((resolve) => {
      wss.clients.forEach((c) => c.terminate());
      wss.close(() => resolve());
    }),
  };
}

async function waitUntil(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('WebSocketEndpoint', () => {
  let anvil: AnvilNode;
  let gateway: Gateway;

  beforeAll(async () => {
    anvil = await startAnvil();
    gateway = await startGateway(anvil);
  }, 30_000);
  afterAll(async () => {
    await gateway?.close();
    await anvil?.stop();
  });

  it('passes a call through to the node and answers a local method, both over one socket', async () => {
    const c = await connect(gateway.url);
    c.send({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] });
    c.send({ jsonrpc: '2.0', id: 'acc', method: 'eth_accounts', params: [] });
    expect((await c.answer(1)).result).toBe(`0x${anvil.chainId.toString(16)}`);
    expect((await c.answer('acc')).result).toEqual([ACCOUNT]);
    c.ws.close();
  });

  it('a batch mixing local and pass-through methods is answered as one array in order', async () => {
    const c = await connect(gateway.url);
    c.send([
      { jsonrpc: '2.0', id: 1, method: 'eth_accounts' },
      { jsonrpc: '2.0', id: 2, method: 'eth_chainId' },
      { jsonrpc: '2.0', method: 'eth_blockNumber' },
      { jsonrpc: '1.0', id: 3, method: 'x' },
    ]);
    const answers = await c.batch();
    expect(answers.map((a) => a.id)).toEqual([1, 2, 3]);
    expect(answers[0]?.result).toEqual([ACCOUNT]);
    expect(answers[1]?.result).toBe(`0x${anvil.chainId.toString(16)}`);
    expect(answers[2]?.error).toMatchObject({ code: -32600 });
    c.ws.close();
  });

  it('a message that is not JSON gets -32700 with id null, as over HTTP, and the socket stays open', async () => {
    const c = await connect(gateway.url);
    c.send('{"jsonrpc":"2.0",');
    expect(await c.answer(null)).toMatchObject({ error: { code: -32700 } });
    c.send({ jsonrpc: '2.0', id: 5, method: 'eth_chainId' });
    expect((await c.answer(5)).result).toBeDefined();
    c.ws.close();
  });

  it('a message over RPC_BODY_LIMIT_BYTES closes the connection with 1009', async () => {
    const c = await connect(gateway.url);
    c.send({ jsonrpc: '2.0', id: 1, method: 'eth_call', params: [{ data: `0x${'00'.repeat(4096)}` }] });
    expect((await c.closed).code).toBe(1009);
  });

  it('eth_subscribe newHeads is relayed from anvil; eth_unsubscribe ends it on the same node socket', async () => {
    const c = await connect(gateway.url);
    c.send({ jsonrpc: '2.0', id: 1, method: 'eth_subscribe', params: ['newHeads'] });
    const subscription = (await c.answer(1)).result as string;
    expect(subscription).toMatch(/^0x/);
    const before = Number(await anvil.rpc<string>('eth_blockNumber'));
    await anvil.rpc('evm_mine');
    const head = await c.notification();
    expect(head.params.subscription).toBe(subscription);
    expect(Number(head.params.result.number)).toBe(before + 1);
    c.send({ jsonrpc: '2.0', id: 2, method: 'eth_unsubscribe', params: [subscription] });
    expect((await c.answer(2)).result).toBe(true);
    c.ws.close();
  });

  it('a path other than / is refused', async () => {
    await expect(connect(gateway.url + '/other')).rejects.toThrow(/404/);
  });

  it('a node without a reachable WebSocket: eth_subscribe gets a -32000 error at once, other calls still work', async () => {
    const g = await startGateway(anvil, { nodeWsUrl: `ws://127.0.0.1:${await freePort()}` });
    try {
      const c = await connect(g.url);
      c.send({ jsonrpc: '2.0', id: 1, method: 'eth_subscribe', params: ['newHeads'] });
      expect(await c.answer(1)).toMatchObject({ error: { code: -32000, message: NODE_WS_UNAVAILABLE_MESSAGE } });
      c.send({ jsonrpc: '2.0', id: 2, method: 'eth_chainId' });
      expect((await c.answer(2)).result).toBeDefined();
      c.ws.close();
    } finally {
      await g.close();
    }
  });

  describe('with a fixture standing in for the node WebSocket', () => {
    let node: Awaited<ReturnType<typeof fixtureNode>>;
    let g: Gateway;
    beforeEach(async () => {
      node = await fixtureNode();
      g = await startGateway(anvil, { nodeWsUrl: node.url, maxBufferedBytes: 64 * 1024 });
    });
    afterEach(async () => {
      await g.close();
      await node.close();
    });

    it('opens one node connection per subscribing client, only on the first subscription, and closes it with the client', async () => {
      const a = await connect(g.url);
      const b = await connect(g.url);
      a.send({ jsonrpc: '2.0', id: 1, method: 'eth_chainId' });
      await a.answer(1);
      expect(node.connections).toBe(0);
      a.send({ jsonrpc: '2.0', id: 2, method: 'eth_subscribe', params: ['newHeads'] });
      b.send({ jsonrpc: '2.0', id: 2, method: 'eth_subscribe', params: ['newHeads'] });
      a.send({ jsonrpc: '2.0', id: 3, method: 'eth_subscribe', params: ['logs', {}] });
      await Promise.all([a.answer(2), b.answer(2), a.answer(3)]);
      expect(node.connections).toBe(2);
      expect(g.endpoint.nodeConnections).toBe(2);
      a.ws.close();
      await waitUntil(() => node.connections === 1);
      b.ws.terminate();
      await waitUntil(() => node.connections === 0);
      await waitUntil(() => g.endpoint.connections === 0);
    });

    it('the node dropping its socket under open subscriptions closes the client with 1012 and a reason', async () => {
      const c = await connect(g.url);
      c.send({ jsonrpc: '2.0', id: 1, method: 'eth_subscribe', params: ['newHeads'] });
      await c.answer(1);
      node.dropAll();
      expect(await c.closed).toEqual({ code: 1012, reason: CLOSE_REASON.nodeDropped });
    });

    it('a client that stops reading is disconnected (1008) once its backlog passes the limit', async () => {
      const c = await connect(g.url);
      c.send({ jsonrpc: '2.0', id: 1, method: 'eth_subscribe', params: ['newHeads'] });
      await c.answer(1);
      (c.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause();
      const note = JSON.stringify({ jsonrpc: '2.0', method: 'eth_subscription', params: { subscription: '0xfeed', result: 'x'.repeat(16 * 1024) } });
      // Enough to fill the loopback socket buffers and then the gateway's 64 KiB limit.
      for (let i = 0; i < 2_000 && g.endpoint.connections > 0; i++) {
        node.push(note);
        if (i % 50 === 49) await new Promise((resolve) => setTimeout(resolve, 10));
      }
      (c.ws as unknown as { _socket: { resume(): void } })._socket.resume();
      expect(await c.closed).toEqual({ code: 1008, reason: CLOSE_REASON.slowClient });
    }, 60_000);
  });

  it('past RPC_WS_MAX_CONNECTIONS an upgrade gets 503 naming the setting; a freed slot is taken again', async () => {
    const g = await startGateway(anvil, { maxConnections: 1 });
    try {
      const first = await connect(g.url);
      const refused = await new Promise<{ status?: number; body: string }>((resolve, reject) => {
        const ws = new WebSocket(g.url);
        ws.once('open', () => reject(new Error('a second connection was accepted')));
        ws.once('unexpected-response', (_req, res) => {
          let body = '';
          res.on('data', (chunk: Buffer) => (body += String(chunk)));
          res.on('end', () => resolve({ status: res.statusCode, body }));
        });
        ws.once('error', () => undefined);
      });
      expect(refused.status).toBe(503);
      expect(JSON.parse(refused.body).error.message).toContain('RPC_WS_MAX_CONNECTIONS');
      first.ws.close();
      await first.closed;
      await waitUntil(() => g.endpoint.connections === 0);
      const again = await connect(g.url);
      again.send({ jsonrpc: '2.0', id: 1, method: 'eth_accounts' });
      expect((await again.answer(1)).result).toEqual([ACCOUNT]);
      again.ws.close();
    } finally {
      await g.close();
    }
  });

  it('a client that does not answer pings is dropped', async () => {
    const g = await startGateway(anvil, { pingIntervalMs: 100 });
    try {
      const c = await connect(g.url, { autoPong: false } as WebSocket.ClientOptions);
      expect((await c.closed).code).toBe(1006);
    } finally {
      await g.close();
    }
  });

  it('shutdown lets a request in flight answer, then closes with 1001', async () => {
    const slowLocal = {
      handles: (m: string) => m === 'eth_accounts',
      call: () => new Promise((resolve) => setTimeout(() => resolve([ACCOUNT]), 300)),
    } as unknown as LocalMethods;
    const g = await startGateway(anvil, { handlerFor: (transport) => new JsonRpcHandler(transport, slowLocal, { maxBatchSize: 10, logger }) });
    const c = await connect(g.url);
    c.send({ jsonrpc: '2.0', id: 1, method: 'eth_accounts' });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const closing = g.close();
    expect((await c.answer(1)).result).toEqual([ACCOUNT]);
    expect(await c.closed).toEqual({ code: 1001, reason: CLOSE_REASON.shutdown });
    await closing;
    expect(g.endpoint.connections).toBe(0);
  });
});
