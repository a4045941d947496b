import { Controller, Module, type INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { MessagePattern, Payload } from '@nestjs/microservices';
import pino from 'pino';
import { connect, JSONCodec, type NatsConnection } from 'nats';
import { ErrorCode, Events, QueueGroups, Routes, Subjects, type AccountsResolveRequest } from '@hsm-signer/contracts';
import { startNatsServer, type NatsServer } from '@hsm-signer/testing';
import { MessagingUnavailableError, NatsBus, NoRespondersError, RemoteServiceError, RequestTimeoutError, ServiceError, handleRpc, natsMicroserviceOptions } from './index';

const ADDRESS = '0x' + 'ab'.repeat(20);
const codec = JSONCodec<unknown>();

/** A real NestJS NATS microservice answering accounts.resolve the way our services do. */
@Controller()
class ResolveController {
  @MessagePattern(Subjects.accountsResolve)
  resolve(@Payload() payload: unknown) {
    return handleRpc(Routes.accountsResolve, payload, (request: AccountsResolveRequest) => {
      if (request.address === '0x' + '00'.repeat(20)) throw new ServiceError(ErrorCode.UnknownAccount, 'no such account');
      if (request.address === '0x' + 'ff'.repeat(20)) throw new Error('database went away');
      return { account: { address: request.address, backendId: 'pkcs11', keyId: '01', status: 'active' as const } };
    });
  }
}
@Module({ controllers: [ResolveController] })
class ResolveModule {}

describe('NatsBus against a real nats-server and a NestJS microservice', () => {
  let server: NatsServer;
  let bus: NatsBus;
  let raw: NatsConnection;
  let app: INestMicroservice;

  beforeAll(async () => {
    server = await startNatsServer();
    bus = await NatsBus.connect({ servers: server.url, name: 'spec', requestTimeoutMs: 2_000 });
    raw = await connect({ servers: server.url });
    app = await NestFactory.createMicroservice(ResolveModule, { ...natsMicroserviceOptions(server.url, QueueGroups.keyDiscovery, 'spec-kd', { timeoutMs: 10_000, logger: pino({ level: 'silent' }) }), logger: false });
    await app.listen();
  }, 30_000);

  afterAll(async () => {
    await app?.close();
    await raw?.close();
    await bus?.close();
    await server?.stop();
  });

  it('round-trips a request through Nest and validates the reply', async () => {
    const reply = await bus.request(Routes.accountsResolve, { address: ADDRESS.toUpperCase().replace('0X', '0x') });
    expect(reply.account).toEqual({ address: ADDRESS, backendId: 'pkcs11', keyId: '01', status: 'active' });
  });

  it('carries a ServiceError code to the caller', async () => {
    const error = await bus.request(Routes.accountsResolve, { address: '0x' + '00'.repeat(20) }).catch((e) => e);
    expect(error).toBeInstanceOf(RemoteServiceError);
    expect(error).toMatchObject({ code: ErrorCode.UnknownAccount, message: 'no such account', subject: Subjects.accountsResolve });
  });

  it('turns an unexpected handler error into HSM99999 with its message only', async () => {
    const error = await bus.request(Routes.accountsResolve, { address: '0x' + 'ff'.repeat(20) }).catch((e) => e);
    expect(error).toMatchObject({ code: ErrorCode.Internal, message: 'database went away' });
    expect(String(error.stack)).not.toContain('ResolveController');
  });

  it('rejects an invalid payload on receipt with the field named', async () => {
    const error = await bus.request(Routes.accountsResolve, { address: 'nope' } as AccountsResolveRequest).catch((e) => e);
    expect(error).toMatchObject({ code: ErrorCode.InvalidRequest });
    expect(error.message).toMatch(/address must be a 0x-prefixed 20-byte address/);
  });

  it('fails fast with NoRespondersError when no service subscribes', async () => {
    const started = Date.now();
    const error = await bus.request(Routes.signerListKeys, {}, { timeoutMs: 5_000 }).catch((e) => e);
    expect(error).toBeInstanceOf(NoRespondersError);
    expect(error.message).toMatch(/hsm\.v1\.signer\.list-keys.*is it running/);
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('times out with RequestTimeoutError when the service never answers', async () => {
    const sub = raw.subscribe(Subjects.nonceAllocate); // subscribed, silent
    await raw.flush();
    const started = Date.now();
    const error = await bus.request(Routes.nonceAllocate, { chainId: 1, address: ADDRESS }, { timeoutMs: 300 }).catch((e) => e);
    sub.unsubscribe();
    expect(error).toBeInstanceOf(RequestTimeoutError);
    expect(error).toMatchObject({ timeoutMs: 300 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(280);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('refuses a malformed reply instead of passing it on', async () => {
    const sub = raw.subscribe(Subjects.nonceRecordOutcome, {
      callback: (_err, msg) => msg.respond(codec.encode({ id: 'x', response: { ok: 'yes' }, isDisposed: true })),
    });
    await raw.flush();
    const error = await bus.request(Routes.nonceRecordOutcome, { transactionId: 't', outcome: 'abandoned' }).catch((e) => e);
    sub.unsubscribe();
    expect(error).toBeInstanceOf(RemoteServiceError);
    expect(error.message).toMatch(/malformed reply.*ok must be one of 1/);
  });

  it('delivers valid events to every subscriber and reports invalid ones', async () => {
    const received: unknown[] = [];
    const invalid: unknown[] = [];
    const other = await NatsBus.connect({ servers: server.url, name: 'spec-2' });
    bus.subscribe(Events.accountsChanged, (e) => received.push(e), (e) => invalid.push(e));
    other.subscribe(Events.accountsChanged, (e) => received.push(e));
    await bus.connection.flush();
    await other.connection.flush();
    other.publish(Events.accountsChanged, { added: [ADDRESS], removed: [], at: 'now' });
    raw.publish(Subjects.accountsChanged, codec.encode({ pattern: Subjects.accountsChanged, data: { added: 'x' } }));
    await new Promise((r) => setTimeout(r, 300));
    await other.close();
    expect(received).toEqual([
      { added: [ADDRESS], removed: [], at: 'now' },
      { added: [ADDRESS], removed: [], at: 'now' },
    ]);
    expect(invalid).toHaveLength(1);
  });

  it('says so when used after close', async () => {
    const closed = await NatsBus.connect({ servers: server.url, name: 'spec-closed' });
    await closed.close();
    await expect(closed.request(Routes.accountsList, {})).rejects.toBeInstanceOf(MessagingUnavailableError);
  });
});
