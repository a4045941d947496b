import type { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';

export interface WsNodeRelay {
  url: string;
  /** Connections open right now (each one is one gateway→node WebSocket). */
  readonly connections: number;
  /** Connections opened since start. */
  readonly opened: number;
  /** Cuts every connection on both sides, as a node restart would. */
  dropAll(): void;
  close(): Promise<void>;
}

/**
 * TEST FIXTURE, not a node and not shipped: a transparent WebSocket relay in front of anvil's own
 * WebSocket endpoint. Every frame passes unchanged both ways (so what the gateway receives is
 * anvil's), and the relay counts the connections, which a test cannot see on anvil itself.
 */
export async function startWsNodeRelay(target: string): Promise<WsNodeRelay> {
  const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const pairs = new Set<{ client: WebSocket; node: WebSocket }>();
  let opened = 0;
  server.on('connection', (client) => {
    opened++;
    const node = new WebSocket(target);
    const pair = { client, node };
    pairs.add(pair);
    const early: Array<{ data: WebSocket.RawData; binary: boolean }> = [];
    client.on('message', (data, binary) => (node.readyState === WebSocket.OPEN ? node.send(data, { binary }) : early.push({ data, binary })));
    node.on('open', () => early.splice(0).forEach(({ data, binary }) => node.send(data, { binary })));
    node.on('message', (data, binary) => client.readyState === WebSocket.OPEN && client.send(data, { binary }));
    const end = () => {
      pairs.delete(pair);
      client.terminate();
      node.terminate();
    };
    client.on('close', end);
    node.on('close', end);
    client.on('error', end);
    node.on('error', end);
  });
  return {
    url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get connections() {
      return pairs.size;
    },
    get opened() {
      return opened;
    },
    dropAll: () => [...pairs].forEach(({ client, node }) => (client.terminate(), node.terminate())),
    close: () =>
      new Promise<void>((resolve) => {
        [...pairs].forEach(({ client, node }) => (client.terminate(), node.terminate()));
        server.close(() => resolve());
      }),
  };
}
