import { Controller, Module, type INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { MessagePattern, Payload } from '@nestjs/microservices';
import pino from 'pino';
import { batchRoute, ErrorCode, QueueGroups, Routes, type AccountsResolveRequest } from '@hsm-signer/contracts';
import { startNatsServer, type NatsServer } from '@hsm-signer/testing';
import { eachRequest, handleRpcBatch, NatsBus, NoRespondersError, RemoteServiceError, ServiceError, natsMicroserviceOptions } from './index';

// A batched form of accounts.resolve, answered by a real NestJS NATS microservice the way our
// services answer the hot-path batch routes.
const ResolveBatch = batchRoute('spec.v1.accounts.resolve-batch', Routes.accountsResolve);
const NobodyBatch = batchRoute('spec.v1.nobody-batch', Routes.accountsResolve);
const address = (byte: string) => '0x' + byte.repeat(20);
const messages: number[] = [];

@Controller()
class ResolveBatchController {
  @MessagePattern(ResolveBatch.subject)
  resolve(@Payload() payload: unknown) {
    return handleRpcBatch(ResolveBatch, payload, (requests) => {
      messages.push(requests.length);
      return eachRequest((request: AccountsResolveRequest) => {
        if (request.address === address('00')) throw new ServiceError(ErrorCode.UnknownAccount, 'no such account');
        if (request.address === address('ff')) throw new Error('database went away');
        return { account: { address: request.address, backendId: 'pkcs11', keyId: request.address.slice(2, 6), status: 'active' as const } };
      })(requests);
    });
  }
}
@Module({ controllers: [ResolveBatchController] })
class ResolveBatchModule {}

describe('batched requests (contracts batch.ts) through a real nats-server and NestJS', () => {
  let server: NatsServer;
  let bus: NatsBus;
  let app: INestMicroservice;

  beforeAll(async () => {
    server = await startNatsServer();
    bus = await NatsBus.connect({ servers: server.url, name: 'spec-batch', requestTimeoutMs: 2_000 });
    app = await NestFactory.createMicroservice(ResolveBatchModule, { ...natsMicroserviceOptions(server.url, QueueGroups.keyDiscovery, 'spec-batch', { timeoutMs: 10_000, logger: pino({ level: 'silent' }) }), logger: false });
    await app.listen();
  }, 30_000);

  afterAll(async () => {
    await app?.close();
    await bus?.close();
    await server?.stop();
  });

  beforeEach(() => (messages.length = 0));

  it('sends the requests of one event-loop turn as one message and gives each caller its own reply', async () => {
    const callers = ['11', '22', '33', '44', '55'].map((b) => bus.requestBatched(ResolveBatch, { address: address(b).toUpperCase().replace('0X', '0x') }));
    const replies = await Promise.all(callers);
    expect(messages).toEqual([5]);
    expect(replies.map((r) => r.account?.address)).toEqual(['11', '22', '33', '44', '55'].map(address));
    expect(replies.map((r) => r.account?.keyId)).toEqual(['1111', '2222', '3333', '4444', '5555']);
  });

  it('a request made in a later turn goes in a later message (no waiting for company)', async () => {
    const first = await bus.requestBatched(ResolveBatch, { address: address('11') });
    const second = await bus.requestBatched(ResolveBatch, { address: address('22') });
    expect([first.account?.address, second.account?.address]).toEqual([address('11'), address('22')]);
    expect(messages).toEqual([1, 1]);
  });

  it('keeps each failure with its own request: a ServiceError code, HSM99999 for the unexpected, HSM10001 for an invalid item', async () => {
    const results = await Promise.allSettled([
      bus.requestBatched(ResolveBatch, { address: address('11') }),
      bus.requestBatched(ResolveBatch, { address: address('00') }),
      bus.requestBatched(ResolveBatch, { address: address('ff') }),
      bus.requestBatched(ResolveBatch, { address: 'not an address' } as AccountsResolveRequest),
      bus.requestBatched(ResolveBatch, { address: address('22') }),
    ]);
    expect(messages).toEqual([4]); // the invalid item never reached the handler
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'rejected', 'fulfilled']);
    const errors = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason);
    for (const e of errors) expect(e).toBeInstanceOf(RemoteServiceError);
    expect(errors.map((e) => e.code)).toEqual([ErrorCode.UnknownAccount, ErrorCode.Internal, ErrorCode.InvalidRequest]);
    expect(errors[0].message).toBe('no such account');
    expect(errors[1].message).toBe('database went away');
    expect(errors[2].message).toMatch(/items\[3\]\.address must be a 0x-prefixed 20-byte address/);
  });

  it('splits a turn with more than MAX_BATCH_ITEMS requests into several messages', async () => {
    const replies = await Promise.all(Array.from({ length: 300 }, (_, i) => bus.requestBatched(ResolveBatch, { address: '0x' + i.toString(16).padStart(40, '1') })));
    expect(replies).toHaveLength(300);
    expect(messages.reduce((a, b) => a + b, 0)).toBe(300);
    expect(Math.max(...messages)).toBeLessThanOrEqual(256);
  });

  it('fails every request of the message fast with NoRespondersError when nobody answers', async () => {
    const started = Date.now();
    const results = await Promise.allSettled([bus.requestBatched(NobodyBatch, { address: address('11') }), bus.requestBatched(NobodyBatch, { address: address('22') })]);
    for (const r of results) {
      expect(r.status).toBe('rejected');
      expect((r as PromiseRejectedResult).reason).toBeInstanceOf(NoRespondersError);
    }
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});

describe('RequestCoalescer pacing', () => {
  it('holds requests while maxInFlight batches are out, then sends them together; never longer than maxHoldMs', async () => {
    const { RequestCoalescer } = await import('./request-coalescer');
    const sent: number[][] = [];
    const gates: Array<() => void> = [];
    const coalescer = new RequestCoalescer<number, number>(
      (items) => {
        sent.push(items);
        return new Promise((resolve) => gates.push(() => resolve(items.map((x) => x * 10))));
      },
      { maxInFlight: 1, maxHoldMs: 10_000 },
    );
    const first = coalescer.submit(1);
    await new Promise((r) => setImmediate(r));
    const later = [coalescer.submit(2), coalescer.submit(3)];
    await new Promise((r) => setTimeout(r, 20));
    expect(sent).toEqual([[1]]); // 2 and 3 wait for the batch in flight
    gates.shift()!();
    expect(await first).toBe(10);
    await new Promise((r) => setImmediate(r));
    expect(sent).toEqual([[1], [2, 3]]);
    gates.shift()!();
    expect(await Promise.all(later)).toEqual([20, 30]);

    // A responder that never answers holds the next batch for maxHoldMs only.
    const stuck = new RequestCoalescer<number, number>(
      (items) => {
        sent.push(items);
        return items[0] === 100 ? new Promise(() => undefined) : Promise.resolve(items);
      },
      { maxInFlight: 1, maxHoldMs: 30 },
    );
    void stuck.submit(100);
    await new Promise((r) => setImmediate(r));
    const started = Date.now();
    expect(await stuck.submit(7)).toBe(7);
    expect(Date.now() - started).toBeGreaterThanOrEqual(25);
  });
});
