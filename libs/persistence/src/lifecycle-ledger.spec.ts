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
});
