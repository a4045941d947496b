import { existsSync } from 'node:fs';
import { connect, StringCodec } from 'nats';
import { natsAnswers, sharedNatsUrl, startNatsServer } from './nats';

describe('startNatsServer', () => {
  it('starts a private server with JetStream on a free port and removes its store on stop', async () => {
    const server = await startNatsServer({ jetstream: true });
    const nc = await connect({ servers: server.url });
    try {
      const sc = StringCodec();
      const sub = nc.subscribe('probe.echo', { max: 1 });
      void (async () => {
        for await (const m of sub) m.respond(sc.encode(`echo ${sc.decode(m.data)}`));
      })();
      const reply = await nc.request('probe.echo', sc.encode('hi'), { timeout: 2_000 });
      expect(sc.decode(reply.data)).toBe('echo hi');
      const jsm = await nc.jetstreamManager();
      const info = await jsm.getAccountInfo();
      expect(info.limits).toBeDefined();
    } finally {
      await nc.close();
    }
    expect(server.storeDir && existsSync(server.storeDir)).toBe(true);
    await server.stop();
    expect(await natsAnswers('127.0.0.1', server.port)).toBe(false);
    expect(existsSync(server.storeDir!)).toBe(false);
  });

  it('can be killed and started again on the same port', async () => {
    const first = await startNatsServer();
    await first.kill();
    expect(await natsAnswers('127.0.0.1', first.port)).toBe(false);
    const again = await startNatsServer({ port: first.port });
    try {
      expect(again.url).toBe(first.url);
      expect(await natsAnswers('127.0.0.1', first.port)).toBe(true);
    } finally {
      await again.stop();
    }
  });
});

describe('sharedNatsUrl', () => {
  const saved = process.env.NATS_URL;
  afterEach(() => {
    if (saved === undefined) delete process.env.NATS_URL;
    else process.env.NATS_URL = saved;
  });
  it('is NATS_URL when set, else the local server on 4222', () => {
    process.env.NATS_URL = 'nats://10.0.0.9:4333';
    expect(sharedNatsUrl()).toBe('nats://10.0.0.9:4333');
    delete process.env.NATS_URL;
    expect(sharedNatsUrl()).toBe('nats://127.0.0.1:4222');
  });
});
