import { createTestDatabase, type TestDatabase } from '@hsm-signer/testing';
import { applyMigrations } from './migrate';
import { createDatabase, type Database } from './client';
import { NonceLedger } from './nonce-ledger';
import { AbiNotFoundError, ContractNameTakenError, RestStore } from './rest-store';

// Real Postgres on a shared 2-core machine: allow for slow moments.
jest.setTimeout(120_000);

const ERC20ISH = [{ type: 'function', name: 'set', stateMutability: 'nonpayable', inputs: [{ name: 'x', type: 'uint256' }], outputs: [] }];
const addr = (n: number) => '0x' + n.toString(16).padStart(40, '0');
const hash = (n: number) => '0x' + n.toString(16).padStart(64, '0');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('RestStore (real Postgres, two stores as two gateway replicas)', () => {
  let db: TestDatabase;
  let databases: Database[] = [];
  let stores: RestStore[] = [];
  let store: RestStore;
  let ledger: NonceLedger;

  beforeAll(async () => {
    db = await createTestDatabase();
    await applyMigrations(db.url);
    databases = [0, 1].map(() => createDatabase(db.url, { poolSize: 4 }));
    stores = databases.map((d) => new RestStore(d.prisma));
    store = stores[0];
    ledger = new NonceLedger(databases[0].pool, { leaseMs: 30_000 });
  });
  afterAll(async () => {
    for (const d of databases) await d.close();
    await db?.drop();
  });

  it('the migration builds the nullability, indexes and foreign key schema.prisma declares (migrate.spec checks the column types)', async () => {
    const prisma = databases[0].prisma;
    const columns = await prisma.$queryRaw<{ c: string }[]>`
      SELECT table_name || '.' || column_name || ' ' || is_nullable || ' ' || COALESCE(character_maximum_length::text, '-') || ' ' || COALESCE(column_default, '-') AS c
      FROM information_schema.columns WHERE table_schema = 'public' AND table_name LIKE 'rest\_%' ORDER BY table_name, ordinal_position`;
    expect(columns.map((r) => r.c)).toEqual([
      'rest_abis.id NO - gen_random_uuid()',
      'rest_abis.name NO - -',
      "rest_abis.description NO - ''::text",
      'rest_abis.abi NO - -',
      'rest_abis.bytecode NO - -',
      'rest_abis.devdoc YES - -',
      'rest_abis.compiler_version YES - -',
      'rest_abis.deployable NO - -',
      'rest_abis.created_at NO - CURRENT_TIMESTAMP',
      'rest_contracts.address NO 42 -',
      'rest_contracts.abi_id NO - -',
      'rest_contracts.registered_as YES 200 -',
      'rest_contracts.created_at NO - CURRENT_TIMESTAMP',
      'rest_replies.id NO 200 -',
      'rest_replies.body NO - -',
      'rest_replies.pending NO - false',
      'rest_replies.transaction_id YES - -',
      'rest_replies.from_address YES 42 -',
      'rest_replies.to_address YES 42 -',
      'rest_replies.received_at NO - CURRENT_TIMESTAMP',
    ]);
    const indexes = await prisma.$queryRaw<{ indexdef: string }[]>`SELECT indexdef FROM pg_indexes WHERE tablename LIKE 'rest\_%' ORDER BY indexname`;
    expect(indexes.map((i) => i.indexdef.replace(/ USING btree/, '').replace(/public\./g, ''))).toEqual([
      'CREATE INDEX rest_abis_created_at_idx ON rest_abis (created_at)',
      'CREATE UNIQUE INDEX rest_abis_pkey ON rest_abis (id)',
      'CREATE UNIQUE INDEX rest_contracts_pkey ON rest_contracts (address)',
      'CREATE UNIQUE INDEX rest_contracts_registered_as_key ON rest_contracts (registered_as)',
      'CREATE INDEX rest_replies_pending_idx ON rest_replies (received_at, id) WHERE pending',
      'CREATE UNIQUE INDEX rest_replies_pkey ON rest_replies (id)',
      'CREATE INDEX rest_replies_received_at_idx ON rest_replies (received_at DESC)',
    ]);
    const fks = await prisma.$queryRaw<{ def: string }[]>`SELECT conname || ' ' || pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE contype = 'f' AND conrelid::regclass::text LIKE 'rest\_%'`;
    expect(fks.map((f) => f.def)).toEqual(['rest_contracts_abi_id_fkey FOREIGN KEY (abi_id) REFERENCES rest_abis(id) ON UPDATE CASCADE ON DELETE RESTRICT']);
  });

  const newAbi = (name = 'Counter') => store.createAbi({ name, abi: ERC20ISH, bytecode: '0x6080', deployable: true });

  describe('ABIs', () => {
    it('stores an ABI with its defaults and reads it back as given', async () => {
      const created = await store.createAbi({ name: 'Simple', abi: ERC20ISH, bytecode: '', deployable: false });
      expect(created).toEqual({
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        name: 'Simple',
        description: '',
        abi: ERC20ISH,
        bytecode: '',
        devdoc: null,
        compilerVersion: null,
        deployable: false,
        createdAt: expect.any(Date),
      });
      const full = await store.createAbi({
        name: 'Full',
        description: 'a counter',
        abi: ERC20ISH,
        bytecode: '0x6080604052',
        devdoc: '{"methods":{}}',
        compilerVersion: '0.8.28+commit.7893614a',
        deployable: true,
      });
      expect(await store.getAbi(full.id)).toEqual(full);
      expect(await store.getAbi(full.id.toUpperCase())).toEqual(full);
    });

    it('answers undefined for an unknown id and for an id that is not a UUID', async () => {
      expect(await store.getAbi('00000000-0000-4000-8000-00000000abcd')).toBeUndefined();
      expect(await store.getAbi('not-a-uuid')).toBeUndefined();
      expect(await store.getAbi("1'; DROP TABLE rest_abis; --")).toBeUndefined();
      expect(await store.getAbi('')).toBeUndefined();
    });

    it('lists newest first, then by id', async () => {
      const a = await newAbi('A');
      await sleep(5);
      const b = await newAbi('B');
      const list = await store.listAbis();
      expect(list.findIndex((x) => x.id === b.id)).toBeLessThan(list.findIndex((x) => x.id === a.id));
      for (let i = 1; i < list.length; i++) {
        const [prev, cur] = [list[i - 1], list[i]];
        const ordered = prev.createdAt > cur.createdAt || (prev.createdAt.getTime() === cur.createdAt.getTime() && prev.id < cur.id);
        expect({ i, ordered }).toEqual({ i, ordered: true });
      }
    });
  });

  describe('contracts', () => {
    it('registers an address (lowercased), finds it by address in any form or by name, and re-registering replaces ABI and name', async () => {
      const abi = await newAbi();
      const other = await newAbi('Other');
      const mixed = '0x' + 'AbCd'.repeat(10);
      const lower = mixed.toLowerCase();
      const registered = await store.registerContract({ address: mixed, abiId: abi.id, registeredAs: 'counter-1' });
      expect(registered).toEqual({ address: lower, abiId: abi.id, registeredAs: 'counter-1', createdAt: expect.any(Date) });
      for (const key of [lower, mixed, lower.slice(2), mixed.slice(2).toUpperCase(), 'counter-1']) expect(await store.getContract(key)).toEqual(registered);
      expect(await store.getContract('counter-2')).toBeUndefined();
      expect(await store.getContract(addr(0xdead))).toBeUndefined();

      const again = await store.registerContract({ address: lower, abiId: other.id, registeredAs: 'counter-renamed' });
      expect(again).toEqual({ address: lower, abiId: other.id, registeredAs: 'counter-renamed', createdAt: registered.createdAt });
      expect(await store.getContract('counter-1')).toBeUndefined();
      expect(await store.getContract('counter-renamed')).toEqual(again);
      // Without a name the registration drops the old one, and the name is free again.
      expect((await store.registerContract({ address: lower, abiId: other.id })).registeredAs).toBeNull();
      expect((await store.registerContract({ address: addr(0xbeef01), abiId: abi.id, registeredAs: 'counter-renamed' })).address).toBe(addr(0xbeef01));
    });

    it('a name looking like an address is still found by name when no such address is registered', async () => {
      const abi = await newAbi();
      const name = 'ab'.repeat(20);
      await store.registerContract({ address: addr(0xbeef02), abiId: abi.id, registeredAs: name });
      expect((await store.getContract(name))?.address).toBe(addr(0xbeef02));
    });

    it('refuses a name another address holds (with the holder), an unknown ABI, and a malformed address', async () => {
      const abi = await newAbi();
      await store.registerContract({ address: addr(0xc1), abiId: abi.id, registeredAs: 'taken' });
      const error = await store.registerContract({ address: addr(0xc2), abiId: abi.id, registeredAs: 'taken' }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ContractNameTakenError);
      expect(error).toMatchObject({ name: 'taken', address: addr(0xc1) });
      expect(await store.getContract(addr(0xc2))).toBeUndefined();
      // The holder re-registering under its own name is fine.
      expect((await store.registerContract({ address: addr(0xc1).toUpperCase().replace('0X', '0x'), abiId: abi.id, registeredAs: 'taken' })).address).toBe(addr(0xc1));

      await expect(store.registerContract({ address: addr(0xc3), abiId: '00000000-0000-4000-8000-00000000abcd' })).rejects.toBeInstanceOf(AbiNotFoundError);
      await expect(store.registerContract({ address: addr(0xc3), abiId: 'nope' })).rejects.toBeInstanceOf(AbiNotFoundError);
      await expect(store.registerContract({ address: '0x1234', abiId: abi.id })).rejects.toThrow(/not an address/);
      expect(await store.getContract(addr(0xc3))).toBeUndefined();
    });

    it('gives a name to exactly one of two addresses registering it at the same moment (two replicas), over 20 rounds', async () => {
      const abi = await newAbi();
      for (let round = 0; round < 20; round++) {
        const name = `race-${round}`;
        const [a, b] = [addr(0x1000 + 2 * round), addr(0x1001 + 2 * round)];
        const results = await Promise.allSettled([
          stores[0].registerContract({ address: a, abiId: abi.id, registeredAs: name }),
          stores[1].registerContract({ address: b, abiId: abi.id, registeredAs: name }),
        ]);
        const won = results.filter((r) => r.status === 'fulfilled');
        const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
        expect({ round, won: won.length, lost: lost.length }).toEqual({ round, won: 1, lost: 1 });
        const winner = (won[0] as PromiseFulfilledResult<{ address: string }>).value.address;
        expect(lost[0].reason).toBeInstanceOf(ContractNameTakenError);
        expect(lost[0].reason).toMatchObject({ name, address: winner });
        expect((await store.getContract(name))?.address).toBe(winner);
      }
    });

    it('two replicas registering the same address at the same moment both succeed, one registration wins', async () => {
      const [x, y] = [await newAbi('X'), await newAbi('Y')];
      for (let round = 0; round < 10; round++) {
        const address = addr(0x2000 + round);
        const [r0, r1] = await Promise.all([
          stores[0].registerContract({ address, abiId: x.id, registeredAs: `same-${round}-x` }),
          stores[1].registerContract({ address, abiId: y.id, registeredAs: `same-${round}-y` }),
        ]);
        const stored = await store.getContract(address);
        expect([r0, r1].map((r) => r.abiId)).toContain(stored?.abiId);
        expect(stored?.registeredAs).toBe(stored?.abiId === x.id ? `same-${round}-x` : `same-${round}-y`);
      }
    });

    it('lists newest first', async () => {
      const abi = await newAbi();
      await store.registerContract({ address: addr(0x3001), abiId: abi.id });
      await sleep(5);
      await store.registerContract({ address: addr(0x3002), abiId: abi.id });
      const list = await store.listContracts();
      expect(list.findIndex((c) => c.address === addr(0x3002))).toBeLessThan(list.findIndex((c) => c.address === addr(0x3001)));
      for (let i = 1; i < list.length; i++) expect(list[i - 1].createdAt.getTime()).toBeGreaterThanOrEqual(list[i].createdAt.getTime());
    });
  });

  describe('replies', () => {
    it('a pending record is created once and never overwritten by another pending create', async () => {
      const txId = '00000000-0000-4000-8000-000000000001';
      expect(await store.createPendingReply({ id: 'p-1', body: { headers: { type: 'SendTransaction' }, pending: true }, transactionId: txId, from: addr(0xaa).toUpperCase().replace('0X', '0x'), to: null })).toBe('created');
      expect(await store.createPendingReply({ id: 'p-1', body: { other: true } })).toBe('exists');
      expect(await store.getReply('p-1')).toEqual({
        id: 'p-1',
        body: { headers: { type: 'SendTransaction' }, pending: true },
        pending: true,
        transactionId: txId,
        from: addr(0xaa),
        to: null,
        receivedAt: expect.any(Date),
      });
      await expect(store.createPendingReply({ id: 'p-bad', body: {}, transactionId: 'not-a-uuid' })).rejects.toThrow(/UUID/);
      expect(await store.getReply('p-bad')).toBeUndefined();
    });

    it('concurrent pending creates of one id: exactly one is created', async () => {
      const results = await Promise.all([0, 1, 0, 1].map((i, n) => stores[i].createPendingReply({ id: 'p-race', body: { n } })));
      expect(results.filter((r) => r === 'created')).toHaveLength(1);
      expect(results.filter((r) => r === 'exists')).toHaveLength(3);
    });

    it('a final reply overwrites a pending one (keeping its ledger id and addresses), a pending one never overwrites a final one, a final one stays', async () => {
      const txId = '00000000-0000-4000-8000-000000000002';
      await store.createPendingReply({ id: 'f-1', body: { pending: true }, transactionId: txId, from: addr(0xb1), to: addr(0xb2) });
      const pending = await store.getReply('f-1');
      // A pending record may be replaced by a newer pending one (e.g. with the hash stamped on it).
      expect(await store.saveReply({ id: 'f-1', body: { pending: true, transactionHash: hash(1) }, pending: true })).toBe(true);
      expect((await store.getReply('f-1'))?.body).toEqual({ pending: true, transactionHash: hash(1) });
      await sleep(5);
      expect(await store.saveReply({ id: 'f-1', body: { headers: { type: 'TransactionSuccess' }, status: '1' }, pending: false })).toBe(true);
      const final = await store.getReply('f-1');
      expect(final).toEqual({
        id: 'f-1',
        body: { headers: { type: 'TransactionSuccess' }, status: '1' },
        pending: false,
        transactionId: txId,
        from: addr(0xb1),
        to: addr(0xb2),
        receivedAt: expect.any(Date),
      });
      expect(final!.receivedAt.getTime()).toBeGreaterThan(pending!.receivedAt.getTime());

      expect(await store.saveReply({ id: 'f-1', body: { pending: true }, pending: true })).toBe(false);
      expect(await store.saveReply({ id: 'f-1', body: { headers: { type: 'Error' } }, pending: false })).toBe(false);
      expect(await store.getReply('f-1')).toEqual(final);
      expect(await store.createPendingReply({ id: 'f-1', body: {} })).toBe('exists');
      expect(await store.getReply('f-1')).toEqual(final);
    });

    it('saveReplies writes many replies in one statement, with the rules of saveReply for each', async () => {
      await store.saveReply({ id: 'm-final', body: { status: '1' }, pending: false });
      const results = await store.saveReplies([
        { id: 'm-1', body: { n: 1 }, pending: true, transactionId: '00000000-0000-4000-8000-0000000000d1', from: addr(0xd1) },
        { id: 'm-final', body: { late: true }, pending: true }, // a final reply is never overwritten
        { id: 'm-2', body: { n: 2 }, pending: true },
        { id: 'm-2', body: { n: 2, final: true }, pending: false }, // the same id twice: the final one wins
        { id: 'm-2', body: { n: 2, again: true }, pending: true },
      ]);
      expect(results).toEqual([true, false, false, true, false]);
      expect(await store.getReply('m-1')).toMatchObject({ pending: true, body: { n: 1 }, transactionId: '00000000-0000-4000-8000-0000000000d1', from: addr(0xd1) });
      expect(await store.getReply('m-final')).toMatchObject({ pending: false, body: { status: '1' } });
      expect(await store.getReply('m-2')).toMatchObject({ pending: false, body: { n: 2, final: true } });
      expect(await store.saveReplies([])).toEqual([]);
    });

    it('saveReply inserts a new reply, pending or final', async () => {
      expect(await store.saveReply({ id: 's-1', body: { a: 1 }, pending: false, from: addr(0xc1), to: addr(0xc2) })).toBe(true);
      expect(await store.getReply('s-1')).toMatchObject({ body: { a: 1 }, pending: false, transactionId: null, from: addr(0xc1), to: addr(0xc2) });
      expect(await store.saveReply({ id: 's-2', body: { b: 'x' }, pending: true, transactionId: '00000000-0000-4000-8000-000000000003' })).toBe(true);
      expect(await store.getReply('s-2')).toMatchObject({ pending: true, transactionId: '00000000-0000-4000-8000-000000000003', from: null, to: null });
      expect(await store.getReply('s-3')).toBeUndefined();
    });

    it('lists newest received first, with ids, since, from/to (any case), limit and skip', async () => {
      const from = addr(0xf00d01);
      const to = addr(0xf00d02);
      const ids = ['l-1', 'l-2', 'l-3', 'l-4'];
      const times: Date[] = [];
      for (const [i, id] of ids.entries()) {
        await store.saveReply({ id, body: { i }, pending: false, from: i % 2 === 0 ? from : addr(0xf00d03), to: i < 2 ? to : null });
        times.push((await store.getReply(id))!.receivedAt);
        await sleep(5);
      }
      const mine = (rows: { id: string }[]) => rows.map((r) => r.id).filter((id) => id.startsWith('l-'));
      expect(mine(await store.listReplies({ limit: 100 }))).toEqual(['l-4', 'l-3', 'l-2', 'l-1']);
      const all = await store.listReplies({ limit: 1000 });
      for (let i = 1; i < all.length; i++) expect(all[i - 1].receivedAt.getTime()).toBeGreaterThanOrEqual(all[i].receivedAt.getTime());

      expect((await store.listReplies({ ids: ['l-1', 'l-3', 'missing'], limit: 10 })).map((r) => r.id)).toEqual(['l-3', 'l-1']);
      expect(await store.listReplies({ ids: [], limit: 10 })).toEqual([]);
      expect((await store.listReplies({ ids, limit: 2 })).map((r) => r.id)).toEqual(['l-4', 'l-3']);
      expect((await store.listReplies({ ids, limit: 2, skip: 1 })).map((r) => r.id)).toEqual(['l-3', 'l-2']);
      expect((await store.listReplies({ ids, limit: 10, skip: 4 })).map((r) => r.id)).toEqual([]);
      // since is exclusive: replies received after it.
      expect((await store.listReplies({ ids, limit: 10, since: times[1] })).map((r) => r.id)).toEqual(['l-4', 'l-3']);
      expect((await store.listReplies({ limit: 10, from: from.toUpperCase().replace('0X', '0x') })).map((r) => r.id)).toEqual(['l-3', 'l-1']);
      expect((await store.listReplies({ limit: 10, to })).map((r) => r.id)).toEqual(['l-2', 'l-1']);
      expect((await store.listReplies({ limit: 10, from, to })).map((r) => r.id)).toEqual(['l-1']);
      expect((await store.listReplies({ limit: 10, from, to, since: times[0] })).map((r) => r.id)).toEqual([]);
      await expect(store.listReplies({ limit: -1 })).rejects.toThrow(RangeError);
      await expect(store.listReplies({ limit: 1, skip: 0.5 })).rejects.toThrow(RangeError);
    });

    it('deletes a pending reply only while it has no transaction (a queueing that failed), never a final one', async () => {
      await store.createPendingReply({ id: 'd-pending', body: { pending: true } });
      await store.createPendingReply({ id: 'd-sent', body: { pending: true }, transactionId: '00000000-0000-4000-8000-000000000001' });
      await store.saveReply({ id: 'd-final', body: { status: '1' }, pending: false });
      expect(await store.deletePendingReply('d-pending')).toBe(true);
      expect(await store.getReply('d-pending')).toBeUndefined();
      expect(await store.createPendingReply({ id: 'd-pending', body: {} })).toBe('created');
      expect(await store.deletePendingReply('d-sent')).toBe(false);
      expect(await store.deletePendingReply('d-final')).toBe(false);
      expect(await store.deletePendingReply('d-missing')).toBe(false);
      expect((await store.getReply('d-final'))?.body).toEqual({ status: '1' });
    });

    it('counts the pending replies (the gauge): a pending create or save adds one, a final save of it removes it, final replies never count', async () => {
      const before = await store.countPendingReplies();
      await store.createPendingReply({ id: 'c-ack', body: { pending: true } });
      await store.saveReply({ id: 'c-sent', body: { pending: true }, pending: true, transactionId: '00000000-0000-4000-8000-0000000000c1' });
      await store.saveReply({ id: 'c-final', body: { status: '1' }, pending: false });
      expect(await stores[1].countPendingReplies()).toBe(before + 2);
      await store.saveReply({ id: 'c-sent', body: { status: '1' }, pending: false });
      expect(await store.countPendingReplies()).toBe(before + 1);
      expect(await store.deletePendingReply('c-ack')).toBe(true);
      expect(await store.countPendingReplies()).toBe(before);
    });

    it('deletes replies received before a moment (retention)', async () => {
      await store.saveReply({ id: 'r-old', body: {}, pending: false });
      await store.createPendingReply({ id: 'r-old-pending', body: {} });
      await sleep(5);
      const cut = new Date();
      await sleep(5);
      await store.saveReply({ id: 'r-new', body: {}, pending: false });
      const before = (await store.listReplies({ limit: 10_000 })).filter((r) => r.receivedAt < cut).length;
      expect(before).toBeGreaterThanOrEqual(2);
      expect(await store.deleteRepliesBefore(cut)).toBe(before);
      expect(await store.getReply('r-old')).toBeUndefined();
      expect(await store.getReply('r-old-pending')).toBeUndefined();
      expect(await store.getReply('r-new')).toBeDefined();
      expect(await store.deleteRepliesBefore(cut)).toBe(0);
    });
  });

  describe('the ledger join', () => {
    const chainId = 31337;

    async function ledgerTransactions(address: string, n: number): Promise<string[]> {
      await ledger.initAccount(chainId, address, 0);
      const r = await ledger.allocateBatch(chainId, address, Array.from({ length: n }, () => ({})));
      if (r.kind !== 'ok') throw new Error('no account');
      return r.slots.map((s) => s.transactionId);
    }

    it('returns pending replies with a ledger id, oldest first, with their ledger state (null when the ledger has no row)', async () => {
      const [t1, t2] = await ledgerTransactions(addr(0xe1), 2);
      await databases[0].prisma.$executeRaw`UPDATE transactions SET status = 'mined', hash = ${hash(7)}, raw = '0x01', block_number = 42, block_hash = ${hash(8)} WHERE id = ${t1}::uuid`;
      const ghost = '00000000-0000-4000-8000-0000000000ff';
      await store.createPendingReply({ id: 'j-1', body: { n: 1 }, transactionId: t1, from: addr(0xe1) });
      await sleep(5);
      await store.createPendingReply({ id: 'j-2', body: { n: 2 }, transactionId: t2 });
      await sleep(5);
      await store.createPendingReply({ id: 'j-3', body: { n: 3 }, transactionId: ghost });
      await store.createPendingReply({ id: 'j-no-ledger-id', body: {} });
      await store.saveReply({ id: 'j-final', body: {}, pending: false, transactionId: t1 });

      const rows = (await stores[1].pendingRepliesWithLedger(1000)).filter((r) => r.reply.id.startsWith('j-'));
      expect(rows.map((r) => r.reply.id)).toEqual(['j-1', 'j-2', 'j-3']);
      expect(rows[0]).toEqual({
        reply: { id: 'j-1', body: { n: 1 }, pending: true, transactionId: t1, from: addr(0xe1), to: null, receivedAt: expect.any(Date) },
        ledger: { status: 'mined', hash: hash(7), nonce: 0n, blockNumber: 42n },
      });
      expect(rows[1].ledger).toEqual({ status: 'allocated', hash: null, nonce: 1n, blockNumber: null });
      expect(rows[2].ledger).toBeNull();
      const all = await store.pendingRepliesWithLedger(1000);
      for (let i = 1; i < all.length; i++) expect(all[i - 1].reply.receivedAt.getTime()).toBeLessThanOrEqual(all[i].reply.receivedAt.getTime());
      expect(await store.pendingRepliesWithLedger(1)).toHaveLength(1);

      // Completed: no longer listed.
      await store.saveReply({ id: 'j-1', body: { done: true }, pending: false });
      expect((await store.pendingRepliesWithLedger(1000)).map((r) => r.reply.id)).not.toContain('j-1');
    });

    it('reads the ledger state of many transactions in one call; unknown and non-UUID ids are absent', async () => {
      const [t1, t2, t3] = await ledgerTransactions(addr(0xe2), 3);
      await databases[0].prisma.$executeRaw`UPDATE transactions SET status = 'submitted', hash = ${hash(9)}, raw = '0x02' WHERE id = ${t2}::uuid`;
      const states = await store.ledgerStates([t1, t2, t3, t2, '00000000-0000-4000-8000-0000000000fe', 'garbage']);
      expect([...states.keys()].sort()).toEqual([t1, t2, t3].sort());
      expect(states.get(t1)).toEqual({ status: 'allocated', hash: null, nonce: 0n, blockNumber: null });
      expect(states.get(t2)).toEqual({ status: 'submitted', hash: hash(9), nonce: 1n, blockNumber: null });
      expect(states.get(t3)?.nonce).toBe(2n);
      expect((await store.ledgerStates([])).size).toBe(0);
      expect((await store.ledgerStates(['garbage'])).size).toBe(0);
    });
  });
});
