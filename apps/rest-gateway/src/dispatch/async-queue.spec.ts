import { QueueGroups, Subjects, type RestAsyncRequest } from '@hsm-signer/contracts';
import { startNatsServer, type NatsServer } from '@hsm-signer/testing';
import { connect, type NatsConnection } from 'nats';
import { AsyncRequestQueue, retryDelayMs, type AsyncDelivery, type AsyncOutcome, type AsyncQueueOptions } from './async-queue';

// A private nats-server with JetStream per test; JetStream's fetch waits up to 2 s on an empty stream.
jest.setTimeout(30_000);

const STREAM = 'TEST_REST_REQUESTS';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const request = (id: string): RestAsyncRequest => ({
  id,
  kind: 'send',
  tx: { from: '0x' + '1'.repeat(40), to: '0x' + '2'.repeat(40), data: '0x12345678' },
  receivedAt: 1_700_000_000_000,
  baseUrl: 'http://gw.example',
  requestPayload: `{"id":"${id}"}`,
});

async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`${what} not met within ${timeoutMs} ms`);
    await sleep(20);
  }
}

interface Handled {
  id: string;
  delivery: AsyncDelivery;
  at: number;
}

/** A handler that records each delivery in `handled` and answers with `outcomes` in turn (the last one from then on). */
function scripted(handled: Handled[], ...outcomes: AsyncOutcome[]) {
  return async (r: RestAsyncRequest, delivery: AsyncDelivery): Promise<AsyncOutcome> => {
    handled.push({ id: r.id, delivery, at: Date.now() });
    return outcomes[Math.min(handled.length, outcomes.length) - 1];
  };
}

describe('retryDelayMs', () => {
  it('backs off 1 s, 2 s, 4 s … up to 30 s', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 20].map(retryDelayMs)).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000]);
    expect(retryDelayMs(0)).toBe(1_000);
  });
});

describe('AsyncRequestQueue (private nats-server with JetStream)', () => {
  let nats: NatsServer;
  let connections: NatsConnection[];
  let queues: AsyncRequestQueue[];
  let logger: { warn: jest.Mock; error: jest.Mock };

  beforeEach(async () => {
    nats = await startNatsServer({ jetstream: true });
    connections = [];
    queues = [];
    logger = { warn: jest.fn(), error: jest.fn() };
  });
  afterEach(async () => {
    await Promise.all(queues.map((q) => q.stop()));
    await Promise.all(connections.map((c) => c.drain().catch(() => undefined)));
    await nats?.stop();
  });

  async function connection(): Promise<NatsConnection> {
    const nc = await connect({ servers: nats.url });
    connections.push(nc);
    return nc;
  }

  async function queue(
    handler: (request: RestAsyncRequest, delivery: AsyncDelivery) => Promise<AsyncOutcome>,
    options: Partial<AsyncQueueOptions> = {},
    nc?: NatsConnection,
  ): Promise<AsyncRequestQueue> {
    const q = new AsyncRequestQueue(nc ?? (await connection()), { stream: STREAM, concurrency: 4, maxDeliveries: 5, logger, ...options }, handler);
    queues.push(q);
    return q;
  }

  /** Messages left in the work-queue stream (an acked message is removed). */
  const streamMessages = async () => (await (await connections[0].jetstreamManager()).streams.info(STREAM)).state.messages;
  const consumerInfo = async () => (await connections[0].jetstreamManager()).consumers.info(STREAM, QueueGroups.restGateway);

  it('ensure() creates the work-queue stream on the request subject and the shared durable consumer, idempotently', async () => {
    const q = await queue(async () => 'done');
    await q.ensure();
    await q.ensure();
    const jsm = await connections[0].jetstreamManager();
    const stream = await jsm.streams.info(STREAM);
    expect(stream.config.subjects).toEqual([Subjects.restRequests]);
    expect(stream.config.retention).toBe('workqueue');
    expect(stream.config.duplicate_window).toBe(120_000 * 1_000_000);
    const consumer = await consumerInfo();
    expect(consumer.config.durable_name).toBe(QueueGroups.restGateway);
    expect(consumer.config.ack_policy).toBe('explicit');
  });

  it('ensure() from two replicas at once: both succeed on one stream', async () => {
    const [a, b] = [await queue(async () => 'done'), await queue(async () => 'done')];
    await Promise.all([a.ensure(), b.ensure()]);
    const jsm = await connections[0].jetstreamManager();
    const names: string[] = [];
    for await (const s of jsm.streams.list()) names.push(s.config.name);
    expect(names).toEqual([STREAM]);
  });

  it('a request published twice with one id is stored once: the second publish says duplicate', async () => {
    const q = await queue(async () => 'done');
    await q.ensure();
    expect(await q.publish(request('same-id'))).toEqual({ duplicate: false });
    expect(await q.publish(request('same-id'))).toEqual({ duplicate: true });
    expect(await q.publish(request('other-id'))).toEqual({ duplicate: false });
    expect(await streamMessages()).toBe(2);
  });

  it("'done': the handler gets the request once (attempt 1), it is acked and not delivered again", async () => {
    const handled: Handled[] = [];
    const q = await queue(scripted(handled, 'done'));
    await q.start();
    await q.publish(request('req-done'));
    await until(() => handled.length === 1);
    expect(handled[0].id).toBe('req-done');
    expect(handled[0].delivery).toEqual({ attempt: 1, last: false });
    await until(async () => (await streamMessages()) === 0, 5_000, 'acked message removed from the work queue');
    await sleep(1_500); // longer than any retry delay
    expect(handled).toHaveLength(1);
    expect((await consumerInfo()).num_ack_pending).toBe(0);
  });

  it('the handler gets the request as published', async () => {
    const got: RestAsyncRequest[] = [];
    const q = await queue(async (r) => {
      got.push(r);
      return 'done';
    });
    await q.start();
    const sent = { ...request('full'), kind: 'deploy' as const, abiId: 'abi-1', registerAs: 'Token', tx: { from: '0x' + 'a'.repeat(40), data: '0x6080', value: '0x10', gas: '0x5208' } };
    await q.publish(sent);
    await until(() => got.length === 1);
    expect(got[0]).toEqual(sent);
  });

  it("'retry': delivered again after about 1 s, as attempt 2", async () => {
    const handled: Handled[] = [];
    const q = await queue(scripted(handled, 'retry', 'done'));
    await q.start();
    await q.publish(request('req-retry'));
    await until(() => handled.length === 2, 8_000, 'redelivery');
    expect(handled.map((h) => h.delivery)).toEqual([
      { attempt: 1, last: false },
      { attempt: 2, last: false },
    ]);
    expect(handled[1].at - handled[0].at).toBeGreaterThanOrEqual(900);
    await until(async () => (await streamMessages()) === 0, 5_000, 'acked after the second delivery');
  });

  it("the delivery number maxDeliveries is 'last'; a 'retry' on it is acked (the handler wrote the final reply)", async () => {
    const handled: Handled[] = [];
    const q = await queue(scripted(handled, 'retry'), { maxDeliveries: 2 });
    await q.start();
    await q.publish(request('req-last'));
    await until(() => handled.length === 2, 8_000, 'redelivery');
    expect(handled.map((h) => h.delivery)).toEqual([
      { attempt: 1, last: false },
      { attempt: 2, last: true },
    ]);
    await until(async () => (await streamMessages()) === 0, 5_000, 'acked after the last delivery');
    await sleep(2_500); // a third delivery would come after retryDelayMs(2) = 2 s
    expect(handled).toHaveLength(2);
  });

  it("'wait-in-flight' keeps the delivery: asked again about every second as the same attempt, so the waits do not use up maxDeliveries", async () => {
    const handled: Handled[] = [];
    const q = await queue(scripted(handled, 'wait-in-flight', 'wait-in-flight', 'wait-in-flight', 'retry', 'done'), { maxDeliveries: 3 });
    await q.start();
    await q.publish(request('req-wait'));
    await until(() => handled.length === 5, 12_000, 'the waits, the retry and its redelivery');
    // Before: every wait was a nak, so the retry came as attempt 4 (> maxDeliveries, 'last') and was final.
    expect(handled.map((h) => h.delivery)).toEqual([
      { attempt: 1, last: false },
      { attempt: 1, last: false },
      { attempt: 1, last: false },
      { attempt: 1, last: false },
      { attempt: 2, last: false },
    ]);
    expect(handled[1].at - handled[0].at).toBeGreaterThanOrEqual(900);
    await until(async () => (await streamMessages()) === 0, 5_000, 'acked after the second delivery');
  });

  it('stop() during a wait gives the request back at once (nak): another replica picks it up and goes on', async () => {
    const first: Handled[] = [];
    const a = await queue(scripted(first, 'wait-in-flight'));
    await a.start();
    await a.publish(request('req-handover'));
    await until(() => first.length === 1, 8_000, 'first delivery');
    const stopStarted = Date.now();
    await a.stop();
    // Bounded by the pull loop's fetch expiry (2 s), not by the wait (up to IN_FLIGHT_PATIENCE_MS).
    expect(Date.now() - stopStarted).toBeLessThan(3_000);
    const second: Handled[] = [];
    const b = await queue(scripted(second, 'done'));
    await b.start();
    await until(() => second.length === 1, 10_000, 'redelivery to the other replica');
    // 2, or 3 when the stopping replica's last fetch took the nak'd message once more (and gave it back).
    expect(second[0].delivery.attempt).toBeGreaterThanOrEqual(2);
    expect(second[0].delivery.attempt).toBeLessThanOrEqual(3);
    await until(async () => (await streamMessages()) === 0, 5_000, 'acked by the other replica');
  });

  it('a handler that throws: logged and delivered again', async () => {
    const handled: Handled[] = [];
    const q = await queue(async (r, delivery) => {
      handled.push({ id: r.id, delivery, at: Date.now() });
      if (handled.length === 1) throw new Error('postgres went away');
      return 'done';
    });
    await q.start();
    await q.publish(request('req-throw'));
    await until(() => handled.length === 2, 8_000, 'redelivery');
    expect(handled[1].delivery.attempt).toBe(2);
    expect(logger.error).toHaveBeenCalledWith(expect.objectContaining({ err: 'postgres went away', id: 'req-throw' }), expect.any(String));
    await until(async () => (await streamMessages()) === 0, 5_000, 'acked after the second delivery');
  });

  it('an unreadable message is terminated: logged once, never handled, never delivered again; the next request is handled', async () => {
    const handled: string[] = [];
    const q = await queue(async (r) => {
      handled.push(r.id);
      return 'done';
    });
    await q.start();
    const js = connections[0].jetstream();
    await js.publish(Subjects.restRequests, new TextEncoder().encode('this is not json {'));
    await js.publish(Subjects.restRequests, new TextEncoder().encode(JSON.stringify({ id: 'x', kind: 'transfer' })));
    await q.publish(request('after-garbage'));
    await until(() => handled.length === 1);
    expect(handled).toEqual(['after-garbage']);
    await until(() => logger.error.mock.calls.length === 2, 5_000, 'both unreadable messages logged');
    await sleep(1_500); // longer than any retry delay
    expect(logger.error).toHaveBeenCalledTimes(2);
    expect(logger.error.mock.calls.map((c) => c[1])).toEqual(['dropping an unreadable asynchronous request', 'dropping an unreadable asynchronous request']);
    // Terminated means the server let go of it: not pending an ack (else it comes back after ack_wait).
    // nats-server 2.9 (Debian's, shared/services.md) takes only a bare "+TERM": "+TERM <reason>" is a 2.10 form it ignores.
    const consumer = await consumerInfo();
    expect(consumer.num_ack_pending).toBe(0);
    expect(consumer.num_redelivered).toBe(0);
    expect(consumer.num_pending).toBe(0);
  });

  it('two queue instances (two replicas) on one stream share the work: each request handled once', async () => {
    const handledBy = new Map<string, string[]>();
    const handler = (name: string) => async (r: RestAsyncRequest) => {
      handledBy.set(r.id, [...(handledBy.get(r.id) ?? []), name]);
      await sleep(30);
      return 'done' as const;
    };
    const a = await queue(handler('a'), { concurrency: 2 });
    const b = await queue(handler('b'), { concurrency: 2 });
    await a.start();
    await b.start();
    const ids = Array.from({ length: 30 }, (_v, i) => `shared-${i}`);
    for (const id of ids) await a.publish(request(id));
    await until(() => handledBy.size === ids.length, 15_000, 'all requests handled');
    await until(async () => (await streamMessages()) === 0, 5_000, 'all acked');
    await sleep(1_200);
    expect([...handledBy.keys()].sort()).toEqual([...ids].sort());
    for (const id of ids) expect(handledBy.get(id)).toHaveLength(1);
    const byA = [...handledBy.values()].filter((v) => v[0] === 'a').length;
    expect(byA).toBeGreaterThan(0);
    expect(byA).toBeLessThan(ids.length);
  });

  it('never runs more than `concurrency` handlers at once, and uses them all', async () => {
    let active = 0;
    let maxActive = 0;
    let done = 0;
    const q = await queue(
      async () => {
        active++;
        maxActive = Math.max(maxActive, active, q.processing);
        await sleep(60);
        active--;
        done++;
        return 'done';
      },
      { concurrency: 3 },
    );
    await q.ensure();
    for (let i = 0; i < 15; i++) await q.publish(request(`c-${i}`));
    await q.start();
    await until(() => done === 15, 15_000, 'all requests handled');
    expect(maxActive).toBe(3);
  });

  it('stop() waits for the handlers in flight, whose outcome is then acked', async () => {
    let release!: () => void;
    const started: string[] = [];
    const q = await queue(async (r) => {
      started.push(r.id);
      await new Promise<void>((resolve) => (release = resolve));
      return 'done';
    });
    await q.start();
    await q.publish(request('in-flight'));
    await until(() => started.length === 1);
    expect(q.processing).toBe(1);
    let stopped = false;
    const stopping = q.stop().then(() => (stopped = true));
    await sleep(2_500); // longer than a fetch's expiry: only the handler holds stop() back
    expect(stopped).toBe(false);
    release();
    await stopping;
    expect(q.processing).toBe(0);
    await until(async () => (await streamMessages()) === 0, 5_000, 'the in-flight request acked');
  });

  it('after stop() no more requests are taken', async () => {
    const handled: string[] = [];
    const q = await queue(async (r) => {
      handled.push(r.id);
      return 'done';
    });
    await q.start();
    await q.stop();
    await q.publish(request('after-stop'));
    await sleep(1_000);
    expect(handled).toEqual([]);
    expect(await streamMessages()).toBe(1);
  });
});
