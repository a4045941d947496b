/**
 * What bench/nonce-storm.ts and bench/rest-storm.ts share: flag parsing, loopback JSON-RPC over
 * fetch, a bounded worker pool, percentiles and error grouping, nonce read-back from the chain, CPU
 * accounting from /proc, and table layout. Both scripts run their own main() on import, so the
 * shared pieces live here rather than in either of them.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { toBeHex } from 'ethers';
import type { Client } from 'pg';
import type { Stack } from '@hsm-signer/testing';

export const ETH_1000 = toBeHex(1000n * 10n ** 18n);

// ---------------------------------------------------------------------------------------------
// Flags

export function intFlag(flag: string, v: string | undefined, min: number, max: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${flag} wants an integer in [${min}, ${max}], got ${v}`);
  return n;
}

/**
 * Walks argv: each flag's handler reads its value (if any) through `value()`; `--help` prints
 * `help` and exits; anything else is an error.
 */
export function walkFlags(argv: string[], help: string, handle: (flag: string, value: () => string) => boolean): void {
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    if (flag === '--help') {
      console.log(help);
      process.exit(0);
    }
    if (!handle(flag, () => argv[++i])) throw new Error(`unknown flag ${flag} (--help)`);
  }
}

/** The options both storms have, under the same flags and limits. */
export interface CommonOptions {
  total: number; // legs 1–3
  total4: number; // leg 4, spread over `accounts`
  concurrency: number;
  legs: Set<string>;
  /** Sends at the legs' concurrency before anything is measured (JIT, heap, pools). */
  warmup: number;
  legTimeoutMs: number;
  idleMs: number;
  dataDir: string;
  discoveryPollMs: number;
  logLevel?: string;
}

/** The defaults both storms share. */
export function commonDefaults(): Pick<CommonOptions, 'total' | 'total4' | 'concurrency' | 'idleMs' | 'discoveryPollMs'> {
  return {
    total: 2000,
    total4: 2000,
    concurrency: 64,
    idleMs: 5_000,
    discoveryPollMs: 5_000, // key-discovery's own default (the test stack's 500 ms re-lists 100 keys twice a second)
  };
}

/** Sets the option of one of the common flags; false for any other flag. */
export function commonFlag(o: CommonOptions, flag: string, value: () => string): boolean {
  switch (flag) {
    case '--total': o.total = intFlag(flag, value(), 1, 100_000); return true;
    case '--total4': o.total4 = intFlag(flag, value(), 1, 100_000); return true;
    case '--concurrency': o.concurrency = intFlag(flag, value(), 1, 1024); return true;
    case '--legs': o.legs = new Set(value().split(',').map((s) => s.trim())); return true;
    case '--warmup': o.warmup = intFlag(flag, value(), 0, 100_000); return true;
    case '--leg-timeout': o.legTimeoutMs = intFlag(flag, value(), 1, 3600) * 1000; return true;
    case '--idle': o.idleMs = intFlag(flag, value(), 0, 600) * 1000; return true;
    case '--data-dir': o.dataDir = resolve(value()); return true;
    case '--discovery-poll-ms': o.discoveryPollMs = intFlag(flag, value(), 200, 3_600_000); return true;
    case '--log-level': o.logLevel = value(); return true;
    default: return false;
  }
}

// ---------------------------------------------------------------------------------------------
// JSON-RPC over plain fetch. Node's global fetch runs on undici's global Agent, which keeps
// connections alive and opens as many per origin as there are requests in flight.

export const LOOPBACK = /^http:\/\/(127\.0\.0\.1|localhost|\[::1\]):\d+/;
let rpcId = 0;

/** A failure whose message is already the whole story (errorText shows it bare). */
export class BenchError extends Error {
  override readonly name = 'BenchError';
}

export function assertLoopback(url: string): void {
  if (!LOOPBACK.test(url)) throw new Error(`refusing a non-loopback URL: ${url}`);
}

export function postJson(url: string, body: unknown, timeoutMs: number): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
}

export async function rpc<T>(url: string, method: string, params: unknown[] = [], timeoutMs = 30_000): Promise<T> {
  assertLoopback(url);
  const res = await postJson(url, { jsonrpc: '2.0', id: ++rpcId, method, params }, timeoutMs);
  const text = await res.text();
  let body: { result?: T; error?: { code?: number; message?: string } };
  try {
    body = JSON.parse(text);
  } catch {
    throw new BenchError(`HTTP ${res.status}: ${text.slice(0, 200)}`);
  }
  if (body.error) throw new BenchError(body.error.message ?? JSON.stringify(body.error));
  if (!res.ok) throw new BenchError(`HTTP ${res.status}`);
  return body.result as T;
}

/** Many calls, 200 per HTTP request; results in call order (errors as null). */
export async function rpcBatch<T>(url: string, calls: Array<{ method: string; params: unknown[] }>): Promise<Array<T | null>> {
  const out: Array<T | null> = [];
  for (const chunk of chunks(calls, 200)) {
    const res = await postJson(url, chunk.map((c, j) => ({ jsonrpc: '2.0', id: j, method: c.method, params: c.params })), 30_000);
    const byId = new Map(((await res.json()) as Array<{ id: number; result?: T }>).map((b) => [b.id, b]));
    for (let j = 0; j < chunk.length; j++) out.push(byId.get(j)?.result ?? null);
  }
  return out;
}

export function errorText(error: unknown): string {
  if (error instanceof BenchError) return error.message;
  if (error instanceof Error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    return `${error.name}: ${error.message}${cause ? ` (${cause.code ?? cause.message})` : ''}`;
  }
  return String(error);
}

export function chunks<T>(list: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Load

/**
 * `concurrency` workers take indexes 0 … total-1 in order until all are taken or `timeLimitMs` has
 * passed; `timedOut` says the time limit cut the run short.
 */
export async function workerPool(total: number, concurrency: number, timeLimitMs: number, job: (i: number) => Promise<void>): Promise<{ timedOut: boolean }> {
  let next = 0;
  let timedOut = false;
  const deadline = Date.now() + timeLimitMs;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, total) }, async () => {
      while (next < total) {
        if (Date.now() > deadline) return void (timedOut = true);
        await job(next++);
      }
    }),
  );
  return { timedOut };
}

/** Nearest-rank percentile; NaN for no values. */
export function percentile(values: number[], p: number): number {
  if (!values.length) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export interface ErrorGroup {
  count: number;
  example: string;
}

/** A message with hex, UUIDs and numbers elided: messages that differ only there group together. */
export function errorShape(message: string): string {
  return message.replace(/0x[0-9a-fA-F]+/g, '0x…').replace(/[0-9a-f]{8}-[0-9a-f-]{27}/g, 'UUID').replace(/\d+/g, 'N').slice(0, 160);
}

/** Error messages grouped by shape, most frequent first. */
export function topErrors(messages: string[], n = 3): ErrorGroup[] {
  const groups = new Map<string, ErrorGroup>();
  for (const m of messages) {
    const key = errorShape(m);
    const g = groups.get(key) ?? { count: 0, example: m.slice(0, 160) };
    g.count++;
    groups.set(key, g);
  }
  return [...groups.values()].sort((a, b) => b.count - a.count).slice(0, n);
}

export function errorsText(groups: ErrorGroup[]): string {
  return groups.map((e) => `${e.count}× "${e.example}"`).join('; ');
}

/** How many of `items` each account (lower-cased) has. */
export function countByAccount(items: Array<{ account: string }>): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of items) out.set(s.account.toLowerCase(), (out.get(s.account.toLowerCase()) ?? 0) + 1);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Chain read-back

export async function transactionCounts(node: string, accounts: string[], tag: 'latest' | 'pending' = 'latest'): Promise<Map<string, number>> {
  const counts = await rpcBatch<string>(node, accounts.map((a) => ({ method: 'eth_getTransactionCount', params: [a, tag] })));
  return new Map(accounts.map((a, i) => [a.toLowerCase(), Number(counts[i] ?? -1)]));
}

export interface ReadBack {
  perAccount: Map<string, number[]>; // chain nonces of our transactions, by lower-cased account
  lost: number; // hashes the node does not know
  notMined: number;
  mismatched: number; // the answer's nonce is not the chain's nonce of that hash
}

/** Reads every answered transaction back by hash. */
export async function readBack(node: string, ok: Array<{ account: string; hash?: string; nonce?: number }>): Promise<ReadBack> {
  const txs = await rpcBatch<{ nonce: string; blockNumber: string | null }>(node, ok.map((s) => ({ method: 'eth_getTransactionByHash', params: [s.hash] })));
  const perAccount = new Map<string, number[]>();
  let lost = 0;
  let mismatched = 0;
  let notMined = 0;
  ok.forEach((s, i) => {
    const tx = txs[i];
    if (!s.hash || !tx) return void lost++;
    if (tx.blockNumber === null) notMined++;
    const nonce = Number(tx.nonce);
    if (s.nonce !== undefined && s.nonce !== nonce) mismatched++;
    const list = perAccount.get(s.account.toLowerCase()) ?? [];
    list.push(nonce);
    perAccount.set(s.account.toLowerCase(), list);
  });
  return { perAccount, lost, notMined, mismatched };
}

export interface NonceUse {
  gaps: number; // nonces in [start, highest of ours] that none of our transactions has (and ours below the start)
  duplicates: number; // two of our transactions with one nonce
  foreign: number; // nonces the account used beyond ours
}

/** Against each account's count at the start and now: whether our nonces are one unbroken run. */
export function nonceUse(start: Map<string, number>, perAccount: Map<string, number[]>, latest: Map<string, number>): NonceUse {
  let gaps = 0;
  let duplicates = 0;
  let foreign = 0;
  for (const [account, first] of start) {
    const nonces = perAccount.get(account) ?? [];
    const distinct = new Set(nonces);
    duplicates += nonces.length - distinct.size;
    if (nonces.length) {
      // A loop, not Math.min(...distinct): a leg's 100,000 nonces would be too many arguments.
      let lowest = Infinity;
      let highest = -Infinity;
      for (const n of distinct) {
        lowest = Math.min(lowest, n);
        highest = Math.max(highest, n);
      }
      if (lowest < first) gaps += first - lowest; // below the start: nonces of earlier work reused
      gaps += highest - first + 1 - [...distinct].filter((n) => n >= first).length;
    }
    foreign += Math.max(0, latest.get(account)! - first - distinct.size);
  }
  return { gaps, duplicates, foreign };
}

// ---------------------------------------------------------------------------------------------
// CPU accounting: utime+stime of each process of the stack, before and after a leg.

export const MACHINE = '(whole machine)';
export const CLIENT = 'bench client';

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

export function procCpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK; // utime, stime (fields 14, 15)
  } catch {
    return undefined;
  }
}

export function machineBusyMs(): number {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const idle = cpu[3] + (cpu[4] ?? 0);
  return ((cpu.reduce((a, b) => a + b, 0) - idle) * 1000) / CLK_TCK;
}

export function findNatsPid(natsUrl: string): number | undefined {
  const port = new URL(natsUrl).port;
  for (const entry of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (cmd[0]?.endsWith('nats-server') && cmd.includes(port)) return Number(entry);
    } catch {
      // gone
    }
  }
  return undefined;
}

/** CPU ms so far of every process of the stack; `pg` is a connection to the run's database. */
export async function cpuSnapshot(stack: Stack, pg: Client, natsPid: number | undefined): Promise<Map<string, number>> {
  const snap = new Map<string, number>();
  for (const list of Object.values(stack.services)) for (const s of list) snap.set(s.name, procCpuMs(s.pid) ?? NaN);
  if (stack.anvil.process.pid) snap.set('anvil', procCpuMs(stack.anvil.process.pid) ?? NaN);
  if (natsPid) snap.set('nats-server', procCpuMs(natsPid) ?? NaN);
  // Postgres backends serving this run's database (the services' pools), not the whole server.
  const { rows } = await pg.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()');
  for (const { pid } of rows) snap.set(`pg:${pid}`, procCpuMs(pid) ?? NaN);
  const self = process.cpuUsage();
  snap.set(CLIENT, (self.user + self.system) / 1000);
  snap.set(MACHINE, machineBusyMs());
  return snap;
}

/** CPU ms per process between two snapshots; Postgres backends summed (one seen only at the end counts from 0). */
export function cpuDiff(before: Map<string, number>, after: Map<string, number>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [name, end] of after) {
    const key = name.startsWith('pg:') ? 'postgres (our DB)' : name;
    const begin = before.get(name) ?? 0;
    if (Number.isFinite(end) && Number.isFinite(begin)) out.set(key, (out.get(key) ?? 0) + Math.max(0, end - begin));
  }
  return out;
}

/** The stack's own processes only: neither the bench client nor the whole machine. */
function stackOnly(cpu: Map<string, number>): number {
  return [...cpu].filter(([k]) => k !== MACHINE && k !== CLIENT).reduce((a, [, v]) => a + v, 0);
}

/**
 * The per-transaction CPU table, indented: µs of CPU per successful transaction of each process
 * and leg, a stack total above the client and machine rows, and the idle ms per second.
 */
export function cpuTableLines(legs: Array<{ id: string; ok: number; cpu: Map<string, number> }>, idle: Map<string, number>): string[] {
  const names = [...new Set(legs.flatMap((r) => [...r.cpu.keys()]))];
  const order = (n: string) => (n === MACHINE ? 2 : n === CLIENT ? 1 : 0);
  names.sort((a, b) => order(a) - order(b) || a.localeCompare(b));
  const perTx = (r: { ok: number }, v: number | undefined) => (v !== undefined && r.ok ? ((1000 * v) / r.ok).toFixed(0) : '–');
  const rows: string[][] = [['process', ...legs.map((r) => `leg ${r.id}`), 'idle ms/s']];
  for (const n of names) rows.push([n, ...legs.map((r) => perTx(r, r.cpu.get(n))), idle.has(n) ? idle.get(n)!.toFixed(0) : '–']);
  rows.splice(rows.length - 2, 0, ['= stack total (above)', ...legs.map((r) => perTx(r, stackOnly(r.cpu))), idle.size ? stackOnly(idle).toFixed(0) : '–']);
  return numberTable(rows);
}

// ---------------------------------------------------------------------------------------------
// Tables

/** Cells padded to their column's width, joined by ' | '. */
export function pipeTable(rows: string[][]): string[] {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  return rows.map((row) => row.map((cell, i) => cell.padEnd(widths[i])).join(' | '));
}

/** Indented two spaces; the first column left-aligned, the others right-aligned (numbers). */
export function numberTable(rows: string[][]): string[] {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  return rows.map((row) => '  ' + row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  '));
}

// ---------------------------------------------------------------------------------------------
// Context

export function log(line: string): void {
  console.error(`[${new Date().toISOString().slice(11, 19)}] ${line}`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export function loadText(): string {
  return loadavg().map((l) => l.toFixed(2)).join(' ');
}

export function uptimeText(): string {
  try {
    return execFileSync('uptime').toString().trim();
  } catch {
    return `load average: ${loadText()}`;
  }
}

/** `git -C root …`'s output, or '?' (not a checkout, no git). */
export function gitText(root: string, ...args: string[]): string {
  try {
    return execFileSync('git', ['-C', root, ...args]).toString().trim();
  } catch {
    return '?';
  }
}

/** When each app's dist was built (UTC hh:mm), `?` for one not built. */
export function distBuiltText(root: string, apps: string[]): string {
  return apps
    .map((a) => {
      try {
        return `${a} ${statSync(join(root, 'dist', a, 'apps', a, 'src', 'main.js')).mtime.toISOString().slice(11, 16)}`;
      } catch {
        return `${a} ?`;
      }
    })
    .join(', ');
}
