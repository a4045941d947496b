import 'reflect-metadata';
import type { AddressInfo } from 'node:net';
import { loadConfig, restGatewayConfig } from '@hsm-signer/config';
import { createLogger } from '@hsm-signer/logging';
import { sampleValue, samples } from '@hsm-signer/metrics';
import { createTestDatabase, startNatsServer, type NatsServer, type TestDatabase } from '@hsm-signer/testing';
import { createRestGateway, type RestGateway } from './create-gateway';
import { RestMetrics, replyOutcome, routeKind } from './metrics';
import type { HttpAnswer, RequestContext, RestTransactionRequest } from './dispatch/transaction-dispatcher';

jest.setTimeout(60_000);

/**
 * Checks a scrape line by line against the text format 0.0.4 as prom-client writes it: HELP and TYPE
 * before a family's samples, every sample of a declared family, label pairs quoted, values numbers
 * (NaN and Inf in any case: prom-client writes the event-loop lag's "Nan" before its first sample,
 * and Prometheus parses values with Go's ParseFloat, which takes that).
 * Returns the problems (none for a valid exposition).
 */
function expositionProblems(text: string): string[] {
  const problems: string[] = [];
  const types = new Map<string, string>();
  const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*",?)*\})? (-?[0-9.e+-]+|[nN][aA][nN]|[+-][iI][nN][fF])( -?[0-9]+)?$/;
  const family = (name: string, type: string | undefined) => (type === 'histogram' ? name.replace(/_(bucket|sum|count)$/, '') : type === 'summary' ? name.replace(/_(sum|count)$/, '') : name);
  if (!text.endsWith('\n')) problems.push('no final newline');
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const help = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .*$/.exec(line);
    const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (help) continue;
    if (type) {
      if (types.has(type[1] as string)) problems.push(`second TYPE for ${type[1]}`);
      types.set(type[1] as string, type[2] as string);
      continue;
    }
    const m = SAMPLE.exec(line);
    if (!m) {
      problems.push(`not a sample line: ${line}`);
      continue;
    }
    const name = m[1] as string;
    const declared = [...types.entries()].some(([f, t]) => family(name, t) === f);
    if (!declared) problems.push(`sample of an undeclared family: ${name}`);
  }
  return problems;
}

describe('routeKind', () => {
  it('maps paths to the bounded kinds, never the path itself', () => {
    const cases: Array<[string, string]> = [
      ['/abis', 'abis'],
      ['/abis/6f1c0a9e-0000-4000-8000-000000000001', 'abis'],
      ['/abis/x/0x0000000000000000000000000000000000000001/set?kld-sync=true', 'abis'],
      ['/abis/x?swagger', 'exerciser'],
      ['/abis/x?ui', 'exerciser'],
      ['/contracts/named?openapi&download', 'exerciser'],
      ['/abis/x?abi', 'abis'],
      ['/api-exerciser/assets/swagger-ui.css', 'exerciser'],
      ['/contracts', 'contracts'],
      ['/contracts/c/subscribe', 'contracts'], // a method called subscribe
      ['/contracts/c/Changed/subscribe', 'events'],
      ['/abis/x/0x0000000000000000000000000000000000000001/Changed/subscribe', 'events'],
      ['/eventstreams/1', 'events'],
      ['/subscriptions', 'events'],
      ['/ws', 'events'],
      ['/replies?limit=5', 'replies'],
      ['/reply/abc', 'replies'],
      ['/', 'webhook'],
      ['/?x=1', 'webhook'],
      ['/hook', 'webhook'],
      ['/fasthook', 'webhook'],
      ['/status', 'status'],
      ['/metrics', 'metrics'],
      ['/no/such/route', 'other'],
      ['/abisx', 'other'],
      ['', 'webhook'],
    ];
    for (const [url, kind] of cases) expect([url, routeKind(url)]).toEqual([url, kind]);
    expect(routeKind(undefined)).toBe('webhook');
  });
});

describe('RestMetrics (no gateway)', () => {
  const request = { kind: 'send', tx: { from: '0x01' } } as unknown as RestTransactionRequest;
  const context = {} as RequestContext;

  it('counts synchronous transactions by the answer: 200 mined, 500 failed, thrown error', async () => {
    const metrics = new RestMetrics();
    const answers: Array<HttpAnswer | Error> = [{ status: 200, body: {} }, { status: 500, body: {} }, new Error('no nonce'), { status: 200, body: {} }];
    const sending = metrics.countSync({
      sync: async () => {
        const next = answers.shift() as HttpAnswer | Error;
        if (next instanceof Error) throw next;
        return next;
      },
      async: async () => ({ status: 202, body: { sent: true } }),
    });
    for (let i = 0; i < 4; i++) await sending.sync(request, context).catch(() => undefined);
    expect(await sending.async(request, context)).toEqual({ status: 202, body: { sent: true } });
    const text = await metrics.registry.metrics();
    expect(sampleValue(text, 'hsm_rest_transactions_total', { mode: 'sync', outcome: 'mined' })).toBe(2);
    expect(sampleValue(text, 'hsm_rest_transactions_total', { mode: 'sync', outcome: 'failed' })).toBe(1);
    expect(sampleValue(text, 'hsm_rest_transactions_total', { mode: 'sync', outcome: 'error' })).toBe(1);
    expect(sampleValue(text, 'hsm_rest_transactions_total', { mode: 'async', outcome: 'mined' })).toBe(0);
  });

  it('counts asynchronous transactions by the final replies written (not pending ones, not one another replica wrote first)', async () => {
    const metrics = new RestMetrics();
    let written = true;
    const save = metrics.countAsync(async () => written);
    const reply = (type: string) => ({ headers: { type } });
    await save({ pending: true, body: reply('TransactionPending') });
    await save({ pending: false, body: reply('TransactionSuccess') });
    await save({ pending: false, body: reply('TransactionFailure') });
    await save({ pending: false, body: reply('Error') });
    written = false;
    await save({ pending: false, body: reply('TransactionSuccess') });
    const text = await metrics.registry.metrics();
    expect(sampleValue(text, 'hsm_rest_transactions_total', { mode: 'async', outcome: 'mined' })).toBe(1);
    expect(sampleValue(text, 'hsm_rest_transactions_total', { mode: 'async', outcome: 'failed' })).toBe(1);
    expect(sampleValue(text, 'hsm_rest_transactions_total', { mode: 'async', outcome: 'error' })).toBe(1);
    expect(replyOutcome({ headers: { type: 'TransactionPending' } })).toBeUndefined();
    expect(replyOutcome({})).toBeUndefined();
  });

  it('reads the gauges at scrape time, the pending replies at most once per cache period, and leaves a gauge out when it cannot be read', async () => {
    let processing: number | undefined = undefined;
    let waiting = 3;
    let counts = 0;
    let fail = false;
    const metrics = new RestMetrics({
      asyncProcessing: () => processing,
      syncWaiting: () => waiting,
      pendingReplies: async () => {
        counts++;
        if (fail) throw new Error('database down');
        return 7;
      },
      pendingRepliesCacheMs: 200,
    });
    let text = await metrics.registry.metrics();
    expect(samples(text).filter((s) => s.name === 'hsm_rest_async_processing')).toEqual([]); // the queue does not exist yet
    expect(sampleValue(text, 'hsm_rest_sync_waiting')).toBe(3);
    expect(sampleValue(text, 'hsm_rest_replies_pending')).toBe(7);
    processing = 2;
    waiting = 0;
    await Promise.all([metrics.registry.metrics(), metrics.registry.metrics()]);
    text = await metrics.registry.metrics();
    expect(sampleValue(text, 'hsm_rest_async_processing')).toBe(2);
    expect(sampleValue(text, 'hsm_rest_sync_waiting')).toBe(0);
    expect(counts).toBe(1);
    fail = true;
    await new Promise((r) => setTimeout(r, 250));
    text = await metrics.registry.metrics();
    expect(counts).toBe(2);
    expect(samples(text).filter((s) => s.name === 'hsm_rest_replies_pending')).toEqual([]);
    expect(sampleValue(text, 'hsm_rest_sync_waiting')).toBe(0);
  });

  it('counts deliveries, completed replies and send stages on cells exported at 0 from the start', async () => {
    const metrics = new RestMetrics();
    let text = await metrics.registry.metrics();
    for (const outcome of ['done', 'retry', 'wait-in-flight', 'error', 'dropped']) expect(sampleValue(text, 'hsm_rest_async_deliveries_total', { outcome })).toBe(0);
    expect(sampleValue(text, 'hsm_rest_requests_total', { kind: 'abis', status: '200' })).toBe(0);
    expect(sampleValue(text, 'hsm_send_stage_duration_seconds_count', { stage: 'sign' })).toBe(0);
    metrics.delivered('done');
    metrics.delivered('done');
    metrics.delivered('wait-in-flight');
    metrics.repliesCompleted(3);
    metrics.repliesCompleted(0);
    metrics.send.stageDone('sign', 0.002);
    text = await metrics.registry.metrics();
    expect(sampleValue(text, 'hsm_rest_async_deliveries_total', { outcome: 'done' })).toBe(2);
    expect(sampleValue(text, 'hsm_rest_async_deliveries_total', { outcome: 'wait-in-flight' })).toBe(1);
    expect(sampleValue(text, 'hsm_rest_replies_completed_total')).toBe(3);
    expect(sampleValue(text, 'hsm_send_stage_duration_seconds_bucket', { stage: 'sign', le: '0.0025' })).toBe(1);
    expect(expositionProblems(text)).toEqual([]);
  });
});

describe('rest-gateway GET /metrics (in-process, private nats-server with JetStream, real Postgres)', () => {
  let nats: NatsServer;
  let db: TestDatabase;
  const gateways: RestGateway[] = [];

  beforeAll(async () => {
    nats = await startNatsServer({ jetstream: true });
    db = await createTestDatabase();
  });
  afterEach(async () => {
    for (const g of gateways.splice(0)) await g.app.close();
  });
  afterAll(async () => {
    await nats?.stop();
    await db?.drop();
  });

  // No node on port 1 and no signer / nonce / key-discovery services: the gateway starts anyway.
  async function start(env: Record<string, string> = {}): Promise<{ url: string; gateway: RestGateway }> {
    const config = loadConfig(restGatewayConfig, { NATS_URL: nats.url, DATABASE_URL: db.url, ETH_NODE_URL: 'http://127.0.0.1:1', LOG_LEVEL: 'silent', NATS_REQUEST_TIMEOUT_MS: '1000', ...env });
    const gateway = await createRestGateway(config, createLogger('rest-gateway-metrics-test', 'silent'));
    gateways.push(gateway);
    await gateway.app.listen(0, '127.0.0.1');
    return { url: `http://127.0.0.1:${(gateway.app.getHttpServer().address() as AddressInfo).port}`, gateway };
  }

  async function scrape(url: string): Promise<string> {
    const res = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5_000) });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain; version=0.0.4');
    return res.text();
  }

  it('counts requests by route kind and status, times them, and serves a valid exposition', async () => {
    const { url, gateway } = await start();
    await gateway.context.store.createPendingReply({ id: 'metrics-pending-1', body: { pending: true } });
    const before = await scrape(url);
    expect(expositionProblems(before)).toEqual([]);
    expect(sampleValue(before, 'hsm_rest_requests_total', { kind: 'abis', status: '200' })).toBe(0);
    expect(sampleValue(before, 'hsm_rest_replies_pending')).toBe(await gateway.context.store.countPendingReplies());
    expect(sampleValue(before, 'hsm_rest_replies_pending')).toBeGreaterThanOrEqual(1);
    expect(sampleValue(before, 'hsm_rest_async_processing')).toBe(0);
    expect(sampleValue(before, 'hsm_rest_sync_waiting')).toBe(0);
    expect(sampleValue(before, 'hsm_process_resident_memory_bytes')).toBeGreaterThan(0);

    expect((await fetch(`${url}/abis`)).status).toBe(200);
    expect((await fetch(`${url}/abis`)).status).toBe(200);
    const missing = await fetch(`${url}/no/such/route`);
    expect(missing.status).toBe(404);
    expect((await fetch(`${url}/abis/6f1c0a9e-0000-4000-8000-000000000001`)).status).toBe(404);
    expect((await fetch(`${url}/status`)).status).toBe(200);

    const after = await scrape(url);
    expect(expositionProblems(after)).toEqual([]);
    expect(sampleValue(after, 'hsm_rest_requests_total', { kind: 'abis', status: '200' })).toBe(2);
    expect(sampleValue(after, 'hsm_rest_requests_total', { kind: 'abis', status: '404' })).toBe(1);
    expect(sampleValue(after, 'hsm_rest_requests_total', { kind: 'other', status: '404' })).toBe(1);
    expect(sampleValue(after, 'hsm_rest_requests_total', { kind: 'status', status: '200' })).toBe(1);
    expect(sampleValue(after, 'hsm_rest_requests_total', { kind: 'metrics', status: '200' })).toBe(1); // the first scrape
    expect(sampleValue(after, 'hsm_rest_request_duration_seconds_count', { kind: 'abis' })).toBe(3);
    expect(sampleValue(after, 'hsm_rest_request_duration_seconds_sum', { kind: 'abis' })).toBeGreaterThan(0);
    // The path never becomes a label value.
    const labels = samples(after).flatMap((s) => Object.values(s.labels));
    expect(labels.some((v) => v.includes('/') || v.includes('6f1c0a9e'))).toBe(false);
  });

  it('counts an asynchronous request end to end: the delivery, and its Error reply as an async error', async () => {
    const { url } = await start({ REST_ASYNC_MAX_DELIVERIES: '1' });
    const id = `metrics-async-${Date.now()}`;
    const res = await fetch(`${url}/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ headers: { type: 'DeployContract', id }, from: '0x00000000000000000000000000000000000000aa', abi: [], compiled: '0x6080' }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ sent: true, id });
    // Nobody answers for the account or the nonce: on its only delivery the request ends in an Error reply.
    let reply: { headers?: { type?: string } } | undefined;
    for (let i = 0; i < 100 && reply?.headers?.type !== 'Error'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const r = await fetch(`${url}/replies/${id}`);
      if (r.status === 200) reply = (await r.json()) as typeof reply;
    }
    expect(reply?.headers?.type).toBe('Error');
    const text = await scrape(url);
    expect(sampleValue(text, 'hsm_rest_requests_total', { kind: 'webhook', status: '200' })).toBe(1);
    expect(sampleValue(text, 'hsm_rest_async_deliveries_total', { outcome: 'done' })).toBe(1);
    expect(sampleValue(text, 'hsm_rest_transactions_total', { mode: 'async', outcome: 'error' })).toBe(1);
    expect(sampleValue(text, 'hsm_rest_transactions_total', { mode: 'async', outcome: 'mined' })).toBe(0);
  });

  it('serves no /metrics with METRICS_ENABLED=false: the REST 404, and the API works as before', async () => {
    const { url } = await start({ METRICS_ENABLED: 'false' });
    const res = await fetch(`${url}/metrics`);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: 'No route for GET /metrics', code: 'HSM10404' });
    expect((await fetch(`${url}/abis`)).status).toBe(200);
  });
});
