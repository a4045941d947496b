import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { createTestDatabase, waitFor, type TestDatabase } from '@hsm-signer/testing';
import { applyMigrations } from './migrate';
import { createDatabase, type Database, type Pool } from './client';
import { LEASE_EXPIRED_ERROR, NonceLedger, type OutcomeResult, type SubmittedItem } from './nonce-ledger';

jest.setTimeout(120_000);

/** The same pool, noting the name of every statement sent through `query` (to count statements per call). */
function notingStatements(pool: Pool): { pool: Pool; names: string[] } {
  const names: string[] = [];
  const noting = new Proxy(pool, {
    get(target, prop) {
      if (prop === 'query') {
        return (config: { name?: string }, values?: unknown[]) => {
          names.push(config.name ?? String(config));
          return target.query(config as never, values);
        };
      }
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { pool: noting, names };
}

describe('NonceLedger.markSubmittedMany: one statement per batch, each item ending as markSubmitted would end it (real Postgres)', () => {
  let db: TestDatabase;
  let database: Database;
  let ledger: NonceLedger;
  const chainId = 31337;
  const hash = (n: number) => '0x' + n.toString(16).padStart(64, '0');
  let accounts = 0;
  const newAddress = () => '0x' + (++accounts).toString(16).padStart(40, 'e');

  beforeAll(async () => {
    db = await createTestDatabase();
    await applyMigrations(db.url);
    database = createDatabase(db.url, { poolSize: 4 });
    ledger = new NonceLedger(database.pool, { leaseMs: 30_000 });
  });
  afterAll(async () => {
    await database?.close();
    await db?.drop();
  });

  async function allocate(address: string, n: number): Promise<string[]> {
    await ledger.initAccount(chainId, address, 0);
    const r = await ledger.allocateBatch(chainId, address, Array.from({ length: n }, () => ({})));
    if (r.kind !== 'ok') throw new Error('no account');
    return r.slots.map((s) => s.transactionId);
  }

  /** Status, hash, attempts and live nonce of each transaction, and the statuses of its outbox events in relay order. */
  async function state(ids: string[]) {
    const out = [];
    for (const id of ids) {
      const t = await database.prisma.transaction.findUnique({ where: { id } });
      const events = await database.prisma.outboxEvent.findMany({ where: { transactionId: id }, orderBy: { seq: 'asc' } });
      out.push({
        status: t?.status,
        hash: t?.hash,
        raw: t?.raw,
        attempts: t?.attempts,
        liveNonce: t?.liveNonce === null || t?.liveNonce === undefined ? null : Number(t.liveNonce),
        error: t?.error,
        events: events.map((e) => (e.payload as { status: string; hash: string | null }).status + ':' + (e.payload as { hash: string | null }).hash),
      });
    }
    return out;
  }

  /**
   * One account in every situation a submitted record can meet. Returns the batch to record and the
   * ledger ids whose state to compare. Nonce k of the account is ids[k].
   */
  async function scenario() {
    const address = newAddress();
    const ids = await allocate(address, 8);
    // ids[2]: already mined (the tracker saw its receipt first).
    await database.pool.query("UPDATE transactions SET status = 'mined', hash = $2, raw = '0x02', block_number = 7, block_hash = $3, attempts = 1 WHERE id = $1", [ids[2], hash(200), hash(900)]);
    // ids[3]: reaped by the tracker (lease expired before its submitted arrived): revived.
    expect((await ledger.release(ids[3], 'abandoned', LEASE_EXPIRED_ERROR)).kind).toBe('ok');
    // ids[6]: rejected by the node: its nonce is released and the record cannot follow it.
    expect((await ledger.release(ids[6], 'rejected', 'insufficient funds')).kind).toBe('ok');
    const unknown = randomUUID();
    const items: SubmittedItem[] = [
      { transactionId: ids[0], record: { hash: hash(100), raw: '0xa0', type: 2, fields: { value: '0x1' }, rawNonce: 0, rawChainId: chainId } },
      { transactionId: ids[1], record: { hash: hash(101), raw: '0xa1', rawNonce: 99, rawChainId: chainId } }, // raw for another nonce
      { transactionId: ids[2], record: { hash: hash(200), raw: '0x02', rawNonce: 2, rawChainId: chainId } },
      { transactionId: unknown, record: { hash: hash(102) } },
      { transactionId: ids[3], record: { hash: hash(103), raw: '0xa3', rawNonce: 3, rawChainId: chainId } },
      { transactionId: ids[4], record: { hash: hash(104), raw: '0xa4', rawNonce: 4 } },
      { transactionId: 'not-a-uuid', record: { hash: hash(105) } },
      { transactionId: ids[4].toUpperCase(), record: { hash: hash(104), raw: '0xa4', rawNonce: 4 } }, // same id, same record
      { transactionId: ids[5], record: { hash: hash(106), raw: '0xa5', rawChainId: 1 } }, // raw for another chain
      { transactionId: ids[6], record: { hash: hash(107), raw: '0xa6' } },
      { transactionId: ids[7], record: { hash: hash(108), raw: '0xa7' } },
      { transactionId: ids[7], record: { hash: hash(109), raw: '0xa7b' } }, // same id, a re-signed record after it
      { transactionId: ids[0], record: { hash: hash(100), raw: '0xa0', type: 2, fields: { value: '0x1' }, rawNonce: 0, rawChainId: chainId } },
    ];
    return { address, ids, items };
  }

  function withoutAddress(results: OutcomeResult[]) {
    return results.map((r) => (r.kind === 'ok' ? { ...r, address: 'A' } : r));
  }

  it('records a mix (ok, not found, wrong nonce or chain in raw, already mined, reaped → revived, rejected, duplicate ids) exactly as one markSubmitted per item does', async () => {
    const bulk = await scenario();
    const noted = notingStatements(database.pool);
    const bulkResults = await new NonceLedger(noted.pool, { leaseMs: 30_000 }).markSubmittedMany(bulk.items);
    // One bulk statement; then only the items it did not update take the single-row path.
    expect(noted.names[0]).toBe('hsm_nl_mark_submitted_many_v1');
    expect(noted.names.filter((n) => n === 'hsm_nl_mark_submitted_many_v1')).toHaveLength(1);
    // ids[1], [2], [3], [5], [6] and the unknown id (not applicable) and the second record of ids[7]: 7 single-row attempts.
    expect(noted.names.filter((n) => n === 'hsm_nl_mark_submitted_v1')).toHaveLength(7);

    const single = await scenario();
    const singleResults: OutcomeResult[] = [];
    for (const item of single.items) singleResults.push(await ledger.markSubmitted(item.transactionId, item.record));

    expect(bulkResults).toHaveLength(bulk.items.length);
    expect(withoutAddress(bulkResults)).toEqual(withoutAddress(singleResults));
    expect(await state(bulk.ids)).toEqual(await state(single.ids));

    // And what that is, item by item (input order).
    const ok = (nonce: number) => ({ kind: 'ok', chainId, address: bulk.address, nonce });
    expect(bulkResults).toEqual([
      ok(0),
      { kind: 'conflict', status: 'allocated', reason: 'the raw transaction has nonce 99, the ledger allocated 1' },
      ok(2),
      { kind: 'not-found' },
      ok(3),
      ok(4),
      { kind: 'not-found' },
      ok(4),
      { kind: 'conflict', status: 'allocated', reason: `the raw transaction is for chain 1, the ledger allocated on chain ${chainId}` },
      { kind: 'conflict', status: 'rejected', reason: 'transaction is rejected; its nonce may already be reused' },
      ok(7),
      ok(7),
      ok(0),
    ]);
    const [s0, s1, s2, s3, s4, s5, s6, s7] = await state(bulk.ids);
    // One outbox event per row the statement changed, none for an unchanged one (a0 and a4 recorded twice).
    expect(s0).toMatchObject({ status: 'submitted', hash: hash(100), attempts: 1, liveNonce: 0, events: ['allocated:null', `submitted:${hash(100)}`] });
    expect(s1).toMatchObject({ status: 'allocated', hash: null, attempts: 0, events: ['allocated:null'] });
    expect(s2).toMatchObject({ status: 'mined', hash: hash(200), events: ['allocated:null', `mined:${hash(200)}`] });
    expect(s3).toMatchObject({ status: 'submitted', hash: hash(103), liveNonce: 3, error: null, events: ['allocated:null', 'abandoned:null', `submitted:${hash(103)}`] });
    expect(s4).toMatchObject({ status: 'submitted', hash: hash(104), attempts: 1, events: ['allocated:null', `submitted:${hash(104)}`] });
    expect(s5).toMatchObject({ status: 'allocated', hash: null, events: ['allocated:null'] });
    expect(s6).toMatchObject({ status: 'rejected', hash: null, liveNonce: null, events: ['allocated:null', 'rejected:null'] });
    expect(s7).toMatchObject({ status: 'submitted', hash: hash(109), raw: '0xa7b', attempts: 2, events: ['allocated:null', `submitted:${hash(108)}`, `submitted:${hash(109)}`] });
  });

  it('records a batch of 64 over several accounts in one statement: results in input order, one outbox event per transaction, idempotent when repeated', async () => {
    const byAccount = await Promise.all([0, 1, 2, 3].map(() => allocate(newAddress(), 16)));
    const all = byAccount.flatMap((ids) => ids.map((id, nonce) => ({ id, nonce })));
    // Not in id order, not grouped by account.
    const shuffled = [...all].sort((x, y) => (x.id.slice(9) < y.id.slice(9) ? -1 : 1));
    const items = shuffled.map(({ id, nonce }) => ({ transactionId: id, record: { hash: hash(1000 + all.findIndex((a) => a.id === id)), raw: '0x01', rawNonce: nonce, rawChainId: chainId } }));


    const noted = notingStatements(database.pool);
    const results = await new NonceLedger(noted.pool, { leaseMs: 30_000 }).markSubmittedMany(items);
    expect(noted.names).toEqual(['hsm_nl_mark_submitted_many_v1']);
    expect(results.map((r) => r.kind === 'ok' && r.nonce)).toEqual(shuffled.map((s) => s.nonce));
    const events = await database.prisma.outboxEvent.findMany({ where: { transactionId: { in: all.map((a) => a.id) }, subject: `hsm.v1.tx.${chainId}.submitted` } });
    expect(events).toHaveLength(64);
    expect(new Set(events.map((e) => e.transactionId)).size).toBe(64);
    // The bulk UPDATE wrote all 64 events in one statement (one transaction: one now()).
    expect(new Set(events.map((e) => e.createdAt.getTime())).size).toBe(1);

    // The same batch again: every item ok, nothing written (no attempt counted, no event).
    expect(await ledger.markSubmittedMany(items)).toEqual(results);
    expect(await database.prisma.outboxEvent.count({ where: { transactionId: { in: all.map((a) => a.id) }, subject: `hsm.v1.tx.${chainId}.submitted` } })).toBe(64);
    expect(await database.prisma.transaction.count({ where: { id: { in: all.map((a) => a.id) }, attempts: 1, status: 'submitted' } })).toBe(64);
  });

  it('falls back to one markSubmitted per item when the bulk statement is chosen as a deadlock victim (it changed nothing)', async () => {
    const address = newAddress();
    await ledger.initAccount(chainId, address, 0);
    // Two fresh rows A, B that the bulk UPDATE visits A first whatever its plan: a hash join over a
    // small table scans it in physical order, a nested loop over the primary key follows the (id-sorted) input.
    let pair: { a: string; b: string } | undefined;
    while (!pair) {
      const r = await ledger.allocateBatch(chainId, address, Array.from({ length: 4 }, () => ({})));
      if (r.kind !== 'ok') throw new Error('no account');
      const { rows } = await database.pool.query<{ id: string }>('SELECT id::text AS id FROM transactions WHERE id = ANY($1::uuid[]) ORDER BY ctid', [r.slots.map((s) => s.transactionId)]);
      for (let i = 0; i < rows.length && !pair; i++) for (let j = i + 1; j < rows.length && !pair; j++) if (rows[i].id < rows[j].id) pair = { a: rows[i].id, b: rows[j].id };
    }
    const { a, b } = pair;
    const other = new Client({ connectionString: db.url });
    await other.connect();
    try {
      // Another session holds B and, once the bulk statement holds A and waits for B, asks for A: a
      // cycle. Its long deadlock_timeout makes the bulk statement's backend the one that detects it.
      await other.query('BEGIN');
      await other.query("SET LOCAL deadlock_timeout = '60s'");
      await other.query('UPDATE transactions SET updated_at = now() WHERE id = $1', [b]);
      const noted = notingStatements(database.pool);
      const batch = new NonceLedger(noted.pool, { leaseMs: 30_000 }).markSubmittedMany([
        { transactionId: b, record: { hash: hash(501) } },
        { transactionId: a, record: { hash: hash(500) } },
      ]);
      await waitFor(
        'the bulk statement to wait for the lock on B',
        // This database only: pg_stat_activity is cluster-wide, and another spec's bulk statement
        // waiting on a lock elsewhere let the test go on before ours held A (a fresh-clone run).
        async () => (await other.query("SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%unnest($1::uuid[]%'")).rowCount,
        30_000,
        20,
      );
      await other.query('UPDATE transactions SET updated_at = now() WHERE id = $1', [a]);
      await other.query('COMMIT');
      expect(await batch).toEqual([
        { kind: 'ok', chainId, address, nonce: expect.any(Number) },
        { kind: 'ok', chainId, address, nonce: expect.any(Number) },
      ]);
      expect(noted.names.filter((n) => n === 'hsm_nl_mark_submitted_many_v1')).toHaveLength(1);
      expect(noted.names.filter((n) => n === 'hsm_nl_mark_submitted_v1')).toHaveLength(2);
      expect(await state([a, b])).toEqual([
        expect.objectContaining({ status: 'submitted', hash: hash(500), attempts: 1, events: ['allocated:null', `submitted:${hash(500)}`] }),
        expect.objectContaining({ status: 'submitted', hash: hash(501), attempts: 1, events: ['allocated:null', `submitted:${hash(501)}`] }),
      ]);
    } finally {
      await other.query('ROLLBACK').catch(() => undefined);
      await other.end();
    }
  });

  it('answers an empty batch without a statement, a batch of one transaction with markSubmitted’s statement, unknown or malformed ids with not-found', async () => {
    const noted = notingStatements(database.pool);
    expect(await new NonceLedger(noted.pool, { leaseMs: 30_000 }).markSubmittedMany([])).toEqual([]);
    expect(noted.names).toEqual([]);
    // One transaction in the batch: markSubmitted's own statement (the cheaper plan), then its not-found check.
    const one = new NonceLedger(noted.pool, { leaseMs: 30_000 });
    expect(await one.markSubmittedMany([{ transactionId: randomUUID(), record: { hash: hash(1) } }, { transactionId: 'x', record: { hash: hash(2) } }])).toEqual([
      { kind: 'not-found' },
      { kind: 'not-found' },
    ]);
    expect(noted.names).toEqual(['hsm_nl_mark_submitted_v1', 'hsm_nl_current_v1']);
  });
});
