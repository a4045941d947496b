import { createServer, Agent, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpDrain } from './http-drain';

/** GET / on a keep-alive agent; resolves with the Connection header, or the error. */
function get(port: number, agent: Agent): Promise<{ connection?: string; endedAt: number } | Error> {
  return new Promise((resolve) => {
    const req = request({ port, host: '127.0.0.1', path: '/', agent }, (res) => {
      res.resume();
      res.on('end', () => resolve({ connection: res.headers['connection'], endedAt: Date.now() }));
    });
    req.on('error', (error) => resolve(error));
    req.end();
  });
}

describe('HttpDrain: a server under keep-alive load finishes closing', () => {
  let server: Server;
  let port: number;

  beforeEach(async () => {
    // 30 ms per answer: when draining begins, every client has a request in flight.
    server = createServer((_req, res) => setTimeout(() => res.end('ok'), 30));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  afterEach(() => {
    server.closeAllConnections();
    server.close();
  });

  /** Clients that send back to back on their kept-alive connections until told to stop. */
  function load(agent: Agent, clients: number) {
    let running = true;
    const answers: Array<{ connection?: string; endedAt: number } | Error> = [];
    const done = Promise.all(
      Array.from({ length: clients }, async () => {
        while (running) answers.push(await get(port, agent));
      }),
    );
    return { answers, stop: async () => ((running = false), await done) };
  }

  it('without it, server.close() does not finish while busy keep-alive connections keep sending (the problem it solves)', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 4 });
    const clients = load(agent, 4);
    await new Promise((r) => setTimeout(r, 100));
    let closed = false;
    server.close(() => (closed = true));
    await new Promise((r) => setTimeout(r, 1_000));
    expect(closed).toBe(false);
    await clients.stop();
    agent.destroy();
  });

  it('with it, responses say Connection: close and the server closes while the clients still send', async () => {
    const drain = new HttpDrain(server, 5_000);
    const agent = new Agent({ keepAlive: true, maxSockets: 4 });
    const clients = load(agent, 4);
    await new Promise((r) => setTimeout(r, 100));
    const beganAt = Date.now();
    drain.begin();
    const closedAt = await new Promise<number>((resolve) => {
      const started = Date.now();
      server.close(() => resolve(Date.now() - started));
    });
    expect(closedAt).toBeLessThan(2_000);
    await clients.stop();
    agent.destroy();
    // Answered after draining began (the requests in flight then): each told the client to close.
    // (Errors from node:http are of another realm under jest: told apart by `endedAt`.)
    const after = clients.answers.filter((a): a is { connection?: string; endedAt: number } => typeof (a as { endedAt?: unknown }).endedAt === 'number' && (a as { endedAt: number }).endedAt > beganAt + 5);
    expect(after.length).toBeGreaterThan(0);
    expect(after.map((a) => a.connection)).toEqual(after.map(() => 'close'));
    drain.end();
  });

  it('cuts connections still busy after the grace period', async () => {
    const slow = createServer(() => undefined); // never answers
    await new Promise<void>((r) => slow.listen(0, '127.0.0.1', r));
    const slowPort = (slow.address() as AddressInfo).port;
    const drain = new HttpDrain(slow, 300);
    const pending = get(slowPort, new Agent({ keepAlive: true }));
    await new Promise((r) => setTimeout(r, 100));
    drain.begin();
    const started = Date.now();
    await new Promise<void>((r) => slow.close(() => r()));
    expect(Date.now() - started).toBeLessThan(2_000);
    // The request was cut (an Error from node:http, another realm under jest: matched by its message).
    expect(await pending).toMatchObject({ message: expect.stringMatching(/socket hang up|ECONNRESET/) });
  });
});
