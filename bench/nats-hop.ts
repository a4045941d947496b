/**
 * What one NATS request/reply hop costs, and how much of it is NestJS: the same echo answered by
 *   raw    — a plain nats.js subscription that responds (the floor),
 *   nest   — a NestJS microservice on our DrainingNatsServer (what every service of ours runs),
 *   stock  — the same microservice on Nest's stock ServerNats (before 26653d4: Nest tries
 *            JSON.parse on every incoming subject and catches the SyntaxError),
 * each asked with nats.js's request(), and the raw responder also through our ReplyMux (NatsBus's
 * requester since 49d9ac3: nats.js builds an error object for every successful request); all in one
 * process against a nats-server of its own, at concurrency 1 (latency, with and without a pause
 * between requests: an idle process wakes more slowly) and at concurrency 64 (CPU per request of the
 * whole process, requester and responder together, so `nest - raw` is Nest's share).
 *
 *   node -r @swc-node/register bench/nats-hop.ts [requests=3000] [--rounds 3]
 *
 * Rounds take turns; each cell is the best round (least latency, least CPU). See bench/README.md.
 */
import 'reflect-metadata';
import { Controller, Module, type INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { MessagePattern, Payload, ServerNats, Transport } from '@nestjs/microservices';
import { connect, JSONCodec } from 'nats';
import pino from 'pino';
import { natsMicroserviceOptions, ReplyMux } from '@hsm-signer/messaging';

import { startNatsServer } from '@hsm-signer/testing';
import { intFlag, walkFlags } from './support';

const SUBJECTS = { raw: 'bench.hop.raw', mux: 'bench.hop.raw', nest: 'bench.hop.nest', stock: 'bench.hop.stock' } as const;
type Kind = keyof typeof SUBJECTS;
type Ask = (subject: string, data: Uint8Array) => Promise<unknown>;

function echoModule(subject: string) {
  @Controller()
  class EchoController {
    @MessagePattern(subject)
    echo(@Payload() payload: unknown) {
      return { ok: 1, payload };
    }
  }
  @Module({ controllers: [EchoController] })
  class EchoModule {}
  return EchoModule;
}

async function timeRequests(ask: Ask, subject: string, n: number, concurrency: number, pauseMs: number) {
  const jc = JSONCodec();
  // Nest's envelope, as NatsBus sends it.
  const data = jc.encode({ id: 'bench', pattern: subject, data: { address: '0x' + '11'.repeat(20) } });
  const latencies: number[] = [];
  const cpu0 = process.cpuUsage();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        next++;
        const t0 = performance.now();
        await ask(subject, data);
        latencies.push(performance.now() - t0);
        if (pauseMs) await new Promise((r) => setTimeout(r, pauseMs));
      }
    }),
  );
  const cpu = process.cpuUsage(cpu0);
  latencies.sort((a, b) => a - b);
  return { p50us: latencies[Math.floor(n / 2)] * 1000, cpuUs: (cpu.user + cpu.system) / n };
}

async function main(): Promise<void> {
  let n = 3000;
  let rounds = 3;
  const positional: string[] = [];
  walkFlags(process.argv.slice(2), 'usage: nats-hop.ts [requests=3000] [--rounds N]', (flag, value) => {
    if (flag === '--rounds') return (rounds = intFlag(flag, value(), 1, 20)), true;
    if (!flag.startsWith('--')) return positional.push(flag), true;
    return false;
  });
  if (positional[0]) n = intFlag('requests', positional[0], 100, 1_000_000);

  const nats = await startNatsServer();
  const apps: INestMicroservice[] = [];
  const silent = pino({ level: 'silent' });
  try {
    apps.push(await NestFactory.createMicroservice(echoModule(SUBJECTS.nest), { ...natsMicroserviceOptions(nats.url, 'bench-nest', 'bench-nest', { timeoutMs: 1_000, logger: silent }), logger: false }));
    apps.push(await NestFactory.createMicroservice(echoModule(SUBJECTS.stock), { strategy: new ServerNats({ servers: [nats.url], queue: 'bench-stock' }), logger: false }));
    void Transport; // (the stock server is Nest's own class, built as Nest builds it for Transport.NATS)
    for (const app of apps) await app.listen();
    const responder = await connect({ servers: nats.url });
    responder.subscribe(SUBJECTS.raw, { callback: (_error, msg) => msg.respond(msg.data) });
    const client = await connect({ servers: nats.url, noAsyncTraces: true });
    const mux = new ReplyMux(client);
    await Promise.all([responder.flush(), client.flush()]);
    const natsJs: Ask = (subject, data) => client.request(subject, data, { timeout: 5_000 });
    const ours: Ask = (subject, data) => mux.request(subject, data, 5_000);

    const legs = [
      { name: 'c=1, back to back: p50 µs', concurrency: 1, pauseMs: 0, pick: 'p50us' as const, count: Math.min(n, 2000) },
      { name: 'c=1, 3 ms pause: p50 µs', concurrency: 1, pauseMs: 3, pick: 'p50us' as const, count: Math.min(n, 500) },
      { name: 'c=64: CPU µs per request', concurrency: 64, pauseMs: 0, pick: 'cpuUs' as const, count: n },
    ];
    const best = new Map<string, number>();
    for (let round = 0; round < rounds; round++) {
      for (const leg of legs) {
        for (const kind of Object.keys(SUBJECTS) as Kind[]) {
          const r = await timeRequests(kind === 'mux' ? ours : natsJs, SUBJECTS[kind], leg.count, leg.concurrency, leg.pauseMs);
          const key = `${leg.name}|${kind}`;
          best.set(key, Math.min(best.get(key) ?? Infinity, r[leg.pick]));
        }
      }
    }
    console.log(`nats-hop ${new Date().toISOString()}: ${n} requests per c=64 cell, best of ${rounds} rounds`);
    console.log('| measure | raw responder | raw responder, ReplyMux requester | Nest (DrainingNatsServer) | Nest stock ServerNats |');
    console.log('|---|---:|---:|---:|---:|');
    for (const leg of legs) {
      const cell = (kind: Kind) => Math.round(best.get(`${leg.name}|${kind}`) ?? NaN);
      console.log(`| ${leg.name} | ${cell('raw')} | ${cell('mux')} | ${cell('nest')} | ${cell('stock')} |`);
    }
    await Promise.all([responder.close(), client.close()]);
  } finally {
    for (const app of apps) await app.close().catch(() => undefined);
    await nats.stop();
  }
}

void main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
