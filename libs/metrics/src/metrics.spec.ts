import { Controller, Get, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { INestApplication } from '@nestjs/common';
import { Gauge } from 'prom-client';
import { BoundedValues, CounterFamily, createMetricsRegistry, HistogramFamily, LATENCY_BUCKETS_SECONDS, MetricsModule, sampleValue, samples } from './index';

describe('createMetricsRegistry', () => {
  it('carries the default Node metrics under the hsm_ prefix, in its own registry', async () => {
    const a = createMetricsRegistry();
    const b = createMetricsRegistry();
    new CounterFamily({ name: 'hsm_only_in_a_total', help: 'a', registers: [a] }).cell().inc();
    const text = await a.metrics();
    expect(sampleValue(text, 'hsm_process_cpu_user_seconds_total')).toBeGreaterThanOrEqual(0);
    expect(text).toContain('# TYPE hsm_nodejs_eventloop_lag_seconds gauge');
    expect(sampleValue(text, 'hsm_only_in_a_total')).toBe(1);
    expect(samples(text).every((s) => s.name.startsWith('hsm_'))).toBe(true);
    expect(await b.metrics()).not.toContain('hsm_only_in_a_total');
  });
});

describe('CounterFamily / HistogramFamily', () => {
  it('export their cells in the text format: counters, cumulative buckets, sum and count, 0 until observed', async () => {
    const registry = createMetricsRegistry();
    const counter = new CounterFamily({ name: 'hsm_test_total', help: 't', labelNames: ['method', 'outcome'], registers: [registry] });
    const ok = counter.cell('eth_accounts', 'ok');
    expect(counter.cell('eth_accounts', 'ok')).toBe(ok);
    ok.inc();
    ok.inc(2);
    counter.cell('eth_accounts', 'error');
    const histogram = new HistogramFamily({ name: 'hsm_test_seconds', help: 't', labelNames: ['stage'], buckets: LATENCY_BUCKETS_SECONDS, registers: [registry] });
    const sign = histogram.cell('sign');
    sign.observe(0.002);
    sign.observe(0.001); // on a bound: counted in that bucket (le = less or equal)
    sign.observe(60);
    histogram.cell('submit');
    const text = await registry.metrics();
    expect(text).toContain('# TYPE hsm_test_total counter');
    expect(text).toContain('# TYPE hsm_test_seconds histogram');
    expect(sampleValue(text, 'hsm_test_total', { method: 'eth_accounts', outcome: 'ok' })).toBe(3);
    expect(sampleValue(text, 'hsm_test_total', { outcome: 'error', method: 'eth_accounts' })).toBe(0);
    expect(sampleValue(text, 'hsm_test_seconds_bucket', { stage: 'sign', le: '0.0005' })).toBe(0);
    expect(sampleValue(text, 'hsm_test_seconds_bucket', { stage: 'sign', le: '0.001' })).toBe(1);
    expect(sampleValue(text, 'hsm_test_seconds_bucket', { stage: 'sign', le: '0.0025' })).toBe(2);
    expect(sampleValue(text, 'hsm_test_seconds_bucket', { stage: 'sign', le: '10' })).toBe(2);
    expect(sampleValue(text, 'hsm_test_seconds_bucket', { stage: 'sign', le: '+Inf' })).toBe(3);
    expect(sampleValue(text, 'hsm_test_seconds_sum', { stage: 'sign' })).toBeCloseTo(60.003, 6);
    expect(sampleValue(text, 'hsm_test_seconds_count', { stage: 'sign' })).toBe(3);
    expect(sampleValue(text, 'hsm_test_seconds_count', { stage: 'submit' })).toBe(0);
  });

  it('refuses a wrong number of label values and a second metric of the same name', () => {
    const registry = createMetricsRegistry();
    const counter = new CounterFamily({ name: 'hsm_test_total', help: 't', labelNames: ['method'], registers: [registry] });
    expect(() => counter.cell('a', 'b')).toThrow('hsm_test_total takes 1 label values, got 2');
    expect(() => new CounterFamily({ name: 'hsm_test_total', help: 't', registers: [registry] })).toThrow('already been registered');
  });
});

describe('BoundedValues', () => {
  it('passes the allowed values and a few extra, then folds the rest into one', () => {
    const codes = new BoundedValues({ allowed: ['-32000'], extra: 2, other: 'other' });
    expect(codes.of('-32000')).toBe('-32000');
    expect(codes.of('-32602')).toBe('-32602');
    expect(codes.of('3')).toBe('3');
    expect(codes.of('-32601')).toBe('other');
    expect(codes.of('-32602')).toBe('-32602');
    const fixed = new BoundedValues({ allowed: ['pkcs11'], other: 'unknown' });
    expect(fixed.of('pkcs11')).toBe('pkcs11');
    expect(fixed.of('made-up')).toBe('unknown');
  });
});

describe('sampleValue', () => {
  it('matches every label exactly and unescapes values', () => {
    const text = ['# HELP x x', 'x{a="1",b="q\\"uote"} 3', 'x{a="1"} 2', 'y 7', ''].join('\n');
    expect(sampleValue(text, 'x', { a: '1' })).toBe(2);
    expect(sampleValue(text, 'x', { b: 'q"uote', a: '1' })).toBe(3);
    expect(sampleValue(text, 'y')).toBe(7);
    expect(sampleValue(text, 'x', { a: '2' })).toBeUndefined();
  });
});

describe('MetricsModule', () => {
  @Controller()
  class PingController {
    @Get('ping')
    ping() {
      return 'pong';
    }
  }

  async function start(enabled: boolean, registry = createMetricsRegistry()): Promise<{ app: INestApplication; url: string }> {
    @Module({ imports: [MetricsModule.register(enabled ? registry : undefined)], controllers: [PingController] })
    class TestModule {}
    const app = await NestFactory.create(TestModule, { logger: false });
    await app.listen(0, '127.0.0.1');
    const address = app.getHttpServer().address();
    return { app, url: `http://127.0.0.1:${address.port}` };
  }

  it('serves the registry as Prometheus text at GET /metrics', async () => {
    const registry = createMetricsRegistry();
    new Gauge({ name: 'hsm_test_up', help: 'u', labelNames: ['backend'], registers: [registry] }).labels('pkcs11').set(1);
    const { app, url } = await start(true, registry);
    try {
      const res = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5_000) });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('text/plain; version=0.0.4');
      const text = await res.text();
      expect(sampleValue(text, 'hsm_test_up', { backend: 'pkcs11' })).toBe(1);
      expect(sampleValue(text, 'hsm_process_resident_memory_bytes')).toBeGreaterThan(0);
    } finally {
      await app.close();
    }
  });

  it('answers a failing collect with a 500 in plain text', async () => {
    const registry = createMetricsRegistry();
    new Gauge({
      name: 'hsm_test_broken',
      help: 'b',
      registers: [registry],
      collect() {
        throw new Error('database unreachable');
      },
    });
    const { app, url } = await start(true, registry);
    try {
      const res = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5_000) });
      expect(res.status).toBe(500);
      expect(await res.text()).toContain('database unreachable');
    } finally {
      await app.close();
    }
  });

  it('has no /metrics route when disabled', async () => {
    const { app, url } = await start(false);
    try {
      expect((await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5_000) })).status).toBe(404);
      expect(await (await fetch(`${url}/ping`, { signal: AbortSignal.timeout(5_000) })).text()).toBe('pong');
    } finally {
      await app.close();
    }
  });
});
