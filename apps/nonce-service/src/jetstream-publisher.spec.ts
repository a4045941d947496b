import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, DiscardPolicy, StringCodec, type NatsConnection } from 'nats';
import { startNatsServer, type NatsServer } from '@hsm-signer/testing';
import { JetStreamPublishError, JetStreamPublisher } from './jetstream-publisher';

const codec = StringCodec();

// Against a real nats-server with JetStream: what the stream stores, dedupe by Nats-Msg-Id, and the
// three ways a publish is not stored (no stream, the stream refuses, no ack in time).
describe('JetStreamPublisher', () => {
  let server: NatsServer;
  let nc: NatsConnection;
  let storeDir: string;

  beforeAll(async () => {
    storeDir = mkdtempSync(join(tmpdir(), 'hsm-jsp-'));
    server = await startNatsServer({ jetstream: true, storeDir });
    nc = await connect({ servers: server.url });
    const jsm = await nc.jetstreamManager();
    await jsm.streams.add({ name: 'SPEC_TX', subjects: ['spec.tx.>'], duplicate_window: 120_000_000_000 });
    await jsm.streams.add({ name: 'SPEC_FULL', subjects: ['spec.full.>'], max_msgs: 1, discard: DiscardPolicy.New });
  });
  afterAll(async () => {
    await nc?.close();
    await server?.stop();
    if (storeDir) rmSync(storeDir, { recursive: true, force: true });
  });

  const item = (subject: string, msgId: string) => ({ subject, data: codec.encode(JSON.stringify({ msgId })), msgId });

  it('stores a batch in order, once per Nats-Msg-Id', async () => {
    const publisher = new JetStreamPublisher(nc);
    expect(await publisher.publishAll([item('spec.tx.1', 'a'), item('spec.tx.2', 'b'), item('spec.tx.3', 'c')])).toEqual([true, true, true]);
    expect(await publisher.publishAll([item('spec.tx.1', 'a'), item('spec.tx.4', 'd')])).toEqual([true, true]); // 'a' again: a duplicate, acked
    const jsm = await nc.jetstreamManager();
    expect((await jsm.streams.info('SPEC_TX')).state.messages).toBe(4);
    const stored = await Promise.all([1, 2, 3, 4].map((seq) => jsm.streams.getMessage('SPEC_TX', { seq })));
    expect(stored.map((m) => m.header.get('Nats-Msg-Id'))).toEqual(['a', 'b', 'c', 'd']);
    publisher.close();
  });

  it('reports each item that was not stored: no stream on the subject, or the stream refusing it', async () => {
    const publisher = new JetStreamPublisher(nc);
    const results = await publisher.publishAll([item('spec.nowhere.1', 'x'), item('spec.full.1', 'y'), item('spec.full.2', 'z'), item('spec.tx.5', 'e')]);
    expect(results[0]).toBeInstanceOf(JetStreamPublishError);
    expect(String(results[0])).toMatch(/no JetStream stream/);
    expect(results[1]).toBe(true);
    expect(results[2]).toBeInstanceOf(JetStreamPublishError);
    expect(String(results[2])).toMatch(/refused/);
    expect(results[3]).toBe(true);
    publisher.close();
  });

  it('gives up on acks that do not come within the timeout', async () => {
    // A plain subscriber on the subject that never answers stands where a stalled stream would.
    const silent = nc.subscribe('spec.silent.>');
    await nc.flush();
    const publisher = new JetStreamPublisher(nc, 300);
    const [result] = await publisher.publishAll([item('spec.silent.1', 's')]);
    expect(result).toBeInstanceOf(JetStreamPublishError);
    expect(String(result)).toMatch(/no JetStream ack within 300 ms/);
    silent.unsubscribe();
    publisher.close();
  });
});
