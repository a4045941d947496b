import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger } from '@hsm-signer/logging';
import { DownstreamTimeoutError, DownstreamUnavailableError } from '@hsm-signer/ethereum';
import { freePort } from '@hsm-signer/testing';
import { WebSocketServer } from 'ws';
import { NodeWebSocketUnavailableError } from './errors';
import { NodeSocket, type NodeSocketOptions } from './node-socket';

const logger = createLogger('node-socket-spec', 'silent');

type Req = { jsonrpc: '2.0'; id?: number | string | null; method: string; params?: unknown[] };

/**
 * FIXTURE standing in for a node's WebSocket JSON-RPC endpoint (not a node): answers each request
 * with `answer(request)` (undefined = never answers), numbers eth_subscribe ids 0x1, 0x2…, and can
 * push notifications or drop every connection.
 */
async function fixtureNode(answer: (r: Req) => unknown = (r) => `${r.method}:${JSON.stringify(r.params ?? [])}`) {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  const received: unknown[] = [];
  let subscriptions = 0;
  wss.on('connection', (ws) => {
    ws.on('message', (data) => {
      const message = JSON.parse(String(data)) as Req | Req[];
      received.push(message);
      const one = (r: Req) => {
        if (r.id === undefined) return undefined;
        const result = r.method === 'eth_subscribe' ? `0x${(++subscriptions).toString(16)}` : r.method === 'eth_unsubscribe' ? true : answer(r);
        return result === undefined ? undefined : { jsonrpc: '2.0', id: r.id, result };
      };
      const reply = Array.isArray(message) ? message.map(one).filter(Boolean) : one(message);
      if (reply !== undefined && !(Array.isArray(reply) && reply.length === 0)) ws.send(JSON.stringify(reply));
    });
  });
  return {
    url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`,
    received,
    get connections() {
      return wss.clients.size;
    },
    clients: () => [...wss.clients],
    push: (text: string) => wss.clients.forEach((c) => c.send(text)),
    dropAll: () => wss.clients.forEach((c) => c.terminate()),
    close: () => new Promise<void>((resolve) => {
      wss.clients.forEach((c) => c.terminate());
      wss.close(() => resolve());
    }),
  };
}

describe('NodeSocket (the per-client WebSocket to the node)', () => {
  let node: Awaited<ReturnType<typeof fixtureNode>>;
  let socket: NodeSocket;
  const notifications: string[] = [];
  const drops: Array<{ subscriptions: number; reason: string }> = [];
  const make = (overrides: Partial<NodeSocketOptions> = {}) =>
    new NodeSocket({
      url: node.url,
      timeoutMs: 2_000,
      pingIntervalMs: 60_000,
      logger,
      onNotification: (text) => notifications.push(text),
      onDrop: (subscriptions, reason) => drops.push({ subscriptions, reason }),
      ...overrides,
    });

  beforeEach(async () => {
    notifications.length = 0;
    drops.length = 0;
    node = await fixtureNode();
    socket = make();
  });
  afterEach(async () => {
    socket.close();
    await node.close();
  });

  it('opens lazily: no connection until the first post', async () => {
    expect(node.connections).toBe(0);
    expect(socket.isOpen).toBe(false);
    const answer = await socket.post(JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'eth_subscribe', params: ['newHeads'] }));
    expect(JSON.parse(answer.body)).toEqual({ jsonrpc: '2.0', id: 7, result: '0x1' });
    expect(node.connections).toBe(1);
    expect(socket.subscriptionCount).toBe(1);
  });

  it('rewrites ids on the way up and restores them: concurrent posts with the same client id each get their own answer', async () => {
    const [a, b] = await Promise.all([
      socket.post(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_a', params: [] })),
      socket.post(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_b', params: [] })),
    ]);
    expect(JSON.parse(a.body)).toEqual({ jsonrpc: '2.0', id: 1, result: 'eth_a:[]' });
    expect(JSON.parse(b.body)).toEqual({ jsonrpc: '2.0', id: 1, result: 'eth_b:[]' });
    const upIds = (node.received as Req[]).map((r) => r.id);
    expect(new Set(upIds).size).toBe(2);
    // One connection for both, opened once although both posts raced to open it.
    expect(node.connections).toBe(1);
  });

  it('forwards a batch as a batch and answers in request order, notifications unanswered', async () => {
    const answer = await socket.post(
      JSON.stringify([
        { jsonrpc: '2.0', id: 0, method: 'eth_subscribe', params: ['logs', {}] },
        { jsonrpc: '2.0', method: 'eth_note' },
        { jsonrpc: '2.0', id: 'x', method: 'eth_x' },
      ]),
    );
    expect(JSON.parse(answer.body)).toEqual([
      { jsonrpc: '2.0', id: 0, result: '0x1' },
      { jsonrpc: '2.0', id: 'x', result: 'eth_x:[]' },
    ]);
    expect(Array.isArray(node.received[0])).toBe(true);
    expect((node.received[0] as Req[])[1]).toEqual({ jsonrpc: '2.0', method: 'eth_note' });
  });

  it('relays what the node pushes (eth_subscription) byte for byte', async () => {
    await socket.post(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_subscribe', params: ['newHeads'] }));
    const text = '{"jsonrpc":"2.0","method":"eth_subscription","params":{"subscription":"0x1","result":{"number":"0x10"}}}';
    node.push(text);
    await waitUntil(() => notifications.length === 1);
    expect(notifications[0]).toBe(text);
  });

  it('counts eth_unsubscribe: a drop after all subscriptions ended reports none', async () => {
    await socket.post(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_subscribe', params: ['newHeads'] }));
    await socket.post(JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'eth_unsubscribe', params: ['0x1'] }));
    expect(socket.subscriptionCount).toBe(0);
    node.dropAll();
    await waitUntil(() => drops.length === 1);
    expect(drops[0]?.subscriptions).toBe(0);
  });

  it('the node dropping the socket reports the lost subscriptions, fails what is pending, and the next post reconnects', async () => {
    const silent = await fixtureNode(() => undefined);
    const s = make({ url: silent.url });
    try {
      // eth_subscribe is answered by the fixture, eth_never is not.
      await s.post(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_subscribe', params: ['newHeads'] }));
      const pending = s.post(JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'eth_never' }));
      await waitUntil(() => silent.received.length === 2);
      silent.dropAll();
      await expect(pending).rejects.toBeInstanceOf(DownstreamUnavailableError);
      await waitUntil(() => drops.length === 1);
      expect(drops[0]?.subscriptions).toBe(1);
      const again = await s.post(JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'eth_subscribe', params: ['newHeads'] }));
      expect(JSON.parse(again.body).result).toBe('0x2');
    } finally {
      s.close();
      await silent.close();
    }
  });

  it('a node that does not answer: the post fails with the node timeout, not a hang', async () => {
    const silent = await fixtureNode(() => undefined);
    const s = make({ url: silent.url, timeoutMs: 300 });
    try {
      await expect(s.post(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_never' }))).rejects.toBeInstanceOf(DownstreamTimeoutError);
    } finally {
      s.close();
      await silent.close();
    }
  });

  it('nothing listening: a clear -32000 naming ETH_NODE_WS_URL', async () => {
    const s = make({ url: `ws://127.0.0.1:${await freePort()}` });
    const error = await s.post(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_subscribe', params: ['newHeads'] })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NodeWebSocketUnavailableError);
    expect((error as NodeWebSocketUnavailableError).code).toBe(-32000);
    expect((error as Error).message).toMatch(/WebSocket is not reachable.*ETH_NODE_WS_URL/);
  });

  it('an HTTP-only node (upgrade refused with 400, as geth without --ws answers): the same error', async () => {
    const http: Server = createServer((_req, res) => res.writeHead(400).end('not a websocket endpoint'));
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', () => resolve()));
    const s = make({ url: `ws://127.0.0.1:${(http.address() as AddressInfo).port}` });
    try {
      await expect(s.post(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_subscribe', params: ['newHeads'] }))).rejects.toBeInstanceOf(NodeWebSocketUnavailableError);
    } finally {
      s.close();
      await new Promise((resolve) => http.close(resolve));
    }
  });

  it('close() (the client left) closes the node connection without reporting a drop', async () => {
    await socket.post(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_subscribe', params: ['newHeads'] }));
    expect(node.connections).toBe(1);
    socket.close();
    await waitUntil(() => node.connections === 0);
    expect(drops).toEqual([]);
    await expect(socket.post(JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'eth_subscribe', params: ['newHeads'] }))).rejects.toBeInstanceOf(DownstreamUnavailableError);
  });

  it('a node that stops answering pings is dropped', async () => {
    const s = make({ pingIntervalMs: 100 });
    try {
      await s.post(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_subscribe', params: ['newHeads'] }));
      // Stop the fixture's side from reading (so from ponging) without closing it.
      for (const client of node.clients()) (client as unknown as { _socket: { pause(): void } })._socket.pause();
      await waitUntil(() => drops.length === 1);
      expect(drops[0]?.subscriptions).toBe(1);
    } finally {
      s.close();
    }
  });
});

async function waitUntil(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
