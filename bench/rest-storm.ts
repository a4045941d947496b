/**
 * The REST gateway under load, against the JSON-RPC path on the same stack in the same run. ONE anvil
 * with `--block-time 1`, the Counter contract (e2e/src/fixtures/counter.json) uploaded and deployed
 * through the REST API, then the same call, `increment(1)`, four ways:
 *
 *   1. rpc-gateway   — eth_sendTransaction {from, to: counter, data} from one HSM account (the baseline)
 *   2. REST sync     — POST /contracts/<address>/increment?kld-from=…&kld-sync=true, one account: the
 *                      answer is the receipt, so its latency includes mining
 *   3. REST async    — the same without kld-sync, one account: 202 {sent, id}, then /replies until final
 *   4. REST async ×N — the same over N HSM accounts (default 20)
 *
 * For each: tx/s, failures (top messages), p50/p99, nonce contiguity (the answers' nonces and hashes read
 * back from the chain, eth_getTransactionCount), and CPU per transaction of every process of the stack
 * (/proc/<pid>/stat utime+stime, as bench/nonce-storm.ts). Async legs also: accepted/s and p50/p99 of the
 * 202, when every reply was final, completion tx/s and p50/p99 from request to final reply.
 *
 *   npx nx run-many -t build -p rpc-gateway rest-gateway nonce-service key-discovery signer-service
 *   node -r @swc-node/register bench/rest-storm.ts [--total 2000] [--accounts 20] [--concurrency 64]
 *
 * Every loop is bounded in count and time; every address is loopback. See bench/README.md.
 */
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Interface, type InterfaceAbi } from 'ethers';
import { Client } from 'pg';
import { startStack, type Stack } from '@hsm-signer/testing';
import { assertLoopback, BenchError, chunks, commonDefaults, commonFlag, countByAccount, cpuDiff, cpuSnapshot, cpuTableLines, distBuiltText, errorsText, errorText, ETH_1000, findNatsPid, gitText, intFlag as num, loadText, log, nonceUse, numberTable, percentile, pipeTable, readBack, rpc, sleep, topErrors, transactionCounts, uptimeText, walkFlags, workerPool, type CommonOptions, type ErrorGroup } from './support';

interface Options extends CommonOptions {
  accounts: number;
  pollMs: number;
  completeTimeoutMs: number;
}

function parseOptions(argv: string[]): Options {
  const o: Options = {
    ...commonDefaults(),
    accounts: 20,
    legs: new Set(['1', '2', '3', '4']),
    warmup: 300,
    pollMs: 500,
    legTimeoutMs: 240_000,
    completeTimeoutMs: 180_000,
    // Its own token (20 keys by default): nonce-storm's folder holds 100, and key-discovery's listing cost grows with them.
    dataDir: join(tmpdir(), 'hsm-signer-rest-storm'),
  };
  walkFlags(argv, 'flags: --total N --total4 N --accounts N --concurrency C --legs 1,2,3,4 --warmup N --poll-ms MS --leg-timeout s --complete-timeout s --idle s --data-dir DIR --discovery-poll-ms MS --log-level L', (flag, value) => {
    switch (flag) {
      case '--accounts': o.accounts = num(flag, value(), 1, 200); return true;
      case '--poll-ms': o.pollMs = num(flag, value(), 50, 10_000); return true;
      case '--complete-timeout': o.completeTimeoutMs = num(flag, value(), 1, 3600) * 1000; return true;
      default: return commonFlag(o, flag, value);
    }
  });
  return o;
}

// ---------------------------------------------------------------------------------------------
// HTTP to the REST gateway: plain global fetch (undici's keep-alive Agent), loopback only.

type Json = Record<string, unknown>;

async function http(base: string, path: string, init: RequestInit = {}): Promise<{ status: number; body: Json }> {
  assertLoopback(base);
  const res = await fetch(`${base}${path}`, { ...init, signal: AbortSignal.timeout(90_000) });
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) as Json };
  } catch {
    return { status: res.status, body: { error: text.slice(0, 200) } };
  }
}

const postJson = (base: string, path: string, body: unknown) => http(base, path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

function restFailure(r: { status: number; body: Json }): BenchError {
  const b = r.body;
  return new BenchError(`HTTP ${r.status} ${String(b['code'] ?? (b['headers'] as Json | undefined)?.['type'] ?? '')}: ${String(b['error'] ?? b['errorMessage'] ?? JSON.stringify(b)).slice(0, 160)}`);
}
// ---------------------------------------------------------------------------------------------
// Load driver

/** What one send answered: a hash (rpc, sync), the receipt's nonce (sync), a request id (async). */
interface Outcome {
  hash?: string;
  nonce?: number;
  id?: string;
}

interface Sample extends Outcome {
  ok: boolean;
  account: string;
  /** ms after the leg started when the request went out, and how long its answer took. */
  at: number;
  ms: number;
  error?: string;
}

interface LoadResult {
  samples: Sample[];
  wallMs: number;
  timedOut: boolean;
}

/** `concurrency` workers take request indexes until `total` are sent or `timeLimitMs` has passed. */
async function drive(total: number, concurrency: number, timeLimitMs: number, legStart: number, send: (i: number) => { account: string; run: () => Promise<Outcome> }): Promise<LoadResult> {
  const samples: Sample[] = [];
  const t0 = performance.now();
  const { timedOut } = await workerPool(total, concurrency, timeLimitMs, async (i) => {
    const { account, run } = send(i);
    const t = performance.now();
    const at = t - legStart;
    try {
      samples.push({ ok: true, account, at, ...(await run()), ms: performance.now() - t });
    } catch (error) {
      samples.push({ ok: false, account, at, ms: performance.now() - t, error: errorText(error) });
    }
  });
  return { samples, wallMs: performance.now() - t0, timedOut };
}

// ---------------------------------------------------------------------------------------------
// Async completion: the accepted ids are polled through GET /replies?id=…&id=… (100 per request, the
// gateway's REST_REPLIES_QUERY_LIMIT) rather than /replies/<id> one by one: 2,000 open ids every
// 500 ms would be 4,000 requests a second of the bench's own load on the gateway and Postgres.

interface Final {
  at: number; // ms after the leg started when the poller first saw it final
  type: string;
  ok: boolean;
  hash?: string;
  nonce?: number;
  error?: string;
}

class ReplyPoller {
  readonly finals = new Map<string, Final>();
  readonly open = new Set<string>();
  requests = 0;
  private stopped = false;
  private done?: Promise<void>;

  constructor(private readonly base: string, private readonly pollMs: number, private readonly legStart: number) {}

  start(): void {
    this.done = this.loop();
  }

  /** After the last request was answered: keeps polling until every accepted id is final or `deadline` passes. */
  async finish(deadline: number): Promise<void> {
    while (this.open.size && Date.now() < deadline) await sleep(50);
    this.stopped = true;
    await this.done;
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      const ids = [...this.open];
      for (let i = 0; i < ids.length; i += 400) {
        await Promise.all(chunks(ids.slice(i, i + 400), 100).map((chunk) => this.poll(chunk)));
      }
      await sleep(this.pollMs);
    }
  }

  private async poll(ids: string[]): Promise<void> {
    this.requests++;
    const r = await http(this.base, `/replies?limit=${ids.length}&${ids.map((id) => `id=${encodeURIComponent(id)}`).join('&')}`).catch(() => undefined);
    if (!r || r.status !== 200 || !Array.isArray(r.body)) return;
    const at = performance.now() - this.legStart;
    for (const reply of r.body as Json[]) {
      if (reply['pending']) continue;
      const id = String(reply['_id']);
      if (!this.open.delete(id)) continue;
      const type = String((reply['headers'] as Json | undefined)?.['type'] ?? '?');
      const ok = type === 'TransactionSuccess' && reply['status'] === '1';
      this.finals.set(id, {
        at,
        type,
        ok,
        hash: typeof reply['transactionHash'] === 'string' ? reply['transactionHash'].toLowerCase() : undefined,
        nonce: reply['nonce'] !== undefined ? Number(reply['nonce']) : undefined,
        error: ok ? undefined : `${type} ${String(reply['errorCode'] ?? '')}: ${String(reply['errorMessage'] ?? `status ${String(reply['status'])}`)}`,
      });
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Chain read-back

interface Contiguity {
  contiguous: boolean;
  gaps: number; // nonces in [start, highest of ours] that none of our transactions has
  duplicates: number; // two of our transactions with one nonce
  foreign: number; // nonces the account used beyond ours
  lost: number; // answered hashes the node does not know
  mismatched: number; // the answer's nonce is not the chain's nonce of that hash
  notMined: number;
}

/** Until every account's latest count covers its successes (bounded); ms after the leg started. */
async function waitMined(node: string, start: Map<string, number>, okPer: Map<string, number>, legStart: number, timeoutMs: number): Promise<{ done: boolean; at: number }> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const latest = await transactionCounts(node, [...start.keys()]);
    if ([...start].every(([a, n]) => latest.get(a)! >= n + (okPer.get(a) ?? 0))) return { done: true, at: performance.now() - legStart };
    await sleep(200);
  }
  return { done: false, at: performance.now() - legStart };
}

async function checkChain(node: string, ok: Array<{ account: string; hash?: string; nonce?: number }>, start: Map<string, number>): Promise<Contiguity> {
  const { perAccount, lost, notMined, mismatched } = await readBack(node, ok);
  const latest = await transactionCounts(node, [...start.keys()]);
  const { gaps, duplicates, foreign } = nonceUse(start, perAccount, latest);
  return { contiguous: gaps === 0 && duplicates === 0 && lost === 0 && mismatched === 0, gaps, duplicates, foreign, lost, mismatched, notMined };
}

// ---------------------------------------------------------------------------------------------
// Postgres

/**
 * This database's counters (pg_stat_database): commits and rows written/read, to count the writes
 * per transaction. Backends report them at most once a second (an idle one within 10 s on PG 15), so a
 * leg's last second can land in the next leg's figures.
 */
const PG_COUNTERS = ['xact_commit', 'tup_inserted', 'tup_updated', 'tup_fetched', 'tup_returned'] as const;
type PgCounters = Record<(typeof PG_COUNTERS)[number], number>;

async function pgCounters(pg: Client): Promise<PgCounters> {
  const { rows } = await pg.query<Record<string, string>>(`SELECT ${PG_COUNTERS.join(', ')} FROM pg_stat_database WHERE datname = current_database()`);
  return Object.fromEntries(PG_COUNTERS.map((k) => [k, Number(rows[0]?.[k] ?? NaN)])) as PgCounters;
}

/** Rows read per table (sequential + index fetches) and written: where the reads of `tup_fetched` go. */
async function pgTables(pg: Client): Promise<Map<string, TableCounters>> {
  const { rows } = await pg.query<{ relname: string; seq: string; idx: string; written: string }>(
    'SELECT relname, coalesce(seq_tup_read, 0) AS seq, coalesce(idx_tup_fetch, 0) AS idx, n_tup_ins + n_tup_upd + n_tup_del AS written FROM pg_stat_user_tables',
  );
  return new Map(rows.map((r) => [r.relname, { seq: Number(r.seq), idx: Number(r.idx), written: Number(r.written) }]));
}

interface TableCounters {
  seq: number; // rows read by sequential scans
  idx: number; // rows fetched through indexes
  written: number;
}

// ---------------------------------------------------------------------------------------------
// Legs

interface LegReport {
  id: string;
  title: string;
  sent: number;
  ok: number; // rpc: answered with a hash; sync: receipt status 1; async: final TransactionSuccess
  failed: number;
  /** rpc and sync: answers; async: 202s. */
  answer: { perSec: number; p50: number; p99: number; count: number };
  /** async: every reply final after `at` ms; successes per second of that; request → final reply. */
  completion?: { allFinal: boolean; at: number; perSec: number; p50: number; p99: number; open: number; pollRequests: number };
  minedAt: { done: boolean; at: number };
  chain: Contiguity;
  errors: ErrorGroup[];
  cpu: Map<string, number>;
  pg: PgCounters;
  tables: Map<string, TableCounters>;
  timedOut: boolean;
  load: string;
}

const COUNTER = JSON.parse(readFileSync(resolve(__dirname, '../e2e/src/fixtures/counter.json'), 'utf8')) as { abi: unknown[]; bytecode: string };
const counterInterface = new Interface(COUNTER.abi as InterfaceAbi);
const INCREMENT_DATA = counterInterface.encodeFunctionData('increment', [1n]);

interface Bench {
  o: Options;
  stack: Stack;
  node: string;
  rest: string;
  counter: string;
  pg: Client;
  natsPid: number | undefined;
  log: (line: string) => void;
}

type Mode = 'rpc' | 'sync' | 'async';

function sender(b: Bench, mode: Mode, poller?: ReplyPoller): (account: string) => () => Promise<Outcome> {
  const path = (account: string) => `/contracts/${b.counter}/increment?kld-from=${account}${mode === 'sync' ? '&kld-sync=true' : ''}`;
  if (mode === 'rpc') return (account) => async () => ({ hash: (await rpc<string>(b.stack.rpcUrl, 'eth_sendTransaction', [{ from: account, to: b.counter, data: INCREMENT_DATA }])).toLowerCase() });
  if (mode === 'sync') {
    return (account) => async () => {
      const r = await postJson(b.rest, path(account), { by: 1 });
      if (r.status !== 200 || r.body['status'] !== '1') throw restFailure(r);
      return { hash: String(r.body['transactionHash']).toLowerCase(), nonce: Number(r.body['nonce']) };
    };
  }
  return (account) => async () => {
    const r = await postJson(b.rest, path(account), { by: 1 });
    if (r.status !== 202 || r.body['sent'] !== true) throw restFailure(r);
    const id = String(r.body['id']);
    poller?.open.add(id);
    return { id };
  };
}

/** Sends `total` round-robin over `accounts` and, for async, waits (bounded) until every reply is final. Not measured. */
async function warm(b: Bench, mode: Mode, total: number, accounts: string[], concurrency: number): Promise<string[]> {
  const t0 = performance.now();
  const poller = mode === 'async' ? new ReplyPoller(b.rest, 250, t0) : undefined;
  poller?.start();
  const send = sender(b, mode, poller);
  const r = await drive(total, concurrency, 120_000, t0, (i) => ({ account: accounts[i % accounts.length], run: send(accounts[i % accounts.length]) }));
  await poller?.finish(Date.now() + 120_000);
  return [...r.samples.filter((s) => !s.ok).map((s) => s.error ?? '?'), ...[...(poller?.finals.values() ?? [])].filter((f) => !f.ok).map((f) => f.error ?? '?')];
}

async function runLeg(b: Bench, id: string, title: string, mode: Mode, total: number, accounts: string[]): Promise<LegReport> {
  const { o, node } = b;
  const start = await transactionCounts(node, accounts);
  const load = loadText();
  b.log(`leg ${id}: ${title} — ${total} tx, concurrency ${o.concurrency}, load ${load}`);
  const pgBefore = await pgCounters(b.pg);
  const tablesBefore = await pgTables(b.pg);
  const before = await cpuSnapshot(b.stack, b.pg, b.natsPid);
  const legStart = performance.now();
  const poller = mode === 'async' ? new ReplyPoller(b.rest, o.pollMs, legStart) : undefined;
  poller?.start();
  const send = sender(b, mode, poller);
  const result = await drive(total, o.concurrency, o.legTimeoutMs, legStart, (i) => ({ account: accounts[i % accounts.length], run: send(accounts[i % accounts.length]) }));
  await poller?.finish(Date.now() + o.completeTimeoutMs);

  // What succeeded, with the hash and nonce the client was told.
  const errors = result.samples.filter((s) => !s.ok).map((s) => s.error ?? '?');
  let ok: Array<{ account: string; hash?: string; nonce?: number; doneAt: number; at: number }>;
  if (poller) {
    ok = [];
    for (const s of result.samples.filter((x) => x.ok)) {
      const f = poller.finals.get(s.id!);
      if (!f) errors.push('not final within --complete-timeout');
      else if (!f.ok) errors.push(f.error ?? f.type);
      else ok.push({ account: s.account, hash: f.hash, nonce: f.nonce, doneAt: f.at, at: s.at });
    }
  } else {
    ok = result.samples.filter((s) => s.ok).map((s) => ({ account: s.account, hash: s.hash, nonce: s.nonce, doneAt: s.at + s.ms, at: s.at }));
  }
  const okPer = countByAccount(ok);
  const minedAt = await waitMined(node, start, okPer, legStart, 90_000);
  const after = await cpuSnapshot(b.stack, b.pg, b.natsPid);
  await sleep(1_100); // one more block before reading back
  const chain = await checkChain(node, ok, start);
  const pgAfter = await pgCounters(b.pg);
  const tables = new Map(
    [...(await pgTables(b.pg))].map(([t, v]) => {
      const was = tablesBefore.get(t) ?? { seq: 0, idx: 0, written: 0 };
      return [t, { seq: v.seq - was.seq, idx: v.idx - was.idx, written: v.written - was.written }];
    }),
  );

  const answered = result.samples.filter((s) => s.ok);
  const lastAnswer = Math.max(0, ...result.samples.map((s) => s.at + s.ms));
  const report: LegReport = {
    id,
    title,
    sent: result.samples.length,
    ok: ok.length,
    failed: result.samples.length - ok.length,
    answer: { count: answered.length, perSec: answered.length / (lastAnswer / 1000), p50: percentile(answered.map((s) => s.ms), 50), p99: percentile(answered.map((s) => s.ms), 99) },
    minedAt,
    chain,
    errors: topErrors(errors),
    cpu: cpuDiff(before, after),
    pg: Object.fromEntries(PG_COUNTERS.map((k) => [k, pgAfter[k] - pgBefore[k]])) as PgCounters,
    tables,
    timedOut: result.timedOut,
    load,
  };
  if (poller) {
    const lastFinal = Math.max(0, ...[...poller.finals.values()].map((f) => f.at));
    const toFinal = ok.map((s) => s.doneAt - s.at);
    report.completion = { allFinal: poller.open.size === 0, at: lastFinal, perSec: ok.length / (lastFinal / 1000), p50: percentile(toFinal, 50), p99: percentile(toFinal, 99), open: poller.open.size, pollRequests: poller.requests };
  }
  b.log(
    `leg ${id}: ${report.ok} ok, ${report.failed} failed, answers ${report.answer.perSec.toFixed(0)}/s p50 ${report.answer.p50.toFixed(0)} ms` +
      (report.completion ? `, all final ${report.completion.allFinal} after ${(report.completion.at / 1000).toFixed(1)} s (${report.completion.perSec.toFixed(0)} tx/s)` : '') +
      `, contiguous ${chain.contiguous}`,
  );
  return report;
}

// ---------------------------------------------------------------------------------------------
// Report

function printReport(o: Options, reports: LegReport[], idle: Map<string, number>, code: string): void {
  const out: string[] = [];
  const f0 = (n: number) => (Number.isFinite(n) ? n.toFixed(0) : '–');
  const base = reports.find((r) => r.id === '1');
  const rateOf = (r: LegReport) => (r.completion ? r.completion.perSec : r.answer.perSec);
  out.push('');
  out.push(`rest-storm ${new Date().toISOString()}  (${o.total} tx legs 1–3, ${o.total4} tx over ${o.accounts} accounts leg 4, concurrency ${o.concurrency}, anvil --block-time 1, Counter.increment(1))`);
  out.push(`uptime: ${uptimeText()}`);
  out.push(`code: ${code}`);
  out.push('');
  // Every leg's transactions on chain per second: the one rate all four legs share.
  const minedRate = (r: LegReport) => r.ok / (r.minedAt.at / 1000);
  const head = ['leg', 'ok / sent', 'failed', 'ok tx/s', 'mined tx/s', '% leg 1', 'answer /s', 'answer p50 ms', 'answer p99 ms', 'all final (s)', 'final p50 ms', 'final p99 ms', 'contiguous (gaps/dups/foreign/lost/mism)', 'all mined (s)', 'load at start'];
  const rows: string[][] = [head];
  for (const r of reports) {
    const c = r.chain;
    const d = r.completion;
    rows.push([
      `${r.id} ${r.title}`,
      `${r.ok} / ${r.sent}${r.timedOut ? ' (time limit)' : ''}`,
      String(r.failed),
      f0(rateOf(r)),
      f0(minedRate(r)),
      base ? `${f0((100 * minedRate(r)) / minedRate(base))}%` : '–',
      f0(r.answer.perSec),
      f0(r.answer.p50),
      f0(r.answer.p99),
      d ? `${d.allFinal ? 'yes' : `NO (${d.open} open)`} ${(d.at / 1000).toFixed(1)}` : '–',
      d ? f0(d.p50) : '–',
      d ? f0(d.p99) : '–',
      `${c.contiguous ? 'yes' : 'NO'} (${c.gaps}/${c.duplicates}/${c.foreign}/${c.lost}/${c.mismatched})`,
      `${r.minedAt.done && c.notMined === 0 ? 'yes' : `NO (${c.notMined} pending)`} ${(r.minedAt.at / 1000).toFixed(1)}`,
      r.load,
    ]);
  }
  out.push(...pipeTable(rows));
  out.push('');
  out.push('ok tx/s: leg 1 hashes answered per second, leg 2 receipts per second (first request to last answer), legs 3–4 successful');
  out.push('final replies per second from the first request to the last final reply. mined tx/s: successes / (leg start → every');
  out.push("account's latest count covers them; legs 3–4 checked only once all replies were final); % leg 1 compares mined tx/s.");
  out.push('answer: the HTTP answer (legs 3–4: the 202).');
  out.push(`final: request sent → reply seen final by the poller (GET /replies?id=… every ${o.pollMs} ms, ${reports.map((r) => (r.completion ? `leg ${r.id} ${r.completion.pollRequests}` : '')).filter(Boolean).join(', ')} poll requests).`);
  for (const r of reports) if (r.errors.length) out.push(`leg ${r.id} top errors: ${errorsText(r.errors)}`);
  out.push('');
  out.push('CPU per successful transaction (µs, utime+stime from the leg start until all final and mined):');
  out.push(...cpuTableLines(reports, idle));
  out.push('  idle ms/s: CPU ms per second of each process with no load, measured before leg 1. (whole machine): everything on the box.');
  out.push('');
  out.push('Postgres (this database, pg_stat_database / pg_stat_user_tables) per successful transaction, leg start until read back:');
  const pgRows: string[][] = [['counter', ...reports.map((r) => `leg ${r.id}`)]];
  for (const k of PG_COUNTERS) pgRows.push([k, ...reports.map((r) => (r.ok ? (r.pg[k] / r.ok).toFixed(1) : '–'))]);
  out.push(...numberTable(pgRows));
  for (const r of reports) {
    if (!r.ok) continue;
    const weight = (v: TableCounters) => v.seq + v.idx + v.written;
    const top = [...r.tables].filter(([, v]) => weight(v) > 0).sort((x, y) => weight(y[1]) - weight(x[1])).slice(0, 5);
    const per = (n: number) => (n / r.ok).toFixed(1);
    out.push(`  leg ${r.id} rows per tx by table, seq-scanned + index-fetched / written: ${top.map(([t, v]) => `${t} ${per(v.seq)} + ${per(v.idx)} / ${per(v.written)}`).join(', ')}`);
  }
  console.log(out.join('\n'));
}

/** HEAD, uncommitted changes under apps/ and libs/, and when each app's dist was built. */
function buildIdentity(): string {
  const root = resolve(__dirname, '..');
  const dirty = gitText(root, 'status', '--porcelain', '--', 'apps', 'libs').split('\n').filter(Boolean).length;
  const apps = ['rpc-gateway', 'rest-gateway', 'nonce-service', 'signer-service', 'key-discovery'];
  return `HEAD ${gitText(root, 'rev-parse', '--short', 'HEAD')}${dirty ? ` (+${dirty} uncommitted files in apps/libs)` : ''}; dist built (UTC) ${distBuiltText(root, apps)}`;
}

// ---------------------------------------------------------------------------------------------

/** Upload (multipart, as ethconnect's clients do) and a sync deploy; the contract's address. */
async function deployCounter(rest: string, from: string): Promise<string> {
  const form = new FormData();
  form.append('abi', JSON.stringify(COUNTER.abi));
  form.append('bytecode', COUNTER.bytecode);
  form.append('name', 'Counter');
  const up = await http(rest, '/abis', { method: 'POST', body: form });
  if (up.status !== 200) throw restFailure(up);
  const deployed = await postJson(rest, `/abis/${String(up.body['id'])}?kld-from=${from}&kld-sync=true`, { start: '0', initialLabel: 'bench' });
  if (deployed.status !== 200 || typeof deployed.body['contractAddress'] !== 'string') throw restFailure(deployed);
  return deployed.body['contractAddress'];
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  log(`rest-storm: ${JSON.stringify({ ...o, legs: [...o.legs] })}`);
  log(`uptime: ${uptimeText()}`);
  const code = buildIdentity();
  const keys = Math.max(o.accounts, 1);
  const started = Date.now();
  const stack = await startStack({
    dataDir: o.dataDir,
    keys,
    blockTime: 1,
    fundEth: '0', // anvil_setBalance below: funding transactions would cost blocks
    readyTimeoutMs: 240_000,
    logLevel: o.logLevel,
    discoveryPollMs: o.discoveryPollMs,
    onProgress: (line) => log(`stack: ${line}`),
  });
  log(`stack up in ${((Date.now() - started) / 1000).toFixed(1)} s; logs in ${stack.logDir}`);
  const pg = new Client({ connectionString: stack.databaseUrl });
  const reports: LegReport[] = [];
  const idle = new Map<string, number>();
  try {
    await pg.connect();
    const node = stack.anvil.url;
    const hsm = stack.addresses.slice(0, keys);
    for (const a of hsm) await rpc(node, 'anvil_setBalance', [a, ETH_1000]);
    const counter = await deployCounter(stack.restUrl, hsm[0]);
    log(`Counter at ${counter}`);
    const b: Bench = { o, stack, node, rest: stack.restUrl, counter, pg, natsPid: findNatsPid(stack.natsUrl), log };
    const many = hsm.slice(0, o.accounts);

    // Warm-up, not measured: one send per account (seeds its nonce row), then `--warmup` of each
    // leg's kind at the legs' concurrency (JIT, heap, pools, the JetStream consumer and the completer).
    log(`warm-up: one rpc send per account (${hsm.length}), then ${o.warmup} each of rpc, REST sync, REST async (1 account) and REST async (${many.length} accounts)`);
    const warmErrors = [
      ...(await warm(b, 'rpc', hsm.length, hsm, 16)),
      ...(await warm(b, 'rpc', o.warmup, [hsm[0]], o.concurrency)),
      ...(await warm(b, 'sync', o.warmup, [hsm[0]], o.concurrency)),
      ...(await warm(b, 'async', o.warmup, [hsm[0]], o.concurrency)),
      ...(await warm(b, 'async', o.warmup, many, o.concurrency)),
    ];
    if (warmErrors.length) log(`warm-up failures: ${warmErrors.length}: ${errorsText(topErrors(warmErrors))}`);
    await waitMined(node, await transactionCounts(node, hsm), new Map(), performance.now(), 30_000);
    await sleep(2_000);
    if (o.idleMs > 0) {
      log(`idle baseline: ${o.idleMs / 1000} s without load`);
      const a = await cpuSnapshot(stack, pg, b.natsPid);
      await sleep(o.idleMs);
      for (const [k, v] of cpuDiff(a, await cpuSnapshot(stack, pg, b.natsPid))) idle.set(k, (1000 * v) / o.idleMs);
    }

    if (o.legs.has('1')) reports.push(await runLeg(b, '1', 'rpc-gateway eth_sendTransaction, 1 account', 'rpc', o.total, [hsm[0]]));
    if (o.legs.has('2')) reports.push(await runLeg(b, '2', 'REST sync (kld-sync), 1 account', 'sync', o.total, [hsm[0]]));
    if (o.legs.has('3')) reports.push(await runLeg(b, '3', 'REST async, 1 account', 'async', o.total, [hsm[0]]));
    if (o.legs.has('4')) reports.push(await runLeg(b, '4', `REST async, ${many.length} accounts`, 'async', o.total4, many));
  } finally {
    await pg.end().catch(() => undefined);
    log('stopping the stack');
    await stack.stop().catch((e) => log(`stack stop: ${errorText(e)}`));
  }
  printReport(o, reports, idle, code);
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
