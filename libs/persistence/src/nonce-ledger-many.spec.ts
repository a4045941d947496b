import { Client } from 'pg';
import { createTestDatabase, waitFor, type TestDatabase } from '@hsm-signer/testing';
import { applyMigrations } from './migrate';
import { createDatabase, type Database, type Pool } from './client';
import { NonceLedger, type AccountSlot, type AccountSlotResult } from './nonce-ledger';

// Real Postgres on a shared 2-core machine: allow for slow moments.
jest.setTimeout(180_000);

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

const MANY = 'hsm_nl_allocate_many_v1';
const SINGLE = 'hsm_nl_allocate_v1';

describe('NonceLedger.allocateMany: slots of many accounts in one statement (real Postgres, 2 pools as 2 replicas)', () => {
  let db: TestDatabase;
  let databases: Database[] = [];
  let ledgers: NonceLedger[] = [];
  const chainId = 31337;
  let accounts = 0;
  const newAddress = () => '0x' + (++accounts).toString(16).padStart(40, 'a');

  beforeAll(async () => {
    db = await createTestDatabase();
    await applyMigrations(db.url);
    databases = [0, 1].map(() => createDatabase(db.url, { poolSize: 6 }));
    ledgers = databases.map((d) => new NonceLedger(d.pool, { leaseMs: 30_000 }));
  });
  afterAll(async () => {
    for (const d of databases) await d.close();
    await db?.drop();
  });

  const sql = <R extends object>(text: string, values: unknown[] = []) => databases[0].pool.query<R & Record<string, unknown>>(text, values).then((r) => r.rows);
  const noted = (i = 0) => {
    const n = notingStatements(databases[i].pool);
    return { ledger: new NonceLedger(n.pool, { leaseMs: 30_000 }), names: n.names };
  };
  async function newAccounts(n: number, start = 0, chain = chainId): Promise<string[]> {
    const out = Array.from({ length: n }, newAddress);
    for (const a of out) await ledgers[0].initAccount(chain, a, start);
    return out;
  }
  const nonceOf = (r: AccountSlotResult) => (r.kind === 'unknown-account' ? r.kind : r.nonce);

  /** live ∪ released must be exactly [start, next_nonce) (start: the account's first nonce), with no nonce in both and none twice. */
  async function expectNoGapNoDuplicate(address: string, chain = chainId, start = 0) {
    const live = (await sql<{ n: number }>('SELECT live_nonce::int AS n FROM transactions WHERE chain_id = $1 AND from_address = $2 AND live_nonce IS NOT NULL', [chain, address])).map((r) => r.n);
    const released = (await sql<{ n: number }>('SELECT nonce::int AS n FROM released_nonces WHERE chain_id = $1 AND address = $2', [chain, address])).map((r) => r.n);
    const [{ next }] = await sql<{ next: number }>('SELECT next_nonce::int AS next FROM nonces WHERE chain_id = $1 AND address = $2', [chain, address]);
    expect(new Set(live).size).toBe(live.length);
    expect(released.filter((n) => live.includes(n))).toEqual([]);
    expect([...live, ...released].sort((a, b) => a - b)).toEqual(Array.from({ length: next - start }, (_, i) => start + i));
    return { live, released, next };
  }

  it('allocates for several accounts (two chains) in ONE statement: per account contiguous, in slot order', async () => {
    const [a, b, c] = await newAccounts(3, 5);
    const [d] = await newAccounts(1, 0, 1);
    const items: AccountSlot[] = [c, a, b, a, c, a].map((address) => ({ chainId, address, slot: {} }));
    items.splice(3, 0, { chainId: 1, address: d, slot: {} });
    const { ledger, names } = noted();
    const results = await ledger.allocateMany(items);
    expect(names).toEqual([MANY]);
    // c, a, b, d, a, c, a: each account's slots get 5, 6, … in input order (d on chain 1 from 0).
    expect(results.map(nonceOf)).toEqual([5, 5, 5, 0, 6, 6, 7]);
    expect(new Set(results.map((r) => r.kind === 'allocated' && r.transactionId)).size).toBe(items.length);
    const rows = await sql<{ id: string; chain_id: string; from_address: string; nonce: string; status: string; nonce_source: string }>(
      'SELECT id::text, chain_id, from_address, nonce, status::text, nonce_source::text FROM transactions WHERE id = ANY($1::uuid[])',
      [results.map((r) => r.kind === 'allocated' && r.transactionId)],
    );
    const byId = new Map(rows.map((r) => [r.id, r]));
    results.forEach((r, i) => {
      if (r.kind !== 'allocated') throw new Error('expected an allocation');
      expect(byId.get(r.transactionId)).toEqual({
        id: r.transactionId,
        chain_id: String(items[i].chainId),
        from_address: items[i].address,
        nonce: String(r.nonce),
        status: 'allocated',
        nonce_source: 'counter',
      });
    });
    const counters = await sql<{ chain: number; address: string; next: number }>('SELECT chain_id::int AS chain, address, next_nonce::int AS next FROM nonces WHERE address = ANY($1)', [[a, b, c, d]]);
    expect(Object.fromEntries(counters.map((r) => [`${r.chain}:${r.address}`, r.next]))).toEqual({ [`${chainId}:${a}`]: 8, [`${chainId}:${b}`]: 6, [`${chainId}:${c}`]: 7, [`1:${d}`]: 1 });
    for (const address of [a, b, c]) await expectNoGapNoDuplicate(address, chainId, 5);
    await expectNoGapNoDuplicate(d, 1);
  });

  it('takes each account’s released nonces first, lowest first and not below the chain floor, then its counter', async () => {
    const [a, b] = await newAccounts(2);
    const held = await Promise.all([a, b].map((address) => ledgers[0].allocateBatch(chainId, address, Array.from({ length: 6 }, () => ({})))));
    const ids = held.map((h) => (h.kind === 'ok' ? h.slots.map((s) => s.transactionId) : []));
    // a: 4, 1 and 2 released, the chain floor at 2 (1 is consumed on chain and stays untouched); b: 3 released.
    for (const i of [4, 1, 2]) await ledgers[1].release(ids[0][i], 'rejected');
    await sql("UPDATE nonces SET chain_nonce = 2 WHERE chain_id = $1 AND address = $2", [chainId, a]);
    await ledgers[1].release(ids[1][3], 'abandoned');

    const { ledger, names } = noted(1);
    const results = await ledger.allocateMany([a, b, a, b, a].map((address) => ({ chainId, address, slot: {} })));
    expect(names).toEqual([MANY]);
    expect(results.map(nonceOf)).toEqual([2, 3, 4, 6, 6]);
    expect(results.map((r) => r.kind)).toEqual(['allocated', 'allocated', 'allocated', 'allocated', 'allocated']);
    const sources = await sql<{ nonce: number; src: string }>(
      "SELECT nonce::int, nonce_source::text AS src FROM transactions WHERE id = ANY($1::uuid[]) ORDER BY from_address = $2 DESC, nonce",
      [results.map((r) => r.kind === 'allocated' && r.transactionId), a],
    );
    expect(sources).toEqual([
      { nonce: 2, src: 'reused' },
      { nonce: 4, src: 'reused' },
      { nonce: 6, src: 'counter' },
      { nonce: 3, src: 'reused' },
      { nonce: 6, src: 'counter' },
    ]);
    expect((await expectNoGapNoDuplicate(a)).released).toEqual([1]);
    expect((await expectNoGapNoDuplicate(b)).released).toEqual([]);
  });

  it('returns the first transaction for request ids already in the ledger, consuming nothing, and allocates the rest', async () => {
    const [a, b] = await newAccounts(2);
    const first = await ledgers[0].allocateMany([
      { chainId, address: a, slot: { requestId: 'many-r1', payloadHash: '0x01' } },
      { chainId, address: b, slot: { requestId: 'many-r2' } },
    ]);
    expect(first.map(nonceOf)).toEqual([0, 0]);
    const { ledger, names } = noted();
    const again = await ledger.allocateMany([
      { chainId, address: b, slot: {} },
      { chainId, address: a, slot: { requestId: 'many-r1', payloadHash: '0x02' } },
      { chainId, address: b, slot: { requestId: 'many-r3' } },
      // Asked under another account: the ledger answers with the id's transaction; the caller refuses it.
      { chainId, address: a, slot: { requestId: 'many-r2' } },
    ]);
    expect(names).toEqual([MANY]);
    expect(again[0]).toMatchObject({ kind: 'allocated', nonce: 1 });
    expect(again[1]).toEqual({
      kind: 'existing',
      transactionId: first[0].kind === 'allocated' ? first[0].transactionId : '',
      nonce: 0,
      chainId,
      address: a,
      status: 'allocated',
      hash: null,
      payloadHash: '0x01',
    });
    expect(again[2]).toMatchObject({ kind: 'allocated', nonce: 2 });
    expect(again[3]).toMatchObject({ kind: 'existing', nonce: 0, address: b });
    // Only existing ids: nothing locked, nothing consumed.
    const only = await ledger.allocateMany([
      { chainId, address: a, slot: { requestId: 'many-r1' } },
      { chainId, address: b, slot: { requestId: 'many-r3' } },
    ]);
    expect(only.map((r) => r.kind)).toEqual(['existing', 'existing']);
    expect((await expectNoGapNoDuplicate(a)).next).toBe(1);
    expect((await expectNoGapNoDuplicate(b)).next).toBe(3);
  });

  it('marks the slots of accounts without a counter row and allocates the others; after initAccount those get their nonces', async () => {
    const [known] = await newAccounts(1, 3);
    const unknown1 = newAddress();
    const unknown2 = newAddress();
    const items: AccountSlot[] = [
      { chainId, address: unknown1, slot: {} },
      { chainId, address: known, slot: {} },
      { chainId, address: unknown2, slot: { requestId: 'many-unknown-1' } },
      { chainId, address: unknown1, slot: {} },
    ];
    const results = await ledgers[0].allocateMany(items);
    expect(results.map(nonceOf)).toEqual(['unknown-account', 3, 'unknown-account', 'unknown-account']);
    expect(await sql('SELECT 1 FROM transactions WHERE from_address = ANY($1)', [[unknown1, unknown2]])).toEqual([]);
    // Every account unknown: nothing allocated either.
    expect((await ledgers[0].allocateMany([items[0], items[2]])).map(nonceOf)).toEqual(['unknown-account', 'unknown-account']);

    await ledgers[0].initAccount(chainId, unknown1, 7);
    await ledgers[1].initAccount(chainId, unknown2, 0);
    const retried = await ledgers[1].allocateMany([items[0], items[2], items[3]]);
    expect(retried.map(nonceOf)).toEqual([7, 0, 8]);
  });

  it('is allocateBatch itself when every slot is for one account', async () => {
    const [a] = await newAccounts(1);
    const { ledger, names } = noted();
    const results = await ledger.allocateMany([{ chainId, address: a, slot: {} }, { chainId, address: a, slot: { requestId: 'many-one-account' } }]);
    expect(names).toEqual([SINGLE]);
    expect(results.map(nonceOf)).toEqual([0, 1]);
    expect((await ledger.allocateMany([{ chainId, address: newAddress(), slot: {} }])).map(nonceOf)).toEqual(['unknown-account']);
    expect(await ledger.allocateMany([])).toEqual([]);
  });

  it('writes one outbox event per allocated transaction, in the same statement, and none for existing ones', async () => {
    const [a, b] = await newAccounts(2);
    await ledgers[0].allocateMany([{ chainId, address: a, slot: { requestId: 'many-outbox-1' } }, { chainId, address: b, slot: {} }]);
    const results = await ledgers[0].allocateMany([
      { chainId, address: b, slot: {} },
      { chainId, address: a, slot: { requestId: 'many-outbox-1' } },
      { chainId, address: a, slot: { requestId: 'many-outbox-2' } },
    ]);
    const allocated = results.filter((r) => r.kind === 'allocated');
    expect(allocated).toHaveLength(2);
    const events = await sql<{ subject: string; transaction_id: string; payload: Record<string, unknown>; created_at: Date }>(
      'SELECT subject, transaction_id::text, payload, created_at FROM outbox_events WHERE transaction_id = ANY($1::uuid[]) ORDER BY seq',
      [results.map((r) => r.kind !== 'unknown-account' && r.transactionId)],
    );
    const existing = results[1].kind === 'existing' ? results[1].transactionId : '';
    // The existing transaction has only the event of its own allocation (the first call).
    expect(events.filter((e) => e.transaction_id === existing)).toHaveLength(1);
    const fresh = events.filter((e) => e.transaction_id !== existing);
    expect(fresh.map((e) => e.subject)).toEqual([`hsm.v1.tx.${chainId}.allocated`, `hsm.v1.tx.${chainId}.allocated`]);
    expect(new Set(fresh.map((e) => e.created_at.getTime())).size).toBe(1);
    for (const [result, from, nonce, requestId] of [
      [results[0], b, 1, null],
      [results[2], a, 1, 'many-outbox-2'],
    ] as const) {
      if (result.kind !== 'allocated') throw new Error('expected an allocation');
      const event = fresh.find((e) => e.transaction_id === result.transactionId);
      expect(event?.payload).toEqual(
        expect.objectContaining({ transactionId: result.transactionId, chainId, from, nonce, status: 'allocated', previousStatus: null, hash: null, kind: 'user', requestId }),
      );
    }
  });

  it('sees a release committed while it waited for an account’s lock (fresh snapshot after the locks)', async () => {
    const [a, b] = await newAccounts(2);
    const held = await ledgers[0].allocateBatch(chainId, a, [{}, {}, {}]);
    if (held.kind !== 'ok') throw new Error('no account');
    const holder = new Client({ connectionString: db.url });
    await holder.connect();
    try {
      // Another session holds a's counter row and releases nonce 1 under it, as hsm_release_nonce does.
      await holder.query('BEGIN');
      await holder.query('SELECT 1 FROM nonces WHERE chain_id = $1 AND address = $2 FOR UPDATE', [chainId, a]);
      await holder.query("UPDATE transactions SET status = 'rejected', live_nonce = NULL, updated_at = now() WHERE id = $1", [held.slots[1].transactionId]);
      await holder.query('INSERT INTO released_nonces (chain_id, address, nonce, transaction_id) VALUES ($1, $2, 1, $3)', [chainId, a, held.slots[1].transactionId]);
      const pending = ledgers[1].allocateMany([{ chainId, address: b, slot: {} }, { chainId, address: a, slot: {} }]);
      await waitFor('allocateMany waiting for the lock', async () => {
        const rows = await sql("SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%hsm_allocate_nonces_many%'");
        return rows.length > 0;
      });
      await holder.query('COMMIT');
      expect((await pending).map(nonceOf)).toEqual([0, 1]);
    } finally {
      await holder.end();
    }
    expect((await expectNoGapNoDuplicate(a)).released).toEqual([]);
  });

  it('never deadlocks nor duplicates a nonce when replicas allocate over overlapping accounts in opposite orders (many rounds)', async () => {
    const shared = await newAccounts(8);
    const notedLedgers = [noted(0), noted(1), noted(0), noted(1)];
    for (let round = 0; round < 40; round++) {
      const forward = shared.map((address) => ({ chainId, address, slot: {} }));
      const backward = [...forward].reverse();
      // Four calls at once: two replicas, each order twice, overlapping in every account.
      const calls = [forward, backward, forward.slice(2), backward.slice(1)];
      const results = await Promise.all(calls.map((items, i) => notedLedgers[i].ledger.allocateMany(items)));
      for (const r of results) expect(r.every((x) => x.kind === 'allocated')).toBe(true);
      // Released nonces in play too: give back one nonce of two accounts every few rounds.
      if (round % 5 === 4 && round < 35) {
        for (const [k, r] of [results[0][round % 8], results[1][(round + 3) % 8]].entries()) {
          if (r.kind !== 'allocated') throw new Error('expected an allocation');
          expect((await ledgers[k].release(r.transactionId, 'rejected')).kind).toBe('ok');
        }
      }
    }
    // Every call was the one statement: no deadlock victim, no unique violation, no per-account fallback.
    for (const n of notedLedgers) expect(new Set(n.names)).toEqual(new Set([MANY]));
    for (const address of shared) {
      const { live, released } = await expectNoGapNoDuplicate(address);
      expect(released).toEqual([]);
      expect(live.length).toBeGreaterThanOrEqual(40 * 3 - 8);
    }
  });

  it('falls back to one allocateBatch per account when the statement hits a unique violation (it changed nothing)', async () => {
    const [a, b] = await newAccounts(2);
    const held = await ledgers[0].allocateBatch(chainId, a, [{}, {}]);
    if (held.kind !== 'ok') throw new Error('no account');
    // An inconsistent ledger: nonce 0 of a is live AND listed as released.
    await sql('INSERT INTO released_nonces (chain_id, address, nonce) VALUES ($1, $2, 0)', [chainId, a]);
    const { ledger, names } = noted();
    const results = await ledger.allocateMany([{ chainId, address: a, slot: {} }, { chainId, address: b, slot: {} }, { chainId, address: a, slot: {} }]);
    // The statement failed on the live-nonce index; per account, allocateBatch dropped the bad row and retried.
    expect(names[0]).toBe(MANY);
    expect(names.filter((n) => n === MANY)).toHaveLength(1);
    expect(names).toContain('hsm_nl_drop_released_live_v1');
    expect(names.filter((n) => n === SINGLE).length).toBeGreaterThanOrEqual(3);
    expect(results.map(nonceOf)).toEqual([2, 0, 3]);
    await expectNoGapNoDuplicate(a);
    await expectNoGapNoDuplicate(b);
  });

  it('gives one transaction per request id when replicas race on it across accounts', async () => {
    const [a, b] = await newAccounts(2);
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        ledgers[i % 2].allocateMany([
          { chainId, address: b, slot: {} },
          { chainId, address: a, slot: { requestId: 'many-race-1', payloadHash: '0x01' } },
        ]),
      ),
    );
    const ids = new Set(results.map((r) => (r[1].kind !== 'unknown-account' ? r[1].transactionId : 'none')));
    expect(ids.size).toBe(1);
    expect(results.map((r) => r[0].kind)).toEqual(Array.from({ length: 8 }, () => 'allocated'));
    expect((await expectNoGapNoDuplicate(a)).next).toBe(1);
    expect((await expectNoGapNoDuplicate(b)).next).toBe(8);
  });
});
