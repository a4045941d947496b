import { createServer, Agent, request, type Server, type ServerResponse } from 'node:http';
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

// Without HttpDrain, whether server.close() finishes under keep-alive load depends on timing (a
// connection busy at that moment stays open while its client keeps sending); a request that is never
// answered holds it for good. Both cases are what these tests pin down with the drain in place.
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
    // Bounded (10 s) and backing off after an error, so a failed assertion never leaves a spinning loop behind.
    const until = Date.now() + 10_000;
    const done = Promise.all(
      Array.from({ length: clients }, async () => {
        while (running && Date.now() < until) {
          const answer = await get(port, agent);
          answers.push(answer);
          if (typeof (answer as { endedAt?: unknown }).endedAt !== 'number') await new Promise((r) => setTimeout(r, 20));
        }
      }),
    );
    return { answers, stop: async () => ((running = false), await done) };
  }

  it('responses in progress when draining begins say Connection: close, and the server closes while its clients still send', async () => {
    // Every client's request is held until draining has begun: four connections busy at that moment.
    const held: ServerResponse[] = [];
    let hold = true;
    server.removeAllListeners('request');
    server.on('request', (_req, res: ServerResponse) => (hold ? held.push(res) : setTimeout(() => res.end('ok'), 5)));
    const drain = new HttpDrain(server, 5_000);
    const agent = new Agent({ keepAlive: true, maxSockets: 4 });
    const clients = load(agent, 4);
    let closedAt: number;
    try {
      const deadline = Date.now() + 10_000;
      while (held.length < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      expect(held.length).toBe(4);
      drain.begin();
      const closed = new Promise<number>((resolve) => {
        const started = Date.now();
        server.close(() => resolve(Date.now() - started));
      });
      hold = false;
      for (const res of held) res.end('ok');
      closedAt = await closed;
    } finally {
      await clients.stop();
      agent.destroy();
    }
    expect(closedAt).toBeLessThan(2_000);
    const answered = clients.answers.filter((a): a is { connection?: string; endedAt: number } => typeof (a as { endedAt?: unknown }).endedAt === 'number');
    expect(answered.length).toBeGreaterThanOrEqual(4);
    expect(answered.map((a) => a.connection)).toEqual(answered.map(() => 'close'));
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
