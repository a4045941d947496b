import { connect, ErrorCode, NatsError, type NatsConnection } from 'nats';
import { startNatsServer, type NatsServer } from '@hsm-signer/testing';
import { ReplyMux } from './reply-mux';

// Request/reply over one inbox subscription, against a real nats-server.
describe('ReplyMux (real nats-server)', () => {
  let server: NatsServer;
  let responder: NatsConnection;
  let requester: NatsConnection;
  let mux: ReplyMux;
  const enc = new TextEncoder();
  const dec = new TextDecoder();

  beforeAll(async () => {
    server = await startNatsServer();
    responder = await connect({ servers: server.url });
    // Answers in reverse order of arrival within a burst: replies come back out of order.
    const held: Array<() => void> = [];
    responder.subscribe('spec.mux.echo', {
      callback: (_e, msg) => {
        held.push(() => msg.respond(enc.encode(`echo:${dec.decode(msg.data)}`)));
        if (held.length === 1) setTimeout(() => held.splice(0).reverse().forEach((f) => f()), 20);
      },
    });
    responder.subscribe('spec.mux.silent', { callback: () => undefined });
    await responder.flush();
    requester = await connect({ servers: server.url });
    mux = new ReplyMux(requester);
    await requester.flush();
  }, 30_000);

  afterAll(async () => {
    await requester?.close();
    await responder?.close();
    await server?.stop();
  });

  afterEach(() => jest.restoreAllMocks());

  it('gives each of many concurrent requests its own reply, and builds no error object on success', async () => {
    const errors = jest.spyOn(NatsError, 'errorForCode');
    const replies = await Promise.all(Array.from({ length: 200 }, (_, i) => mux.request('spec.mux.echo', enc.encode(String(i)), 5_000)));
    expect(replies.map((m) => dec.decode(m.data))).toEqual(Array.from({ length: 200 }, (_, i) => `echo:${i}`));
    expect(errors).not.toHaveBeenCalled();
    expect(mux.size).toBe(0);
  });

  it('fails fast with NoResponders when nothing subscribes to the subject', async () => {
    const started = Date.now();
    const error = await mux.request('spec.mux.nobody', enc.encode('x'), 5_000).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NatsError);
    expect((error as NatsError).code).toBe(ErrorCode.NoResponders);
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('times out with Timeout and forgets the request', async () => {
    const started = Date.now();
    const error = await mux.request('spec.mux.silent', enc.encode('x'), 200).catch((e: unknown) => e);
    expect((error as NatsError).code).toBe(ErrorCode.Timeout);
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    expect(mux.size).toBe(0);
  });

  it('close() answers the waiting requests with ConnectionClosed; a later request subscribes again and gets its reply', async () => {
    const own = new ReplyMux(requester);
    const waiting = own.request('spec.mux.silent', enc.encode('x'), 10_000).catch((e: unknown) => e);
    own.close();
    expect(((await waiting) as NatsError).code).toBe(ErrorCode.ConnectionClosed);
    const reply = await own.request('spec.mux.echo', enc.encode('again'), 5_000);
    expect(dec.decode(reply.data)).toBe('echo:again');
    own.close();
  });

  it('answers requests still waiting when the connection closes with ConnectionClosed, at once; later ones too', async () => {
    const own = await connect({ servers: server.url });
    const ownMux = new ReplyMux(own);
    await own.flush();
    const waiting = ownMux.request('spec.mux.silent', enc.encode('x'), 10_000).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 50));
    const started = Date.now();
    await own.close();
    const error = await waiting;
    expect((error as NatsError).code).toBe(ErrorCode.ConnectionClosed);
    expect(Date.now() - started).toBeLessThan(1_000);
    const after = await ownMux.request('spec.mux.echo', enc.encode('x'), 1_000).catch((e: unknown) => e);
    expect((after as NatsError).code).toBe(ErrorCode.ConnectionClosed);
    expect(ownMux.size).toBe(0);
  });
});
