/**
 * The nonce storm of issue 3 ("Benchmark"): one run, ONE anvil with `--block-time 1`
 * (shared/services.md: automine costs ~2.5 ms CPU per tx and stalls on out-of-order nonces), four legs:
 *
 *   1. node's ceiling  — pre-signed raw transactions (ethers Wallet over several dev keys funded with
 *                        anvil_setBalance; signed before the clock starts) → eth_sendRawTransaction
 *   2. node signing    — eth_sendTransaction from anvil's unlocked dev account 0 (one account)
 *   3. hsm-signer ×1   — eth_sendTransaction through the rpc-gateway, one HSM account
 *   4. hsm-signer ×100 — the same over 100 HSM accounts (token with 100 keys, all funded)
 *
 * plus concurrency-1 p50 of node signing vs hsm-signer. For each leg: successful tx/s, failures (top
 * messages), p50/p99, nonce contiguity read back from the chain, all mined, and CPU per transaction
 * of every process of the stack (/proc/<pid>/stat utime+stime). `--profile <dir>` also samples the
 * services' CPU during the hsm-signer legs (bench/profile-hook.cjs) and prints their top self time.
 *
 *   npx nx run-many -t build -p rpc-gateway rest-gateway nonce-service key-discovery signer-service
 *   node -r @swc-node/register bench/nonce-storm.ts [--total 2000] [--concurrency 64] [--profile /tmp/prof]
 *
 * Every loop is bounded in count and time; every address is loopback. See bench/README.md.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { getAddress, keccak256, Wallet } from 'ethers';
import { Client } from 'pg';
import { Routes } from '@hsm-signer/contracts';
import { NatsBus } from '@hsm-signer/messaging';
import { ANVIL_DEV_ADDRESS, createTestDatabase, startStack, type Stack } from '@hsm-signer/testing';
import { commonDefaults, commonFlag, countByAccount, cpuDiff, cpuSnapshot, cpuTableLines, distBuiltText, errorsText, errorText, ETH_1000, findNatsPid, gitText, intFlag as num, loadText, log, nonceUse, percentile, pipeTable, readBack, rpc, rpcBatch, sleep, topErrors, transactionCounts, uptimeText, walkFlags, workerPool, type CommonOptions, type ErrorGroup } from './support';

// ---------------------------------------------------------------------------------------------
// Options

interface Options extends CommonOptions {
  accounts: number;
  c1: number; // requests per concurrency-1 run
  rawAccounts: number;
  mineTimeoutMs: number;
  withGas: boolean;
  /** The run's database with synchronous_commit = off (ALTER DATABASE): what the commit flush costs. */
  pgAsyncCommit: boolean;
  gateways: number;
  nonceReplicas: number;
  signerReplicas: number;
  profileDir?: string;
}

function parseOptions(argv: string[]): Options {
  const o: Options = {
    ...commonDefaults(),
    accounts: 100,
    c1: 200,
    rawAccounts: 8,
    legs: new Set(['1', '2', '3', '4', 'c1']),
    legTimeoutMs: 180_000,
    mineTimeoutMs: 90_000,
    withGas: false,
    pgAsyncCommit: false,
    gateways: 1,
    nonceReplicas: 1,
    signerReplicas: 1,
    dataDir: join(tmpdir(), 'hsm-signer-bench'),
    warmup: 1_000,
  };
  walkFlags(argv, 'flags: --total N --total4 N --accounts N --concurrency C --c1 N --raw-accounts N --legs 1,2,3,4,c1 --leg-timeout s --mine-timeout s --with-gas --pg-async-commit --gateways N --nonce-replicas N --signer-replicas N --profile DIR --data-dir DIR --log-level L --discovery-poll-ms MS --idle s --warmup N', (flag, value) => {
    switch (flag) {
      case '--accounts': o.accounts = num(flag, value(), 1, 500); return true;
      case '--c1': o.c1 = num(flag, value(), 0, 10_000); return true;
      case '--raw-accounts': o.rawAccounts = num(flag, value(), 1, 1000); return true;
      case '--mine-timeout': o.mineTimeoutMs = num(flag, value(), 1, 3600) * 1000; return true;
      case '--with-gas': o.withGas = true; return true;
      case '--pg-async-commit': o.pgAsyncCommit = true; return true;
      case '--gateways': o.gateways = num(flag, value(), 1, 8); return true;
      case '--nonce-replicas': o.nonceReplicas = num(flag, value(), 1, 8); return true;
      case '--signer-replicas': o.signerReplicas = num(flag, value(), 1, 8); return true;
      case '--profile': o.profileDir = resolve(value()); return true;
      default: return commonFlag(o, flag, value);
    }
  });
  return o;
}

// ---------------------------------------------------------------------------------------------
// Load driver

interface Sample {
  ok: boolean;
  ms: number;
  account: string;
  hash?: string;
  error?: string;
}

interface LoadResult {
  samples: Sample[];
  wallMs: number;
  startedAt: number;
  timedOut: boolean;
}

/** `concurrency` workers pull request indexes until `total` are sent or `timeLimitMs` has passed. */
async function drive(total: number, concurrency: number, timeLimitMs: number, send: (i: number) => { account: string; run: () => Promise<string> }): Promise<LoadResult> {
  const samples: Sample[] = [];
  const startedAt = Date.now();
  const t0 = process.hrtime.bigint();
  const { timedOut } = await workerPool(total, concurrency, timeLimitMs, async (i) => {
    const { account, run } = send(i);
    const t = process.hrtime.bigint();
    try {
      const hash = await run();
      samples.push({ ok: true, ms: Number(process.hrtime.bigint() - t) / 1e6, account, hash: hash.toLowerCase() });
    } catch (error) {
      samples.push({ ok: false, ms: Number(process.hrtime.bigint() - t) / 1e6, account, error: errorText(error) });
    }
  });
  return { samples, wallMs: Number(process.hrtime.bigint() - t0) / 1e6, startedAt, timedOut };
}

/** The failed samples' messages, for topErrors. */
function failures(samples: Sample[]): string[] {
  return samples.filter((s) => !s.ok).map((s) => s.error ?? '');
}

// ---------------------------------------------------------------------------------------------
// Chain read-back

interface Contiguity {
  accounts: number;
  contiguous: boolean;
  gaps: number; // nonces in [start, highest of ours] used by none of our successful txs
  duplicates: number; // two successful sends answered with the same nonce
  foreign: number; // nonces consumed on chain by transactions we were not answered with (e.g. hole fillers)
  lost: number; // successful hashes the node does not know
  notMined: number;
  allMined: boolean;
  minedAfterMs: number; // from leg start until every account's latest count covered our sends
}

/**
 * Waits (bounded) until every account's `latest` count has reached start + its successes, or the
 * pool is empty and nothing moves any more; returns when that happened (ms after the leg started).
 */
async function waitMined(nodeUrl: string, start: Map<string, number>, okPer: Map<string, number>, legStartedAt: number, timeoutMs: number): Promise<{ done: boolean; at: number }> {
  const accounts = [...start.keys()];
  const deadline = Date.now() + timeoutMs;
  let lastSum = -1;
  let stableSince = Date.now();
  while (Date.now() < deadline) {
    const latest = await transactionCounts(nodeUrl, accounts, 'latest');
    if (accounts.every((a) => latest.get(a)! >= start.get(a)! + (okPer.get(a) ?? 0))) return { done: true, at: Date.now() - legStartedAt };
    const sum = [...latest.values()].reduce((x, y) => x + y, 0);
    if (sum !== lastSum) {
      lastSum = sum;
      stableSince = Date.now();
    } else if (Date.now() - stableSince > 6_000) {
      const pool = await rpc<{ pending: string; queued: string }>(nodeUrl, 'txpool_status').catch(() => undefined);
      if (pool && Number(pool.pending) === 0 && Number(pool.queued) === 0) break; // nothing left that could be mined
    }
    await sleep(200);
  }
  return { done: false, at: Date.now() - legStartedAt };
}

async function checkChain(nodeUrl: string, samples: Sample[], start: Map<string, number>, mined: { done: boolean; at: number }): Promise<Contiguity> {
  const ok = samples.filter((s) => s.ok);
  // A couple more blocks, then read every transaction back.
  await sleep(2_100);
  const { perAccount, lost, notMined } = await readBack(nodeUrl, ok);
  const latest = await transactionCounts(nodeUrl, [...start.keys()], 'latest');
  const { gaps, duplicates, foreign } = nonceUse(start, perAccount, latest);
  return {
    accounts: start.size,
    contiguous: gaps === 0 && duplicates === 0 && lost === 0,
    gaps,
    duplicates,
    foreign,
    lost,
    notMined,
    allMined: lost === 0 && notMined === 0 && mined.done,
    minedAfterMs: mined.at,
  };
}

// ---------------------------------------------------------------------------------------------
// CPU accounting: utime+stime of each process of the stack, before and after a leg.

type CpuSnapshot = Map<string, number>;

/** cpuSnapshot over a connection of its own to the run's database. */
class CpuMeter {
  private pg?: Client;
  constructor(private readonly stack: Stack, private readonly natsPid: number | undefined) {}

  async open(): Promise<void> {
    this.pg = new Client({ connectionString: this.stack.databaseUrl });
    await this.pg.connect();
  }

  async close(): Promise<void> {
    await this.pg?.end().catch(() => undefined);
  }

  snapshot(): Promise<CpuSnapshot> {
    return cpuSnapshot(this.stack, this.pg!, this.natsPid);
  }
}

// ---------------------------------------------------------------------------------------------
// Profiles (bench/profile-hook.cjs writes <dir>/<replica>-<n>.cpuprofile on every second SIGWINCH)

interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number } }>;
  samples: number[];
  timeDeltas: number[];
}

function shortUrl(url: string): string {
  if (!url) return '';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) return url.slice(nm + 'node_modules/'.length);
  const dist = url.indexOf('/dist/');
  if (dist >= 0) return url.slice(dist + 1);
  return url.replace(/^file:\/\//, '');
}

function bucketOf(url: string, fn: string): string {
  if (!url) return fn.startsWith('(') ? fn : '(native)';
  if (url.startsWith('node:')) return 'node core';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const parts = url.slice(nm + 'node_modules/'.length).split('/');
    return parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
  }
  const m = /\/dist\/[^/]+\/(apps|libs)\/([^/]+)\//.exec(url);
  return m ? `${m[1]}/${m[2]}` : url;
}

function summariseProfile(file: string, top = 12): string[] {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const fnTotals = new Map<string, number>();
  const bucketTotals = new Map<string, number>();
  let busy = 0;
  let total = 0;
  let waiting = 0;
  for (const [id, us] of self) {
    const node = byId.get(id)!;
    const { functionName, url, lineNumber } = node.callFrame;
    total += us;
    if (functionName === '(idle)') continue;
    // The in-process inspector session's own native frame: on a service with no traffic at all
    // (rest-gateway here) nearly every non-idle sample lands in it, so it is shown apart, not as work.
    if (functionName === 'dispatch' && !url) {
      waiting += us;
      continue;
    }
    busy += us;
    const key = `${functionName || '(anonymous)'}${url ? ` ${shortUrl(url)}:${lineNumber + 1}` : ''}`;
    fnTotals.set(key, (fnTotals.get(key) ?? 0) + us);
    const bucket = bucketOf(url, functionName);
    bucketTotals.set(bucket, (bucketTotals.get(bucket) ?? 0) + us);
  }
  const pct = (us: number) => `${((100 * us) / Math.max(1, busy)).toFixed(1).padStart(5)}%`;
  const lines = [`    JS/native work ${(busy / 1000).toFixed(0)} ms of ${(total / 1000).toFixed(0)} ms sampled (+ ${(waiting / 1000).toFixed(0)} ms in the inspector's dispatch frame, not counted)`];
  lines.push('    by package: ' + [...bucketTotals].sort((a, b) => b[1] - a[1]).slice(0, 8).map(([k, v]) => `${k} ${pct(v).trim()}`).join(', '));
  for (const [k, v] of [...fnTotals].sort((a, b) => b[1] - a[1]).slice(0, top)) lines.push(`    ${pct(v)} ${(v / 1000).toFixed(0).padStart(6)} ms  ${k}`);
  return lines;
}

// ---------------------------------------------------------------------------------------------

interface LegReport {
  id: string;
  title: string;
  sent: number;
  ok: number;
  failed: number;
  rate: number;
  p50: number;
  p99: number;
  chain?: Contiguity;
  errors: ErrorGroup[];
  cpu: Map<string, number>;
  timedOut: boolean;
  load: string;
}

/** Which code ran: HEAD, whether the tree has changes, and when each app's dist was built. */
function buildIdentity(): string {
  const root = resolve(__dirname, '..');
  const apps = ['rpc-gateway', 'nonce-service', 'signer-service', 'key-discovery', 'rest-gateway'];
  return `HEAD ${gitText(root, 'rev-parse', '--short', 'HEAD')}; dist built (UTC) ${distBuiltText(root, apps)}`;
}

const SINK = getAddress('0x000000000000000000000000000000000000bEEF');

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  log(`nonce-storm: ${JSON.stringify({ ...o, legs: [...o.legs] })}`);
  log(`uptime: ${uptimeText()}`);
  if (o.profileDir) mkdirSync(o.profileDir, { recursive: true });
  const hook = resolve(__dirname, 'profile-hook.cjs');
  const hsmKeys = Math.max(o.accounts, 2);

  const started = Date.now();
  // --pg-async-commit: the same stack on a database whose commits do not wait for the WAL flush.
  const asyncDb = o.pgAsyncCommit ? await createTestDatabase() : undefined;
  if (asyncDb) {
    const admin = new Client({ connectionString: asyncDb.url });
    await admin.connect();
    await admin.query(`ALTER DATABASE "${asyncDb.name}" SET synchronous_commit = off`);
    await admin.end();
    log(`database ${asyncDb.name}: synchronous_commit = off`);
  }
  const stack = await startStack({
    ...(asyncDb ? { databaseUrl: asyncDb.url } : {}),
    dataDir: o.dataDir,
    keys: hsmKeys,
    blockTime: 1,
    fundEth: '0', // funded below with anvil_setBalance: 100 funding transactions would cost minutes of blocks
    replicas: { 'rpc-gateway': o.gateways, 'nonce-service': o.nonceReplicas, 'signer-service': o.signerReplicas },
    readyTimeoutMs: 240_000,
    logLevel: o.logLevel,
    discoveryPollMs: o.discoveryPollMs,
    env: o.profileDir ? { NODE_OPTIONS: `--require=${hook}`, BENCH_PROFILE_DIR: o.profileDir } : undefined,
    onProgress: (line) => log(`stack: ${line}`),
  });
  log(`stack up in ${((Date.now() - started) / 1000).toFixed(1)} s; logs in ${stack.logDir}`);
  const meter = new CpuMeter(stack, findNatsPid(stack.natsUrl));
  const reports: LegReport[] = [];
  const c1: Record<string, { p50: number; ok: number; failed: number; errors: ErrorGroup[] }> = {};
  const node = stack.anvil.url;
  const idle = new Map<string, number>(); // CPU ms per second with no load
  const profiled: Array<{ id: string; title: string }> = []; // in profile-file order (<replica>-1, -2, …)
  try {
    await meter.open();
    const chainId = stack.anvil.chainId;
    const hsm = stack.addresses.slice(0, hsmKeys);
    if (hsm.length < o.accounts) throw new Error(`token has ${hsm.length} keys, need ${o.accounts}`);
    for (const a of hsm) await rpc(node, 'anvil_setBalance', [a, ETH_1000]);
    const gateways = stack.rpcUrls;
    let rr = 0;
    const gateway = () => gateways[rr++ % gateways.length];
    const sendTx = (url: string, from: string) => () =>
      rpc<string>(url, 'eth_sendTransaction', [{ from, to: SINK, value: '0x1', ...(o.withGas ? { gas: '0x5208' } : {}) }]);

    // Warm-up (not measured): every HSM account's first send seeds its nonce row from the node; JIT.
    // Then `--warmup` sends at the legs' concurrency over every HSM account: the first measured leg
    // otherwise paid the JIT and heap growth of the batched paths, which one send per account at
    // concurrency 16 never reaches (leg 3 alone and leg 4 alone cost the same, ≈ 5,000 µs/tx of
    // stack CPU; as the second leg, leg 4 cost ≈ 4,300 against leg 3's 6,700 before it).
    log(`warm-up: one send per HSM account (${hsm.length}), then ${o.warmup} at concurrency ${o.concurrency} over them, and 50 node-signed sends`);
    const warm = await drive(hsm.length, 16, 120_000, (i) => ({ account: hsm[i], run: sendTx(gateway(), hsm[i]) }));
    const warmLoad = await drive(o.warmup, o.concurrency, 120_000, (i) => ({ account: hsm[i % hsm.length], run: sendTx(gateway(), hsm[i % hsm.length]) }));
    warm.samples.push(...warmLoad.samples);
    const warmNode = await drive(50, 8, 60_000, () => ({ account: ANVIL_DEV_ADDRESS, run: sendTx(node, ANVIL_DEV_ADDRESS) }));
    const warmFails = [...warm.samples, ...warmNode.samples].filter((s) => !s.ok);
    if (warmFails.length) log(`warm-up failures: ${warmFails.length}; ${JSON.stringify(topErrors(failures(warmFails)))}`);
    await waitMined(node, await transactionCounts(node, hsm, 'pending'), new Map(), Date.now(), 30_000);
    await sleep(2_000);
    if (o.idleMs > 0) {
      // What each process burns with no load at all (polling, timers): read against the per-tx figures.
      log(`idle baseline: ${o.idleMs / 1000} s without load`);
      if (o.profileDir) signalServices(stack, 'SIGWINCH');
      const a = await meter.snapshot();
      await sleep(o.idleMs);
      const b = await meter.snapshot();
      if (o.profileDir) {
        signalServices(stack, 'SIGWINCH');
        profiled.push({ id: 'idle', title: `${o.idleMs / 1000} s without load` });
      }
      for (const [k, v] of cpuDiff(a, b)) idle.set(k, (1000 * v) / o.idleMs);
    }

    const runLeg = async (id: string, title: string, total: number, accounts: string[], send: (i: number) => { account: string; run: () => Promise<string> }, profile: boolean) => {
      const start = await transactionCounts(node, accounts, 'latest');
      const load = loadText();
      log(`leg ${id}: ${title} — ${total} tx, concurrency ${o.concurrency}, load ${load}`);
      const before = await meter.snapshot();
      if (profile) signalServices(stack, 'SIGWINCH');
      const result = await drive(total, o.concurrency, o.legTimeoutMs, send);
      const okPer = countByAccount(result.samples.filter((s) => s.ok));
      const mined = await waitMined(node, start, okPer, result.startedAt, o.mineTimeoutMs);
      if (profile) signalServices(stack, 'SIGWINCH');
      const after = await meter.snapshot();
      const chain = await checkChain(node, result.samples, start, mined);
      const oks = result.samples.filter((s) => s.ok);
      const lat = oks.map((s) => s.ms).sort((a, b) => a - b);
      const report: LegReport = {
        id,
        title,
        sent: result.samples.length,
        ok: oks.length,
        failed: result.samples.length - oks.length,
        rate: oks.length / (result.wallMs / 1000),
        p50: percentile(lat, 50),
        p99: percentile(lat, 99),
        chain,
        errors: topErrors(failures(result.samples)),
        cpu: cpuDiff(before, after),
        timedOut: result.timedOut,
        load,
      };
      reports.push(report);
      if (profile) profiled.push({ id, title });
      log(
        `leg ${id}: ${report.ok} ok, ${report.failed} failed, ${report.rate.toFixed(0)} tx/s, p50 ${report.p50.toFixed(1)} ms, p99 ${report.p99.toFixed(1)} ms, ` +
          `contiguous ${chain.contiguous}, all mined ${chain.allMined} after ${(chain.minedAfterMs / 1000).toFixed(1)} s`,
      );
      return report;
    };

    if (o.legs.has('1')) {
      // Several dev keys: one sender's pool depth is not what this leg measures (the node's intake is).
      const wallets = Array.from({ length: o.rawAccounts }, (_, i) => new Wallet(keccak256(Buffer.from(`nonce-storm raw ${i}`))));
      for (const w of wallets) await rpc(node, 'anvil_setBalance', [w.address, ETH_1000]);
      const nonces = await transactionCounts(node, wallets.map((w) => w.address), 'pending');
      log(`leg 1: pre-signing ${o.total} transactions over ${wallets.length} keys`);
      const raws: Array<{ account: string; raw: string }> = [];
      for (let i = 0; i < o.total; i++) {
        const w = wallets[i % wallets.length];
        const key = w.address.toLowerCase();
        const nonce = nonces.get(key)!;
        nonces.set(key, nonce + 1);
        const raw = await w.signTransaction({ type: 2, chainId, nonce, to: SINK, value: 1n, gasLimit: 21_000n, maxFeePerGas: 50_000_000_000n, maxPriorityFeePerGas: 1_000_000_000n });
        raws.push({ account: w.address, raw });
      }
      await runLeg('1', "node's ceiling: pre-signed eth_sendRawTransaction", o.total, wallets.map((w) => w.address), (i) => ({ account: raws[i].account, run: () => rpc<string>(node, 'eth_sendRawTransaction', [raws[i].raw]) }), false);
    }
    if (o.legs.has('2')) {
      await runLeg('2', 'node signing: eth_sendTransaction, 1 unlocked account', o.total, [ANVIL_DEV_ADDRESS], () => ({ account: ANVIL_DEV_ADDRESS, run: sendTx(node, ANVIL_DEV_ADDRESS) }), false);
    }
    if (o.legs.has('3')) {
      await runLeg('3', 'hsm-signer: 1 HSM account via rpc-gateway', o.total, [hsm[0]], () => ({ account: hsm[0], run: sendTx(gateway(), hsm[0]) }), Boolean(o.profileDir));
    }
    if (o.legs.has('4')) {
      const accounts = hsm.slice(0, o.accounts);
      await runLeg('4', `hsm-signer: ${accounts.length} HSM accounts via rpc-gateway`, o.total4, accounts, (i) => ({ account: accounts[i % accounts.length], run: sendTx(gateway(), accounts[i % accounts.length]) }), Boolean(o.profileDir));
    }
    if (o.legs.has('c1') && o.c1 > 0) {
      for (const [name, url, from] of [
        ['node signing', node, ANVIL_DEV_ADDRESS],
        ['hsm-signer', gateways[0], hsm[1]],
      ] as const) {
        log(`concurrency 1: ${name}, ${o.c1} tx, load ${loadText()}`);
        const r = await drive(o.c1, 1, o.legTimeoutMs, () => ({ account: from, run: sendTx(url, from) }));
        const lat = r.samples.filter((s) => s.ok).map((s) => s.ms).sort((a, b) => a - b);
        c1[name] = { p50: percentile(lat, 50), ok: lat.length, failed: r.samples.length - lat.length, errors: topErrors(failures(r.samples)) };
      }
      // Latency floors of the pieces, same moment, same load: where the hsm-signer p50 goes.
      const facts = [
        { method: 'eth_estimateGas', params: [{ from: hsm[1], to: SINK, value: '0x1' }] },
        { method: 'eth_getBlockByNumber', params: ['latest', false] },
        { method: 'eth_maxPriorityFeePerGas', params: [] },
      ];
      const probes: Array<[string, () => Promise<unknown>]> = [
        ['anvil eth_blockNumber (direct)', () => rpc(node, 'eth_blockNumber')],
        ['anvil facts batch: estimateGas + block + priority fee (direct)', () => rpcBatch(node, facts)],
        ['rpc-gateway eth_accounts (answered locally)', () => rpc(gateways[0], 'eth_accounts')],
        ['rpc-gateway eth_blockNumber (proxied to anvil)', () => rpc(gateways[0], 'eth_blockNumber')],
      ];
      for (const [name, call] of probes) {
        const r = await drive(o.c1, 1, 60_000, () => ({ account: '', run: async () => (await call(), '') }));
        const lat = r.samples.filter((x) => x.ok).map((x) => x.ms).sort((a, b) => a - b);
        c1[`probe: ${name}`] = { p50: percentile(lat, 50), ok: lat.length, failed: r.samples.length - lat.length, errors: topErrors(failures(r.samples)) };
      }
      // The gateway's NATS hops one by one, from this process: allocate → sign → record (abandoned, so
      // the nonce goes back and nothing reaches the chain).
      const bus = await NatsBus.connect({ servers: stack.natsUrl, name: 'nonce-storm' });
      try {
        const from = hsm[2].toLowerCase();
        const resolved = await bus.request(Routes.accountsResolve, { address: from });
        if (!resolved.account) throw new Error(`key-discovery does not know ${from}`);
        const key = { backendId: resolved.account.backendId, keyId: resolved.account.keyId };
        const hops: Record<string, number[]> = { 'key-discovery accounts.resolve': [], 'nonce-service allocate': [], 'signer-service sign': [], 'nonce-service record (abandoned)': [] };
        const timed = timerInto(hops);
        const hopDeadline = Date.now() + 60_000;
        for (let i = 0; i < o.c1 && Date.now() < hopDeadline; i++) {
          await timed('key-discovery accounts.resolve', () => bus.request(Routes.accountsResolve, { address: from }));
          const a = await timed('nonce-service allocate', () => bus.request(Routes.nonceAllocate, { chainId, address: from }));
          const tx = { type: 2 as const, chainId, nonce: a.nonce, to: SINK.toLowerCase(), value: '0x1', data: '0x', gasLimit: '0x5208', maxFeePerGas: '0xba43b7400', maxPriorityFeePerGas: '0x3b9aca00' };
          await timed('signer-service sign', () => bus.request(Routes.signerSignTransaction, { from, key, tx }));
          await timed('nonce-service record (abandoned)', () => bus.request(Routes.nonceRecordOutcome, { transactionId: a.transactionId, outcome: 'abandoned', error: 'nonce-storm hop probe' }));
        }
        for (const [name, lat] of Object.entries(hops)) {
          lat.sort((x, y) => x - y);
          c1[`probe: NATS → ${name}`] = { p50: percentile(lat, 50), ok: lat.length, failed: 0, errors: [] };
        }
        // The floors under those hops: a NATS round trip to a bare responder in this process, and the
        // allocation / release functions straight from pg on an account row of their own (chain id 0:
        // nothing the stack tracks), plus one INSERT with its durable commit (the WAL flush's share).
        const echo = bus.connection.subscribe('bench.nonce-storm.echo', { callback: (_e, m) => m.respond(m.data) });
        const pg = new Client({ connectionString: stack.databaseUrl });
        await pg.connect();
        try {
          const probeAddress = '0x' + 'b0'.repeat(20);
          await pg.query('INSERT INTO nonces (chain_id, address, next_nonce, chain_nonce, updated_at) VALUES (0, $1, 0, 0, now()) ON CONFLICT DO NOTHING', [probeAddress]);
          // A logged table (a TEMP table writes no WAL, so its commit waits for no flush).
          await pg.query('CREATE TABLE IF NOT EXISTS bench_commit_probe (x int)');
          const floors: Record<string, number[]> = { 'NATS echo (bare responder, no service)': [], 'Postgres: allocation function (direct)': [], 'Postgres: release function (direct)': [], 'Postgres: INSERT + durable commit': [] };
          const floor = timerInto(floors);
          const floorDeadline = Date.now() + 60_000;
          for (let i = 0; i < o.c1 && Date.now() < floorDeadline; i++) {
            await floor('NATS echo (bare responder, no service)', () => bus.connection.request('bench.nonce-storm.echo', new Uint8Array(200), { timeout: 5_000 }));
            const allocated = await floor('Postgres: allocation function (direct)', () =>
              pg.query<{ id: string }>({ name: 'probe_alloc', text: 'SELECT o_id::text AS id FROM hsm_allocate_nonces(0, $1::text, ARRAY[NULL]::text[], ARRAY[NULL]::text[], 30000)', values: [probeAddress] }),
            );
            await floor('Postgres: release function (direct)', () => pg.query({ name: 'probe_release', text: "SELECT * FROM hsm_release_nonce($1::uuid, 'abandoned', 'nonce-storm probe', NULL)", values: [allocated.rows[0].id] }));
            await floor('Postgres: INSERT + durable commit', () => pg.query({ name: 'probe_insert', text: 'INSERT INTO bench_commit_probe VALUES (1)' }));
          }
          for (const [name, lat] of Object.entries(floors)) {
            lat.sort((x, y) => x - y);
            c1[`probe: ${name}`] = { p50: percentile(lat, 50), ok: lat.length, failed: 0, errors: [] };
          }
        } finally {
          echo.unsubscribe();
          await pg.query('DROP TABLE IF EXISTS bench_commit_probe').catch(() => undefined);
          await pg.end();
        }
      } finally {
        await bus.close();
      }
    }
  } finally {
    await meter.close();
    if (o.profileDir) await waitForProfiles(o.profileDir, stack, profiled.length);
    log('stopping the stack');
    await stack.stop().catch((e) => log(`stack stop: ${errorText(e)}`));
    await asyncDb?.drop().catch((e) => log(`database drop: ${errorText(e)}`));
  }
  printReport(o, reports, c1, idle);
  if (o.profileDir) printProfiles(o.profileDir, profiled);
}

function signalServices(stack: Stack, signal: NodeJS.Signals): void {
  for (const list of Object.values(stack.services)) for (const s of list) if (s.running) process.kill(s.pid, signal);
}

async function waitForProfiles(dir: string, stack: Stack, count: number): Promise<void> {
  if (!count) return;
  const names = Object.values(stack.services).flat().map((s) => s.name);
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline && !names.every((n) => existsSync(join(dir, `${n}-${count}.cpuprofile`)))) await sleep(200);
}

// ---------------------------------------------------------------------------------------------
// Report

/** Runs `fn` and adds its duration (ms) to `buckets[name]`. */
function timerInto(buckets: Record<string, number[]>) {
  return async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const t = process.hrtime.bigint();
    const out = await fn();
    buckets[name].push(Number(process.hrtime.bigint() - t) / 1e6);
    return out;
  };
}

function printReport(
  o: Options,
  reports: LegReport[],
  c1: Record<string, { p50: number; ok: number; failed: number; errors: ErrorGroup[] }>,
  idle: Map<string, number>,
): void {
  const out: string[] = [];
  const leg1 = reports.find((r) => r.id === '1');
  const ms = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : '–');
  out.push('');
  out.push(`nonce-storm ${new Date().toISOString()}  (${o.total} tx legs 1–3, ${o.total4} tx over ${o.accounts} accounts leg 4, concurrency ${o.concurrency}, anvil --block-time 1)`);
  out.push(`uptime: ${uptimeText()}`);
  out.push(`code: ${buildIdentity()}`);
  if (o.pgAsyncCommit) out.push('postgres: synchronous_commit = off for this run (--pg-async-commit)');
  out.push('');
  const head = ['leg', 'ok / sent', 'failed', 'ok tx/s', '% leg 1', 'p50 ms', 'p99 ms', 'contiguous (gaps/dups/foreign/lost)', 'all mined (s)', 'load at start', 'target'];
  const rows: string[][] = [head];
  for (const r of reports) {
    const target =
      r.id === '3' ? `0 failed, ≥ 50% → ${r.failed === 0 && leg1 && r.rate >= 0.5 * leg1.rate ? 'MET' : 'MISSED'}` :
      r.id === '4' ? `0 failed, ≥ 70% → ${r.failed === 0 && leg1 && r.rate >= 0.7 * leg1.rate ? 'MET' : 'MISSED'}` :
      r.id === '1' ? '(reference)' : '(comparison)';
    const c = r.chain!;
    rows.push([
      `${r.id} ${r.title}`,
      `${r.ok} / ${r.sent}${r.timedOut ? ' (time limit)' : ''}`,
      String(r.failed),
      r.rate.toFixed(0),
      leg1 ? `${((100 * r.rate) / leg1.rate).toFixed(0)}%` : '–',
      ms(r.p50),
      ms(r.p99),
      `${c.contiguous ? 'yes' : 'NO'} (${c.gaps}/${c.duplicates}/${c.foreign}/${c.lost})`,
      `${c.allMined ? 'yes' : `NO (${c.notMined} pending)`} ${(c.minedAfterMs / 1000).toFixed(1)}`,
      r.load,
      target,
    ]);
  }
  out.push(...pipeTable(rows));
  out.push('');
  for (const r of reports) {
    if (!r.errors.length) continue;
    out.push(`leg ${r.id} top errors: ${errorsText(r.errors)}`);
  }
  if (c1['node signing'] && c1['hsm-signer']) {
    const d = c1['hsm-signer'].p50 - c1['node signing'].p50;
    out.push('');
    out.push(
      `concurrency 1 (${o.c1} tx each): node signing p50 ${ms(c1['node signing'].p50)} ms (${c1['node signing'].failed} failed), hsm-signer p50 ${ms(c1['hsm-signer'].p50)} ms (${c1['hsm-signer'].failed} failed): ` +
        `+${ms(d)} ms; target within 5 ms → ${d <= 5 ? 'MET' : 'MISSED'}`,
    );
    for (const [name, v] of Object.entries(c1)) if (name.startsWith('probe: ')) out.push(`  ${name.slice(7)}: p50 ${ms(v.p50)} ms${v.failed ? ` (${v.failed} failed)` : ''}`);
    for (const [name, v] of Object.entries(c1)) if (v.errors.length) out.push(`  ${name} errors: ${errorsText(v.errors)}`);
  }
  // CPU per transaction (µs of CPU per successful tx), per process, from /proc utime+stime over the leg until all mined.
  out.push('');
  out.push('CPU per successful transaction (µs, utime+stime from the leg start until all mined):');
  out.push(...cpuTableLines(reports, idle));
  out.push('  idle ms/s: CPU ms per second of each process with no load (timers, polling), measured before leg 1.');
  out.push('  (whole machine) includes every other process on the box, e.g. other test runs.');
  console.log(out.join('\n'));
}

function printProfiles(dir: string, profiled: Array<{ id: string; title: string }>): void {
  const out: string[] = ['', `CPU profiles (${dir}), self time, idle excluded:`];
  profiled.forEach((r, i) => {
    out.push(r.id === 'idle' ? `idle: ${r.title}` : `leg ${r.id}: ${r.title}`);
    const files = readdirSync(dir).filter((f) => f.endsWith(`-${i + 1}.cpuprofile`)).sort();
    for (const f of files) {
      out.push(`  ${f}`);
      try {
        out.push(...summariseProfile(join(dir, f)));
      } catch (error) {
        out.push(`    unreadable: ${errorText(error)}`);
      }
    }
  });
  console.log(out.join('\n'));
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
