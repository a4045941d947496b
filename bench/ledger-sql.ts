/**
 * The nonce ledger's hot statements, through Prisma 7 `$queryRaw` (before) and through node-postgres
 * named prepared statements (after: NonceLedger on createDatabase's pool); the allocation function as
 * migration 20261124010000 created it (before) against its body of migration 20261201100000 (after);
 * and allocation for many accounts as one call per account against one allocateMany call for all of
 * them. Run by hand (tests never assert timings):
 *
 *   node -r @swc-node/register bench/ledger-sql.ts [transactions=2048]
 *
 * Per run, `transactions` nonces on a fresh account (fresh accounts for the many-accounts leg), one
 * statement at a time on a pool of ONE connection (so one Postgres backend does all the work of the
 * run), after a warm-up; each leg is run 3 times, the paths taking turns, and the medians are
 * printed. Prints per transaction: the client process's CPU (process.cpuUsage, user + system), the
 * Postgres backend's CPU (/proc/<pid>/stat utime + stime of `pg_backend_pid()`, clock ticks: read it
 * over many transactions), and wall time. The Prisma and pg paths run the same SQL (the Prisma
 * statements below are copied from nonce-ledger.ts as it was on Prisma), so their difference is the
 * client library and the prepared statements; the "old function" paths call a copy of the
 * allocation function taken from its first migration. On a shared 2-core machine the load decides
 * the figures: loadavg is printed with them.
 */
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { createDatabase, NonceLedger, Prisma, type Database, type SubmittedItem, applyMigrations } from '@hsm-signer/persistence';
import { createTestDatabase } from '@hsm-signer/testing';

const total = Number(process.argv[2] ?? 2048);
const warmUp = 256;
const chainId = 31337;
const leaseMs = 60_000;
const BATCHES = [1, 16, 64];
/** Accounts per call in the many-accounts leg, one nonce each. */
const ACCOUNTS = [16, 64];
/** Runs of each leg; the figures printed are medians. */
const ROUNDS = 3;
/** USER_HZ: /proc/<pid>/stat counts CPU in these ticks (100 on Linux, whatever the kernel's HZ). */
const TICKS_PER_SECOND = 100;

let accounts = 0;
const newAddress = () => '0x' + (++accounts).toString(16).padStart(40, 'b');
const hash = (n: number) => '0x' + n.toString(16).padStart(64, '0');

interface Figures {
  clientUs: number;
  backendUs: number;
  wallUs: number;
}

/** CPU (µs) a process has used, from /proc/<pid>/stat (fields 14 utime, 15 stime; after the command name). */
function processCpuUs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / TICKS_PER_SECOND;
}

/** Runs `work` (which handles `count` transactions) and returns its cost per transaction. */
async function measure(backendPid: number, count: number, work: () => Promise<void>): Promise<Figures> {
  const cpu = process.cpuUsage();
  const backend = processCpuUs(backendPid);
  const started = process.hrtime.bigint();
  await work();
  const wallUs = Number(process.hrtime.bigint() - started) / 1e3;
  const used = process.cpuUsage(cpu);
  return { clientUs: (used.user + used.system) / count, backendUs: (processCpuUs(backendPid) - backend) / count, wallUs: wallUs / count };
}

/**
 * Runs each path `ROUNDS` times, the paths taking turns (so a burst of load on the shared machine
 * hits all of them alike), and keeps each figure's median.
 */
async function interleaved<P extends string>(paths: readonly P[], run: (path: P) => Promise<Figures>): Promise<Map<P, Figures>> {
  const seen = new Map<P, Figures[]>(paths.map((p) => [p, []]));
  for (let round = 0; round < ROUNDS; round++) for (const path of round % 2 ? [...paths].reverse() : paths) seen.get(path)!.push(await run(path));
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  return new Map(
    [...seen].map(([path, runs]) => [path, { clientUs: median(runs.map((r) => r.clientUs)), backendUs: median(runs.map((r) => r.backendUs)), wallUs: median(runs.map((r) => r.wallUs)) }]),
  );
}

/** The statements as NonceLedger ran them on Prisma `$queryRaw` (before the switch). */
class PrismaStatements {
  constructor(private readonly db: Database) {}

  async allocate(address: string, n: number): Promise<string[]> {
    const requestIds: (string | null)[] = Array.from({ length: n }, () => null);
    const rows = await this.db.prisma.$queryRaw<{ id: string }[]>(Prisma.sql`
SELECT o_ord AS ord, o_kind AS kind, o_id::text AS id, o_nonce AS nonce, o_hash AS hash, o_status AS status, o_payload_hash AS payload_hash, o_chain_id AS chain_id, o_from_address AS from_address
FROM hsm_allocate_nonces(${BigInt(chainId)}, ${address}, ${requestIds}::text[], ${requestIds}::text[], ${BigInt(leaseMs)})`);
    return rows.map((r) => r.id);
  }

  async markSubmitted(transactionId: string, h: string, raw: string, nonce: number): Promise<void> {
    const rows = await this.db.prisma.$queryRaw<{ chain_id: bigint; from_address: string; nonce: bigint }[]>`
UPDATE transactions SET
  status = 'submitted'::transaction_status,
  attempts = attempts + CASE WHEN hash IS DISTINCT FROM ${h}::text THEN 1 ELSE 0 END,
  hash = ${h}::text,
  raw = COALESCE(${raw}::text, raw),
  type = COALESCE(${2}::int, type),
  fields = COALESCE(${null}::jsonb, fields),
  error = NULL,
  lease_until = NULL,
  submitted_at = COALESCE(submitted_at, now()),
  updated_at = now()
WHERE id = ${transactionId}::uuid
  AND status IN ('allocated', 'signed', 'submitted')
  AND (${nonce}::bigint IS NULL OR nonce = ${nonce}::bigint)
  AND (${chainId}::bigint IS NULL OR chain_id = ${chainId}::bigint)
RETURNING chain_id, from_address, nonce`;
    if (rows.length !== 1) throw new Error(`submitted ${transactionId}: ${rows.length} rows`);
  }
}

/**
 * hsm_allocate_nonces as migration 20261124010000_allocation_functions created it, under another
 * name (migration 20261201100000 replaced its body).
 */
const BEFORE_FUNCTION = 'bench_allocate_nonces_before';
async function createBeforeFunction(db: Database): Promise<void> {
  const migration = readFileSync(resolve(__dirname, '../libs/persistence/prisma/migrations/20261124010000_allocation_functions/migration.sql'), 'utf8');
  const start = migration.indexOf('CREATE FUNCTION "hsm_allocate_nonces"(');
  const end = migration.indexOf('$$;', start);
  if (start < 0 || end < 0) throw new Error('hsm_allocate_nonces not found in its migration');
  await db.pool.query(migration.slice(start, end + 3).replace('"hsm_allocate_nonces"', `"${BEFORE_FUNCTION}"`));
}

async function allocateBefore(db: Database, address: string, n: number): Promise<string[]> {
  const nulls = Array.from({ length: n }, () => null);
  const { rows } = await db.pool.query<{ id: string }>({
    name: 'bench_allocate_before',
    text: `SELECT o_id::text AS id FROM ${BEFORE_FUNCTION}($1::bigint, $2::text, $3::text[], $4::text[], $5::bigint)`,
    values: [chainId, address, nulls, nulls, leaseMs],
  });
  if (rows.length !== n || rows.some((r) => r.id === null)) throw new Error('no account');
  return rows.map((r) => r.id);
}

async function allocateWithLedger(ledger: NonceLedger, address: string, n: number): Promise<string[]> {
  const r = await ledger.allocateBatch(chainId, address, Array.from({ length: n }, () => ({})));
  if (r.kind !== 'ok') throw new Error('no account');
  return r.slots.map((s) => s.transactionId);
}

function row(leg: string, path: string, batch: number, f: Figures): string {
  return [leg.padEnd(11), path.padEnd(40), String(batch).padStart(5), f.clientUs.toFixed(0).padStart(11), f.backendUs.toFixed(0).padStart(12), f.wallUs.toFixed(0).padStart(9)].join('  ');
}

async function main(): Promise<void> {
  const testDb = await createTestDatabase();
  const before = loadavg();
  // One connection per pool: one backend does all of a leg's work, and its /proc counters are the leg's.
  const db = createDatabase(testDb.url, { poolSize: 1 });
  try {
    await applyMigrations(testDb.url);
    const ledger = new NonceLedger(db.pool, { leaseMs });
    const prismaPath = new PrismaStatements(db);
    await createBeforeFunction(db);
    const pid = async (via: 'prisma' | 'pg') =>
      via === 'pg' ? (await db.pool.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid : (await db.prisma.$queryRaw<{ pid: number }[]>`SELECT pg_backend_pid() AS pid`)[0].pid;
    // Prisma and the ledger share the pool (one connection): both report the same backend.
    const backendPid = await pid('pg');
    if ((await pid('prisma')) !== backendPid) throw new Error('expected one backend for both paths');

    console.log(`${total} transactions per run (+${warmUp} warm-up), median of ${ROUNDS} interleaved runs, one connection, one statement at a time; loadavg ${before.map((l) => l.toFixed(2)).join(' ')}`);
    console.log(['leg'.padEnd(11), 'path'.padEnd(40), 'batch', 'client µs/tx', 'backend µs/tx', 'wall µs/tx'].join('  '));

    for (const batch of BATCHES) {
      const figures = await interleaved(['prisma', 'pg-before', 'pg'] as const, async (path) => {
        const address = newAddress();
        await ledger.initAccount(chainId, address, 0);
        const allocate = (n: number) =>
          path === 'prisma' ? prismaPath.allocate(address, n) : path === 'pg-before' ? allocateBefore(db, address, n) : allocateWithLedger(ledger, address, n);
        for (let i = 0; i < warmUp; i += batch) await allocate(batch);
        return measure(backendPid, total, async () => {
          for (let i = 0; i < total; i += batch) await allocate(batch);
        });
      });
      console.log(row('allocate', 'Prisma $queryRaw', batch, figures.get('prisma')!));
      console.log(row('allocate', 'pg prepared, old function (before)', batch, figures.get('pg-before')!));
      console.log(row('allocate', 'pg prepared (allocateBatch)', batch, figures.get('pg')!));
    }

    // Many accounts, one nonce each, as a replica's queue holds them under load over many accounts:
    // one call per account (what per-account coalescing sent) against one allocateMany call.
    for (const count of ACCOUNTS) {
      const figures = await interleaved(['per-account-before', 'per-account', 'many'] as const, async (path) => {
        const addresses = Array.from({ length: count }, newAddress);
        for (const address of addresses) await ledger.initAccount(chainId, address, 0);
        const allocate = async () => {
          if (path === 'many') {
            const results = await ledger.allocateMany(addresses.map((address) => ({ chainId, address, slot: {} })));
            if (results.some((r) => r.kind !== 'allocated')) throw new Error('allocateMany: not all allocated');
            return;
          }
          for (const address of addresses) {
            if (path === 'per-account-before') await allocateBefore(db, address, 1);
            else await allocateWithLedger(ledger, address, 1);
          }
        };
        for (let i = 0; i < warmUp; i += count) await allocate();
        return measure(backendPid, total, async () => {
          for (let i = 0; i < total; i += count) await allocate();
        });
      });
      console.log(row('accounts', 'one call per account, old function', count, figures.get('per-account-before')!));
      console.log(row('accounts', 'one call per account (allocateBatch)', count, figures.get('per-account')!));
      console.log(row('accounts', 'one call for all (allocateMany)', count, figures.get('many')!));
    }

    // The submitted record: Prisma had only the single-row UPDATE; pg adds markSubmittedMany.
    for (const batch of BATCHES) {
      const figures = await interleaved(['prisma', 'pg', 'pg-many'] as const, async (path) => {
        const address = newAddress();
        await ledger.initAccount(chainId, address, 0);
        const ids = await allocateWithLedger(ledger, address, warmUp + total);
        const items: SubmittedItem[] = ids.map((transactionId, nonce) => ({ transactionId, record: { hash: hash(accounts * 1e6 + nonce), raw: '0x02f8', type: 2, rawNonce: nonce, rawChainId: chainId } }));
        const record = async (slice: SubmittedItem[]) => {
          if (path === 'pg-many') {
            const results = await ledger.markSubmittedMany(slice);
            if (results.some((r) => r.kind !== 'ok')) throw new Error('markSubmittedMany: not all ok');
            return;
          }
          // One statement per record (the batch is what one call of the batched route would carry).
          for (const item of slice) {
            if (path === 'prisma') await prismaPath.markSubmitted(item.transactionId, item.record.hash, item.record.raw!, item.record.rawNonce!);
            else if ((await ledger.markSubmitted(item.transactionId, item.record)).kind !== 'ok') throw new Error('markSubmitted: not ok');
          }
        };
        for (let i = 0; i < warmUp; i += batch) await record(items.slice(i, i + batch));
        return measure(backendPid, total, async () => {
          for (let i = warmUp; i < warmUp + total; i += batch) await record(items.slice(i, i + batch));
        });
      });
      console.log(row('submitted', 'Prisma $queryRaw, one per tx', batch, figures.get('prisma')!));
      console.log(row('submitted', 'pg prepared markSubmitted, one per tx', batch, figures.get('pg')!));
      console.log(row('submitted', 'pg markSubmittedMany, one per batch', batch, figures.get('pg-many')!));
    }
    console.log(`loadavg after ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  } finally {
    await db.close();
    await testDb.drop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
