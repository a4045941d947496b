import { createTestDatabase, type TestDatabase } from '@hsm-signer/testing';
import { applyMigrations } from './migrate';
import { createDatabase, type Database, type PrismaClient } from './client';
import { LifecycleLedger } from './lifecycle-ledger';
import { NonceLedger } from './nonce-ledger';

jest.setTimeout(120_000);

describe('LifecycleLedger: tracker leases, fencing, floor sync, gap claims (real Postgres, 2 clients as 2 replicas)', () => {
  let db: TestDatabase;
  let databases: Database[] = [];
  let clients: PrismaClient[] = [];
  let lifecycle: LifecycleLedger[] = [];
  let ledger: NonceLedger;
  const chainId = 31337;
  const hash = (n: number) => '0x' + n.toString(16).padStart(64, '0');

  beforeAll(async () => {
    db = await createTestDatabase();
    await applyMigrations(db.url);
    databases = [0, 1].map(() => createDatabase(db.url, { poolSize: 4 }));
    clients = databases.map((d) => d.prisma);
    lifecycle = clients.map((c) => new LifecycleLedger(c));
    ledger = new NonceLedger(databases[0].pool, { leaseMs: 30_000 });
  });
  afterAll(async () => {
    for (const d of databases) await d.close();
    await db?.drop();
  });

  async function account(address: string, allocate: number) {
    await ledger.initAccount(chainId, address, 0);
    const r = await ledger.allocateBatch(chainId, address, Array.from({ length: allocate }, () => ({})));
    if (r.kind !== 'ok') throw new Error('no account');
    return r.slots.map((s) => s.transactionId);
  }

  it('splits accounts between replicas: a held lease is skipped, an expired one changes owner with a new epoch, and the old owner’s writes are fenced off', async () => {
    const addresses = ['0x' + '01'.repeat(20), '0x' + '02'.repeat(20), '0x' + '03'.repeat(20)];
    const ids = [];
    for (const a of addresses) ids.push(...(await account(a, 1)));
    const [a, b] = await Promise.all([lifecycle[0].claimAccounts('A', 60_000, 2, 60_000), lifecycle[1].claimAccounts('B', 60_000, 10, 60_000)]);
    const owned = [...a.map((l) => l.address), ...b.map((l) => l.address)].sort();
    expect(owned).toEqual(addresses); // each account once, never to both
    // A renews its own; B cannot take them while A's lease runs.
    expect((await lifecycle[0].claimAccounts('A', 60_000, 10, 60_000)).length).toBeGreaterThanOrEqual(a.length);
    expect(await lifecycle[1].claimAccount('B', chainId, a[0].address, 60_000)).toBeUndefined();

    // A's lease ends (A stalled): B takes the account over with a higher epoch.
    const aLease = a[0];
    const txId = ids[addresses.indexOf(aLease.address)];
    await clients[0].$executeRaw`UPDATE transactions SET status = 'submitted', hash = ${hash(1)}, raw = '0x01' WHERE id = ${txId}::uuid`;
    expect(await lifecycle[0].markSent(aLease, txId, hash(1), true)).toBe(true);
    await clients[0].$executeRaw`UPDATE nonces SET lease_until = now() - interval '1 second' WHERE address = ${aLease.address}`;
    const bLease = await lifecycle[1].claimAccount('B', chainId, aLease.address, 60_000);
    expect(bLease?.epoch).toBe(aLease.epoch + 1n);
    // The stalled replica wakes up: its writes no longer land.
    expect(await lifecycle[0].markSent(aLease, txId, hash(1), true)).toBe(false);
    expect(await lifecycle[0].replace(aLease, txId, hash(1), { hash: hash(2), raw: '0x02', fields: {} })).toBe(false);
    expect(await lifecycle[1].replace(bLease!, txId, hash(1), { hash: hash(2), raw: '0x02', fields: { maxFeePerGas: '0x2' } })).toBe(true);
    const row = await clients[0].transaction.findUniqueOrThrow({ where: { id: txId } });
    expect(row).toMatchObject({ hash: hash(2), raw: '0x02', attempts: 2, resends: 0 });
    expect(await clients[0].transactionAttempt.findMany({ where: { transactionId: txId }, select: { hash: true, replacedBy: true } })).toEqual([{ hash: hash(1), replacedBy: hash(2) }]);

    // A receipt for the OLD hash still resolves the nonce (the replacement lost the race).
    const mined = await lifecycle[1].markMined(bLease!, txId, { hash: hash(1), blockNumber: 5, blockHash: hash(99), status: 1, gasUsed: 21_000n, effectiveGasPrice: 7n }, 1);
    expect(mined).toBe(true);
    expect(await clients[0].transaction.findUniqueOrThrow({ where: { id: txId } })).toMatchObject({ status: 'mined', hash: hash(1), raw: '0x01', blockNumber: 5n });
    const events = await clients[0].outboxEvent.findMany({ where: { transactionId: txId }, orderBy: { seq: 'asc' } });
    expect(events.map((e) => (e.payload as { status: string }).status)).toEqual(['allocated', 'submitted', 'submitted', 'mined']);
  });

  it('raises the counter to the chain, drops released nonces below it and rewinds a released top', async () => {
    const address = '0x' + '04'.repeat(20);
    const ids = await account(address, 5); // nonces 0..4
    await ledger.release(ids[3], 'abandoned');
    await ledger.release(ids[4], 'abandoned');
    await ledger.release(ids[0], 'abandoned');
    // chain mined 1 (nonce 0 consumed outside): 0 dropped; 3 and 4 are the top, nothing live above: rewound.
    expect(await lifecycle[0].syncFloor(chainId, address, 1)).toEqual({ nextNonce: 3, raised: false });
    expect(await clients[0].releasedNonce.count({ where: { address } })).toBe(0);
    expect(await lifecycle[0].syncFloor(chainId, address, 7)).toEqual({ nextNonce: 7, raised: true });
  });

  it('claims a hole for a gap fill only when it is old enough and a live transaction waits above it', async () => {
    const address = '0x' + '05'.repeat(20);
    const ids = await account(address, 3); // 0, 1, 2
    await ledger.release(ids[1], 'abandoned');
    expect(await lifecycle[0].claimGap(chainId, address, 1, 60_000, 30_000)).toBeUndefined(); // too young
    const claimed = await Promise.all([lifecycle[0].claimGap(chainId, address, 1, 0, 30_000), lifecycle[1].claimGap(chainId, address, 1, 0, 30_000)]);
    expect(claimed.filter(Boolean)).toHaveLength(1); // one claim wins
    const filler = await clients[0].transaction.findUniqueOrThrow({ where: { id: claimed.find(Boolean)! } });
    expect(filler).toMatchObject({ kind: 'gap-fill', nonce: 1n, liveNonce: 1n, status: 'allocated' });
    // No hole claimed when nothing waits above it.
    await ledger.release(ids[2], 'abandoned');
    expect(await lifecycle[0].claimGap(chainId, address, 2, 0, 30_000)).toBeUndefined();
  });

  it("reads only an account's open rows for the tracker, however many finished ones it has (a new, never analysed table)", async () => {
    const address = '0x' + '0b'.repeat(20);
    const ids = await account(address, 3_005);
    // 3,000 sent long ago and confirmed; 5 still submitted.
    await clients[0].$executeRaw`UPDATE transactions SET status = 'confirmed' WHERE id = ANY(${ids.slice(0, 3_000)}::uuid[])`;
    await clients[0].$executeRaw`UPDATE transactions SET status = 'submitted' WHERE id = ANY(${ids.slice(3_000)}::uuid[])`;
    /** Rows the plan touched beyond what it returned: read through an index and then filtered away. */
    const waste = async (sql: string, params: unknown[]) => {
      const root = (await databases[0].pool.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${sql}`, params)).rows[0]['QUERY PLAN'][0].Plan as Record<string, unknown>;
      let removed = 0;
      const walk = (node: Record<string, unknown>) => {
        removed += Number(node['Rows Removed by Filter'] ?? 0) + Number(node['Rows Removed by Index Recheck'] ?? 0);
        for (const child of (node['Plans'] as Record<string, unknown>[] | undefined) ?? []) walk(child);
      };
      walk(root);
      return removed;
    };
    // The shape of claimWork's read of an account's open rows (workColumns in lifecycle-ledger.ts).
    expect(await waste(`SELECT t.id FROM transactions t WHERE t.chain_id = $1 AND t.from_address = $2 AND t.status IN ('allocated', 'signed', 'submitted')`, [chainId, address])).toBeLessThan(50);
  });

  it('deletes published outbox events, or keeps them marked published when a retention asks for it', async () => {
    const address = '0x' + '0c'.repeat(20);
    const [id] = await account(address, 1); // its `allocated` event
    const events = async () => clients[0].outboxEvent.findMany({ where: { transactionId: id }, select: { id: true, publishedAt: true } });
    const [first] = await events();
    expect(first.publishedAt).toBeNull();
    await lifecycle[0].markPublished([first.id], true);
    expect((await events())[0].publishedAt).toBeInstanceOf(Date);
    expect(await lifecycle[0].prunePublished(60_000)).toBe(0); // younger than the retention
    expect(await lifecycle[0].prunePublished(0)).toBeGreaterThanOrEqual(1);
    expect(await events()).toEqual([]);
    await clients[0].$executeRaw`UPDATE transactions SET status = 'submitted', hash = ${hash(77)} WHERE id = ${id}::uuid`;
    const [second] = await events();
    await lifecycle[0].markPublished([second.id]);
    expect(await events()).toEqual([]);
  });

  it('retention deletes old rows in a final state with their attempts, in batches, and never an open, mined or recent one', async () => {
    const address = '0x' + '0a'.repeat(20);
    const ids = await account(address, 9);
    const statuses = ['confirmed', 'failed', 'replaced', 'rejected', 'abandoned', 'allocated', 'submitted', 'mined', 'confirmed'];
    for (const [i, id] of ids.entries()) {
      // All but the last are two days old; the last is a recent confirmed one.
      const age = i === ids.length - 1 ? '1 minute' : '2 days';
      const live = ['rejected', 'abandoned', 'replaced'].includes(statuses[i]) ? 'NULL' : 'nonce';
      await clients[0].$executeRawUnsafe(`UPDATE transactions SET status = '${statuses[i]}', live_nonce = ${live}, updated_at = now() - interval '${age}' WHERE id = $1::uuid`, id);
      await clients[0].$executeRaw`INSERT INTO transaction_attempts (transaction_id, hash, raw) VALUES (${id}::uuid, ${hash(1000 + i)}, '0x01')`;
    }
    const day = 86_400_000;
    // Batches of 2: the five old final rows go in three statements.
    const batches = [];
    for (let n = 2; n === 2; ) batches.push((n = await lifecycle[0].pruneFinished(day, 2)));
    expect(batches).toEqual([2, 2, 1]);
    const left = await clients[0].transaction.findMany({ where: { fromAddress: address }, select: { id: true, status: true }, orderBy: { nonce: 'asc' } });
    expect(left.map((r) => r.status)).toEqual(['allocated', 'submitted', 'mined', 'confirmed']);
    const attempts = await clients[0].transactionAttempt.findMany({ where: { transactionId: { in: ids } }, select: { transactionId: true } });
    expect(attempts.map((a) => a.transactionId).sort()).toEqual(left.map((r) => r.id).sort());
    expect(await lifecycle[0].pruneFinished(day, 2)).toBe(0);
  });

  describe('the tracker round (claimWork, markMinedMany, confirmMined, syncFloors; chain 4242, its own accounts)', () => {
    const chain = 4242;
    const work = (owner: string, o: { includeIdle?: boolean; detailsAfterMs?: number } = {}) =>
      lifecycle[owner === 'A' ? 0 : 1].claimWork(owner, { chainId: chain, leaseMs: 60_000, limit: 10, floorSyncMs: 60_000, detailsAfterMs: o.detailsAfterMs ?? 60_000, includeIdle: o.includeIdle ?? false });
    async function accountOn(address: string, allocate: number) {
      await ledger.initAccount(chain, address, 0);
      const r = await ledger.allocateBatch(chain, address, Array.from({ length: allocate }, () => ({})));
      if (r.kind !== 'ok') throw new Error('no account');
      return r.slots.map((s) => s.transactionId);
    }
    const submit = (id: string, n: number) =>
      clients[0].$executeRaw`UPDATE transactions SET status = 'submitted', hash = ${hash(n)}, raw = ${'0x' + n.toString(16)}, fields = '{"maxFeePerGas":"0x1"}'::jsonb, type = 2, submitted_at = now() WHERE id = ${id}::uuid`;
    const row = (id: string) => clients[0].transaction.findUniqueOrThrow({ where: { id } });

    it('leases only accounts with open work, returns all of it in the same statement, and takes idle accounts only when asked and their floor is due', async () => {
      const idle = '0x' + '41'.repeat(20);
      const busy = '0x' + '42'.repeat(20);
      await ledger.initAccount(chain, idle, 0);
      const ids = await accountOn(busy, 3); // nonces 0, 1, 2
      await submit(ids[0], 400);
      await submit(ids[1], 401);
      await clients[0].$executeRaw`UPDATE transactions SET status = 'mined', block_number = 7, block_hash = ${hash(700)}, receipt_status = 1, confirmations = 1 WHERE id = ${ids[1]}::uuid`;
      await ledger.release(ids[2], 'abandoned');

      const claimed = await work('A');
      expect(claimed.map((w) => w.lease.address)).toEqual([busy]); // the idle account is not polled
      const [w] = claimed;
      expect(w).toMatchObject({ nextNonce: 3, floorDue: false, holes: [{ nonce: 2 }], minedBlocks: [{ blockNumber: 7, blockHash: hash(700) }] });
      // Not yet stuck: no raw bytes nor fields are read.
      expect(w.transactions).toEqual([expect.objectContaining({ id: ids[0], nonce: 0, status: 'submitted', hash: hash(400), raw: null, fields: null, previousHashes: [] })]);
      // The other replica gets nothing while A holds it; A renews at the same epoch.
      expect(await work('B', { includeIdle: true })).toEqual([]);
      expect((await work('A'))[0].lease.epoch).toBe(w.lease.epoch);
      // Stuck: the bytes and fields come along for the re-send or replacement.
      expect((await work('A', { detailsAfterMs: 0 }))[0].transactions[0]).toMatchObject({ raw: '0x' + (400).toString(16), type: 2, fields: { maxFeePerGas: '0x1' } });
      expect((await lifecycle[0].accountWork(w.lease, 60_000, 60_000))?.transactions.map((t) => t.id)).toEqual([ids[0]]);

      // An idle account whose floor is due: only with includeIdle.
      expect((await work('A', { includeIdle: true })).map((x) => x.lease.address)).toEqual([busy]);
      await clients[0].$executeRaw`UPDATE nonces SET chain_nonce_at = now() - interval '2 minutes' WHERE chain_id = ${chain} AND address = ${idle}`;
      expect((await work('A')).map((x) => x.lease.address)).toEqual([busy]);
      const withIdle = await work('A', { includeIdle: true });
      expect(withIdle.map((x) => x.lease.address).sort()).toEqual([idle, busy].sort());
      expect(withIdle.find((x) => x.lease.address === idle)).toMatchObject({ floorDue: true, transactions: [], holes: [], minedBlocks: [] });
      await lifecycle[0].releaseAccounts('A');
    });

    it('marks many transactions mined in one statement, each fenced on its lease, then confirms only those deep enough in the blocks it is told are canonical', async () => {
      const address = '0x' + '43'.repeat(20);
      const ids = await accountOn(address, 3);
      for (const [i, id] of ids.entries()) await submit(id, 500 + i);
      const { lease } = (await work('A')).find((w) => w.lease.address === address)!;
      const other = (await work('A')).find((w) => w.lease.address !== address)!.lease;
      const receipt = (n: number, status: number, block: number) => ({ hash: hash(n), blockNumber: block, blockHash: hash(block * 100), status, gasUsed: 21_000n, effectiveGasPrice: 7n });
      const stale = { ...lease, epoch: lease.epoch - 1n };
      const mined = await lifecycle[0].markMinedMany('A', [
        { lease, id: ids[0], receipt: receipt(500, 1, 10), confirmations: 1 },
        { lease, id: ids[1], receipt: receipt(501, 0, 10), confirmations: 1 },
        { lease: stale, id: ids[2], receipt: receipt(502, 1, 10), confirmations: 1 },
        { lease: { ...other, epoch: lease.epoch }, id: ids[2], receipt: receipt(502, 1, 10), confirmations: 1 }, // another account's lease
      ]);
      expect(mined.sort()).toEqual([ids[0], ids[1]].sort());
      expect(await row(ids[0])).toMatchObject({ status: 'mined', blockNumber: 10n, blockHash: hash(1000), receiptStatus: 1, confirmations: 1 });
      expect(await row(ids[1])).toMatchObject({ status: 'failed', receiptStatus: 0 });
      expect(await row(ids[2])).toMatchObject({ status: 'submitted' }); // fenced off
      // A receipt of an earlier attempt: the current bytes are kept as an attempt.
      expect(await lifecycle[0].markMinedMany('A', [{ lease, id: ids[2], receipt: receipt(602, 1, 11), confirmations: 1 }])).toEqual([ids[2]]);
      expect(await row(ids[2])).toMatchObject({ status: 'mined', hash: hash(602), blockHash: hash(1100) });
      expect(await clients[0].transactionAttempt.findMany({ where: { transactionId: ids[2] }, select: { hash: true, replacedBy: true } })).toEqual([{ hash: hash(502), replacedBy: hash(602) }]);

      // Head 11: 2 blocks on block 10, not yet 3; the count as mined stays (it is written at the state changes).
      expect(await lifecycle[0].confirmMined('A', [lease], [hash(1000)], 11, 3)).toBe(0);
      expect(await row(ids[0])).toMatchObject({ status: 'mined', confirmations: 1 });
      // Another owner's call changes nothing.
      expect(await lifecycle[1].confirmMined('B', [lease], [hash(1000), hash(1100)], 20, 3)).toBe(0);
      expect(await row(ids[0])).toMatchObject({ status: 'mined', confirmations: 1 });
      // Head 13: blocks 10 and 11 both deep enough, but only block 10 is known canonical: ids[0] only.
      expect(await lifecycle[0].confirmMined('A', [lease], [hash(1000)], 13, 3)).toBe(1);
      expect(await row(ids[0])).toMatchObject({ status: 'confirmed', confirmations: 4 });
      expect(await row(ids[2])).toMatchObject({ status: 'mined', confirmations: 1 });
      // A block that is no longer at its height: its transactions are read back with their bytes for a receipt check.
      expect((await lifecycle[0].minedIn(chain, address, [hash(1100)])).map((t) => ({ id: t.id, raw: t.raw, blockNumber: t.blockNumber }))).toEqual([{ id: ids[2], raw: '0x' + (502).toString(16), blockNumber: 11 }]);
      const events = await clients[0].outboxEvent.findMany({ where: { transactionId: ids[0] }, orderBy: { seq: 'asc' } });
      expect(events.map((e) => (e.payload as { status: string }).status)).toEqual(['allocated', 'submitted', 'mined', 'confirmed']);
      await lifecycle[0].releaseAccounts('A');
    });

    it('syncs several floors in one statement', async () => {
      const a = '0x' + '44'.repeat(20);
      const b = '0x' + '45'.repeat(20);
      await accountOn(a, 2);
      await ledger.initAccount(chain, b, 0);
      const synced = await lifecycle[0].syncFloors(chain, [
        { address: b, minedCount: 4 },
        { address: a, minedCount: 1 },
      ]);
      expect(Object.fromEntries(synced)).toEqual({ [a]: { nextNonce: 2, raised: false }, [b]: { nextNonce: 4, raised: true } });
      expect(await clients[0].nonceAccount.findUniqueOrThrow({ where: { chainId_address: { chainId: BigInt(chain), address: b } } })).toMatchObject({ nextNonce: 4n, chainNonce: 4n });
    });
  });
});
