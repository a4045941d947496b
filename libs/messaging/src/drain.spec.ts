import { Controller, Module, type INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { MessagePattern, Payload } from '@nestjs/microservices';
import pino from 'pino';
import { QueueGroups, Routes, type AccountsResolveRequest, type ReplyOf, type Route } from '@hsm-signer/contracts';
import { startNatsServer, type NatsServer } from '@hsm-signer/testing';
import { handleRpc, NatsBus, natsMicroserviceOptions, NoRespondersError, RequestTimeoutError } from './index';

// Shutdown of a real NestJS NATS microservice (draining-nats-server.ts): requests it has are
// answered however long they take (up to the drain timeout), new ones go elsewhere, idle close
// waits for nothing.

const DrainRoute: Route<AccountsResolveRequest, ReplyOf<typeof Routes.accountsResolve>> = {
  ...Routes.accountsResolve,
  subject: 'spec.v1.drain.resolve',
};
const address = (byte: string) => '0x' + byte.repeat(20);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** What the handler does for an address: signal it started, then wait for `work`. */
interface Behaviour {
  started: Promise<void>;
  finished: boolean;
  work(): Promise<void>;
}
const behaviours = new Map<string, Behaviour & { markStarted(): void }>();
function behave(addr: string, work: () => Promise<void>): Behaviour {
  let markStarted!: () => void;
  const started = new Promise<void>((r) => (markStarted = r));
  const behaviour = { started, finished: false, work, markStarted };
  behaviours.set(addr, behaviour);
  return behaviour;
}
/** Addresses each replica's handler saw. */
const handled = new Map<string, string[]>();

function replicaModule(replica: string) {
  @Controller()
  class DrainController {
    @MessagePattern(DrainRoute.subject)
    resolve(@Payload() payload: unknown) {
      return handleRpc(DrainRoute, payload, async (request) => {
        handled.set(replica, [...(handled.get(replica) ?? []), request.address]);
        const behaviour = behaviours.get(request.address);
        if (behaviour) {
          behaviour.markStarted();
          await behaviour.work();
          behaviour.finished = true;
        }
        return { account: { address: request.address, backendId: replica, keyId: '01', status: 'active' as const } };
      });
    }
  }
  @Module({ controllers: [DrainController] })
  class ReplicaModule {}
  return ReplicaModule;
}

interface Replica {
  app: INestMicroservice;
  logs: Array<{ level: number; msg: string } & Record<string, unknown>>;
}
async function startReplica(server: NatsServer, name: string, drainTimeoutMs: number): Promise<Replica> {
  const logs: Replica['logs'] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void logs.push(JSON.parse(line)) });
  const app = await NestFactory.createMicroservice(replicaModule(name), {
    ...natsMicroserviceOptions(server.url, QueueGroups.keyDiscovery, `spec-drain-${name}`, { timeoutMs: drainTimeoutMs, logger }),
    logger: false,
  });
  await app.listen();
  return { app, logs };
}
/** Waits (bounded) until the replica logged `msg`. */
async function logged(replica: Replica, msg: string): Promise<Record<string, unknown>> {
  for (let waited = 0; waited < 5_000; waited += 10) {
    const line = replica.logs.find((l) => l.msg === msg);
    if (line) return line;
    await sleep(10);
  }
  throw new Error(`replica never logged "${msg}"`);
}
const UNSUBSCRIBED = 'NATS responder unsubscribed; answering the requests it has';
const DRAINED = 'NATS responder drained';
const TIMED_OUT = 'NATS drain timed out; closing with requests unanswered';
const PINO_WARN = 40;
const PINO_INFO = 30;

describe('closing a NestJS NATS responder drains it (real nats-server)', () => {
  let server: NatsServer;
  let bus: NatsBus;
  const replicas: Replica[] = [];
  const start = async (name: string, drainTimeoutMs: number) => {
    const replica = await startReplica(server, name, drainTimeoutMs);
    replicas.push(replica);
    return replica;
  };

  beforeAll(async () => {
    server = await startNatsServer();
    bus = await NatsBus.connect({ servers: server.url, name: 'spec-drain', requestTimeoutMs: 5_000 });
  }, 30_000);

  afterEach(async () => {
    await Promise.all(replicas.splice(0).map((r) => r.app.close()));
    behaviours.clear();
    handled.clear();
  });

  afterAll(async () => {
    await bus?.close();
    await server?.stop();
  });

  it('answers a request whose handler outlasts the old 300 ms grace; close returns after the handler finished', async () => {
    const replica = await start('a', 10_000);
    const slow = behave(address('11'), () => sleep(1_500));
    const reply = bus.request(DrainRoute, { address: address('11') });
    await slow.started;
    await sleep(100);
    await replica.app.close();
    expect(slow.finished).toBe(true);
    expect((await reply).account).toMatchObject({ address: address('11'), backendId: 'a' });
    expect(await logged(replica, DRAINED)).toMatchObject({ level: PINO_INFO, drained: 1 });
  }, 15_000);

  it('once closing, new requests are not handled by the closing replica: no responders alone, the other replica in the queue group otherwise', async () => {
    const closing = await start('a', 10_000);
    let release!: () => void;
    const held = behave(address('11'), () => new Promise<void>((r) => (release = r)));
    const inFlight = bus.request(DrainRoute, { address: address('11') });
    await held.started;
    const closed = closing.app.close();
    try {
      await logged(closing, UNSUBSCRIBED);
      // alone in the queue group: the caller is told at once that nobody answers
      await expect(bus.request(DrainRoute, { address: address('22') })).rejects.toBeInstanceOf(NoRespondersError);
      // with another replica in the same queue group: that one answers
      await start('b', 10_000);
      expect((await bus.request(DrainRoute, { address: address('33') })).account?.backendId).toBe('b');
      expect(handled.get('a')).toEqual([address('11')]);
    } finally {
      release();
    }
    expect((await inFlight).account?.backendId).toBe('a');
    await closed;
    expect(await logged(closing, DRAINED)).toMatchObject({ drained: 1 });
  }, 15_000);

  it('idle, close waits for no grace period: it returns long before a large drain timeout', async () => {
    const replica = await start('a', 600_000);
    expect((await bus.request(DrainRoute, { address: address('11') })).account?.backendId).toBe('a');
    // The test's own timeout (10 s) is far below the drain timeout: close must not wait on it.
    await replica.app.close();
    expect(await logged(replica, DRAINED)).toMatchObject({ level: PINO_INFO, drained: 0 });
  }, 10_000);

  it('the drain timeout bounds a handler that never finishes: close returns and warns', async () => {
    const replica = await start('a', 300);
    let release!: () => void;
    const stuck = behave(address('11'), () => new Promise<void>((r) => (release = r)));
    const reply = bus.request(DrainRoute, { address: address('11') }, { timeoutMs: 1_500 });
    await stuck.started;
    await replica.app.close();
    expect(stuck.finished).toBe(false);
    expect(await logged(replica, TIMED_OUT)).toMatchObject({ level: PINO_WARN, unanswered: 1, timeoutMs: 300 });
    await expect(reply).rejects.toBeInstanceOf(RequestTimeoutError);
    // The handler finishing after the connection closed has nowhere to reply to; that must not throw.
    release();
    await sleep(50);
    expect(stuck.finished).toBe(true);
  }, 10_000);
});
