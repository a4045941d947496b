import { createTestDatabase, type TestDatabase } from '@hsm-signer/testing';
import { applyMigrations } from './migrate';
import { createDatabase, type Database, type PrismaClient } from './client';
import { NonceLedger, uniqueViolation } from './nonce-ledger';

// Real Postgres / NATS / anvil on a shared 2-core machine: allow for slow moments.
jest.setTimeout(120_000);

describe('NonceLedger statements under concurrency (real Postgres, 3 clients as 3 replicas)', () => {
  let db: TestDatabase;
  let databases: Database[] = [];
  let clients: PrismaClient[] = [];
  let ledgers: NonceLedger[] = [];
  const chainId = 31337;

  beforeAll(async () => {
    db = await createTestDatabase();
    await applyMigrations(db.url);
    databases = [0, 1, 2].map(() => createDatabase(db.url, { poolSize: 8 }));
    clients = databases.map((d) => d.prisma);
    ledgers = databases.map((d) => new NonceLedger(d.pool, { leaseMs: 30_000 }));
  });
  afterAll(async () => {
    for (const d of databases) await d.close();
    await db?.drop();
  });

  /** live ∪ released must be exactly [0, next_nonce), with no nonce in both and none twice. */
  async function expectNoGapNoDuplicate(address: string) {
    const prisma = clients[0];
    const live = (await prisma.transaction.findMany({ where: { fromAddress: address, liveNonce: { not: null } }, select: { nonce: true } })).map((t) => Number(t.nonce));
    const released = (await prisma.releasedNonce.findMany({ where: { address }, select: { nonce: true } })).map((r) => Number(r.nonce));
    const next = Number((await prisma.nonceAccount.findUniqueOrThrow({ where: { chainId_address: { chainId: BigInt(chainId), address } } })).nextNonce);
    expect(new Set(live).size).toBe(live.length);
    expect(released.filter((n) => live.includes(n))).toEqual([]);
    expect([...live, ...released].sort((a, b) => a - b)).toEqual(Array.from({ length: next }, (_, i) => i));
    return { live, released, next };
  }

  it('reports an unknown account instead of allocating, then starts at the given chain count', async () => {
    const address = '0x' + '0a'.repeat(20);
    expect(await ledgers[0].allocateBatch(chainId, address, [{}])).toEqual({ kind: 'unknown-account' });
    await ledgers[0].initAccount(chainId, address, 5);
    await ledgers[1].initAccount(chainId, address, 0); // a slower replica's stale read does not win
    const result = await ledgers[2].allocateBatch(chainId, address, [{}, {}]);
    expect(result.kind === 'ok' && result.slots.map((s) => s.nonce)).toEqual([5, 6]);
  });

  it('keeps live ∪ released = [0, next) through a storm of batches, releases and fixed nonces from 3 replicas', async () => {
    const address = '0x' + '0b'.repeat(20);
    await ledgers[0].initAccount(chainId, address, 0);
    const allocated: string[] = [];
    let seed = 42;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const worker = async (w: number) => {
      for (let i = 0; i < 60; i++) {
        const ledger = ledgers[(w + i) % 3];
        const op = rand(10);
        if (op < 6) {
          const r = await ledger.allocateBatch(chainId, address, Array.from({ length: 1 + rand(5) }, () => ({})));
          if (r.kind === 'ok') for (const s of r.slots) allocated.push(s.transactionId);
        } else if (op < 9 && allocated.length) {
          const [id] = allocated.splice(rand(allocated.length), 1);
          const r = await ledger.release(id, op === 8 ? 'abandoned' : 'rejected');
          expect(r.kind).toBe('ok');
        } else {
          const r = await ledger.allocateFixed(chainId, address, rand(400), {}, 50);
          if (r.kind === 'allocated') allocated.push(r.transactionId);
        }
      }
    };
    await Promise.all(Array.from({ length: 12 }, (_, w) => worker(w)));
    const { live, released, next } = await expectNoGapNoDuplicate(address);
    expect(live.length).toBeGreaterThan(100);
    expect(next).toBe(live.length + released.length);
    // Drain the released nonces: the next allocation takes exactly them, lowest first, then the counter.
    const drain = await ledgers[1].allocateBatch(chainId, address, Array.from({ length: released.length + 2 }, () => ({})));
    expect(drain.kind === 'ok' && drain.slots.map((s) => s.nonce)).toEqual([...released.sort((a, b) => a - b), next, next + 1]);
    const after = await expectNoGapNoDuplicate(address);
    expect(after.released).toEqual([]);
  });

  it('takes released nonces exactly lowest-first even when replicas allocate at the same moment', async () => {
    const address = '0x' + '0d'.repeat(20);
    await ledgers[0].initAccount(chainId, address, 0);
    for (let round = 0; round < 5; round++) {
      const held = await ledgers[0].allocateBatch(chainId, address, Array.from({ length: 6 }, () => ({})));
      if (held.kind !== 'ok') throw new Error('no account');
      // Release the 2nd and 4th, then three replicas each ask for one nonce at once.
      for (const i of [1, 3]) await ledgers[1].release(held.slots[i].transactionId, 'rejected');
      const got = await Promise.all(ledgers.map((l) => l.allocateBatch(chainId, address, [{}])));
      const nonces = got.map((g) => (g.kind === 'ok' ? g.slots[0].nonce : -1)).sort((a, b) => a - b);
      const base = held.slots[0].nonce;
      expect(nonces).toEqual([base + 1, base + 3, base + 6]);
    }
    await expectNoGapNoDuplicate(address);
  });

  it('gives one transaction per request id when replicas race on it, and consumes one nonce', async () => {
    const address = '0x' + '0c'.repeat(20);
    await ledgers[0].initAccount(chainId, address, 0);
    const results = await Promise.all(
      Array.from({ length: 9 }, (_, i) => ledgers[i % 3].allocateBatch(chainId, address, [{ requestId: 'race-1', payloadHash: '0x01' }, {}])),
    );
    const ids = new Set(results.map((r) => (r.kind === 'ok' ? r.slots[0].transactionId : 'none')));
    expect(ids.size).toBe(1);
    const { next, live } = await expectNoGapNoDuplicate(address);
    expect(next).toBe(10); // 1 for the request id + 9 anonymous slots
    expect(live).toHaveLength(10);
  });

  it('recognises unique violations through Prisma’s error wrapping', () => {
    expect(uniqueViolation({ code: 'P2010', meta: { code: '23505', message: 'duplicate key value violates unique constraint "transactions_request_id_key"' } })).toBe('transactions_request_id_key');
    expect(uniqueViolation(new Error('connection refused'))).toBeUndefined();
  });
});
