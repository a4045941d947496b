import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { Client } from 'pg';
import { createTestDatabase, type TestDatabase } from '@hsm-signer/testing';
import { applyMigrations, findMigrationsDir, readMigrations } from './migrate';
import { createPrismaClient, Prisma, type PrismaClient } from './client';

// Real Postgres / NATS / anvil on a shared 2-core machine: allow for slow moments.
jest.setTimeout(120_000);

async function query<T>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows as T[];
  } finally {
    await client.end();
  }
}

describe('applyMigrations (real Postgres)', () => {
  const dbs: TestDatabase[] = [];
  afterAll(async () => {
    for (const db of dbs) await db.drop();
  });
  const fresh = async () => {
    const db = await createTestDatabase();
    dbs.push(db);
    return db;
  };

  it('finds the migrations in Prisma’s folder layout', () => {
    const dir = findMigrationsDir();
    expect(readFileSync(join(dir, 'migration_lock.toml'), 'utf8')).toMatch(/provider = "postgresql"/);
    const migrations = readMigrations(dir);
    expect(migrations.length).toBeGreaterThan(0);
    for (const m of migrations) expect(m.name).toMatch(/^\d{14}_[a-z0-9_]+$/);
  });

  it('applies to a fresh database, records each as Prisma does, and is a no-op the second time', async () => {
    const db = await fresh();
    const migrations = readMigrations(findMigrationsDir());
    const first = await applyMigrations(db.url);
    expect(first.applied).toEqual(migrations.map((m) => m.name));
    expect(first.alreadyApplied).toEqual([]);

    const rows = await query<{
      id: string;
      checksum: string;
      migration_name: string;
      started_at: Date;
      finished_at: Date | null;
      applied_steps_count: number;
      logs: string | null;
      rolled_back_at: Date | null;
    }>(db.url, 'SELECT * FROM "_prisma_migrations" ORDER BY migration_name');
    expect(rows).toHaveLength(migrations.length);
    const dir = findMigrationsDir();
    for (const [i, row] of rows.entries()) {
      const file = readFileSync(join(dir, row.migration_name, 'migration.sql'));
      expect(row.migration_name).toBe(migrations[i].name);
      expect(row.checksum).toBe(createHash('sha256').update(file).digest('hex'));
      expect(row.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(row.finished_at).toBeInstanceOf(Date);
      expect(row.finished_at!.getTime()).toBeGreaterThanOrEqual(row.started_at.getTime());
      expect(row.applied_steps_count).toBe(1);
      expect(row.logs).toBeNull();
      expect(row.rolled_back_at).toBeNull();
    }

    const second = await applyMigrations(db.url);
    expect(second.applied).toEqual([]);
    expect(second.alreadyApplied).toEqual(migrations.map((m) => m.name));
    expect(second.checksumMismatches).toEqual([]);
    expect(await query(db.url, 'SELECT id FROM "_prisma_migrations"')).toHaveLength(migrations.length);
  });

  it('applies each migration once when three replicas start at the same moment', async () => {
    const db = await fresh();
    const results = await Promise.all([applyMigrations(db.url), applyMigrations(db.url), applyMigrations(db.url)]);
    const names = readMigrations(findMigrationsDir()).map((m) => m.name);
    // Exactly one caller applied them; the other two found them applied.
    expect(results.filter((r) => r.applied.length === names.length)).toHaveLength(1);
    expect(results.filter((r) => r.applied.length === 0 && r.alreadyApplied.length === names.length)).toHaveLength(2);
    const rows = await query<{ migration_name: string }>(db.url, 'SELECT migration_name FROM "_prisma_migrations"');
    expect(rows.map((r) => r.migration_name).sort()).toEqual(names);
  });

  it('reports an applied migration whose file changed, and refuses after an unresolved failure', async () => {
    const db = await fresh();
    await applyMigrations(db.url);
    const name = readMigrations(findMigrationsDir())[0].name;
    await query(db.url, `UPDATE "_prisma_migrations" SET checksum = 'x' WHERE migration_name = $1`, [name]);
    expect((await applyMigrations(db.url)).checksumMismatches).toEqual([name]);
    await query(db.url, `INSERT INTO "_prisma_migrations" (id, checksum, migration_name) VALUES ('00000000-0000-0000-0000-000000000001', 'y', '29990101000000_broken')`);
    await expect(applyMigrations(db.url)).rejects.toThrow(/29990101000000_broken failed earlier/);
  });

  it('waits for a database that is not there yet when asked to', async () => {
    const db = await fresh();
    const later = new URL(db.url);
    later.pathname = `/${db.name}_late`;
    const retries: string[] = [];
    const applying = applyMigrations(later.toString(), { connectRetryMs: 30_000, onConnectRetry: (m) => retries.push(m) });
    await new Promise((r) => setTimeout(r, 1_200));
    await query(db.url, `CREATE DATABASE "${db.name}_late"`);
    try {
      expect((await applying).applied.length).toBeGreaterThan(0);
      expect(retries.length).toBeGreaterThan(0);
      expect(retries[0]).toMatch(/does not exist/);
    } finally {
      await query(db.url, `DROP DATABASE "${db.name}_late" WITH (FORCE)`);
    }
  });

  it('does not put the database URL (with its password) into a connection error', async () => {
    const error = await applyMigrations('postgresql://someone:s3cret-pw@127.0.0.1:1/nowhere').catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).name).toBe('MigrationError');
    expect((error as Error).message).not.toContain('s3cret-pw');
  });
});

describe('the schema the migrations build matches schema.prisma (every model through the generated client)', () => {
  let db: TestDatabase;
  let prisma: PrismaClient;
  beforeAll(async () => {
    db = await createTestDatabase();
    await applyMigrations(db.url);
    prisma = createPrismaClient(db.url);
  });
  afterAll(async () => {
    await prisma?.$disconnect();
    await db?.drop();
  });

  it('Account', async () => {
    const created = await prisma.account.create({
      data: { address: '0x' + '11'.repeat(20), backendId: 'pkcs11', keyId: '0a', label: 'k1', status: 'stale', lastSeenAt: new Date('2026-01-01T00:00:00Z') },
    });
    expect(created.firstSeenAt).toBeInstanceOf(Date);
    const read = await prisma.account.findUniqueOrThrow({ where: { address: created.address } });
    expect(read).toMatchObject({ backendId: 'pkcs11', keyId: '0a', label: 'k1', status: 'stale' });
    expect(read.lastSeenAt.toISOString()).toBe('2026-01-01T00:00:00.000Z');
    await prisma.account.update({ where: { address: created.address }, data: { status: 'inactive' } });
    expect(await prisma.account.count({ where: { status: 'inactive' } })).toBe(1);
  });

  it('NonceAccount and ReleasedNonce', async () => {
    const address = '0x' + '22'.repeat(20);
    await prisma.nonceAccount.create({
      data: { chainId: 11_297_108_109n, address, nextNonce: 5n, chainNonce: 3n, leaseOwner: 'replica-1', leaseUntil: new Date(), leaseEpoch: 7n },
    });
    const read = await prisma.nonceAccount.findUniqueOrThrow({ where: { chainId_address: { chainId: 11_297_108_109n, address } } });
    expect(read).toMatchObject({ nextNonce: 5n, chainNonce: 3n, leaseOwner: 'replica-1', leaseEpoch: 7n });
    await prisma.releasedNonce.create({ data: { chainId: 1n, address, nonce: 4n, transactionId: '00000000-0000-4000-8000-000000000001' } });
    const released = await prisma.releasedNonce.findMany({ where: { address } });
    expect(released).toEqual([expect.objectContaining({ nonce: 4n, transactionId: '00000000-0000-4000-8000-000000000001' })]);
    await expect(prisma.nonceAccount.create({ data: { chainId: 1n, address, nextNonce: -1n, chainNonce: 0n } })).rejects.toThrow();
  });

  it('Transaction, with its live-nonce rules', async () => {
    const from = '0x' + '33'.repeat(20);
    const tx = await prisma.transaction.create({
      data: {
        requestId: 'req-1',
        payloadHash: '0x' + 'ab'.repeat(32),
        chainId: 31337n,
        fromAddress: from,
        nonce: 0n,
        liveNonce: 0n,
        nonceSource: 'fixed',
        type: 2,
        fields: { to: null, value: '0x0', gasLimit: '0x5208' },
        raw: '0x02f8',
        hash: '0x' + 'cd'.repeat(32),
        status: 'submitted',
        attempts: 1,
        error: null,
        leaseUntil: new Date(),
        blockNumber: 12n,
        blockHash: '0x' + 'ef'.repeat(32),
        receiptStatus: 1,
        gasUsed: 21000n,
        effectiveGasPrice: new Prisma.Decimal('115792089237316195423570985008687907853269984665640564039457584007913129639935'),
        confirmations: 3,
        submittedAt: new Date(),
        minedAt: new Date(),
        confirmedAt: new Date(),
      },
    });
    expect(tx.id).toMatch(/^[0-9a-f-]{36}$/);
    const read = await prisma.transaction.findUniqueOrThrow({ where: { requestId: 'req-1' } });
    expect(read).toMatchObject({ chainId: 31337n, nonce: 0n, liveNonce: 0n, nonceSource: 'fixed', type: 2, status: 'submitted', gasUsed: 21000n, confirmations: 3 });
    expect(read.fields).toEqual({ to: null, value: '0x0', gasLimit: '0x5208' });
    expect(read.effectiveGasPrice?.toFixed()).toBe('115792089237316195423570985008687907853269984665640564039457584007913129639935');

    // Two live transactions never share a nonce …
    await expect(prisma.transaction.create({ data: { chainId: 31337n, fromAddress: from, nonce: 0n, liveNonce: 0n } })).rejects.toThrow(/Unique constraint/i);
    // … a released one may sit beside a live one …
    await prisma.transaction.create({ data: { chainId: 31337n, fromAddress: from, nonce: 0n, liveNonce: null, status: 'rejected' } });
    // … and the CHECK keeps live_nonce and status consistent.
    await expect(prisma.transaction.create({ data: { chainId: 31337n, fromAddress: from, nonce: 1n, liveNonce: null, status: 'allocated' } })).rejects.toThrow();
    await expect(prisma.transaction.create({ data: { chainId: 31337n, fromAddress: from, nonce: 1n, liveNonce: 1n, status: 'abandoned' } })).rejects.toThrow();
    await expect(prisma.transaction.create({ data: { requestId: 'req-1', chainId: 1n, fromAddress: from, nonce: 9n, liveNonce: 9n } })).rejects.toThrow(/Unique constraint/i);
  });

  it('OutboxEvent', async () => {
    const event = await prisma.outboxEvent.create({ data: { subject: 'hsm.v1.tx.events.31337', payload: { state: 'submitted', n: 1 }, transactionId: '00000000-0000-4000-8000-000000000002' } });
    const read = await prisma.outboxEvent.findUniqueOrThrow({ where: { id: event.id } });
    expect(read).toMatchObject({ subject: 'hsm.v1.tx.events.31337', payload: { state: 'submitted', n: 1 }, publishedAt: null, attempts: 0 });
    await prisma.outboxEvent.update({ where: { id: event.id }, data: { publishedAt: new Date(), attempts: { increment: 1 } } });
    expect(await prisma.outboxEvent.count({ where: { id: event.id, publishedAt: null } })).toBe(0);
    // The trigger of migration 20261124030000_lifecycle wrote one event per ledger row created above.
    expect(await prisma.outboxEvent.count({ where: { subject: 'hsm.v1.tx.31337.submitted' } })).toBeGreaterThan(0);
  });

  it('TransactionAttempt', async () => {
    const hash = '0x' + '12'.repeat(32);
    await prisma.transactionAttempt.create({ data: { transactionId: '00000000-0000-4000-8000-000000000003', hash, raw: '0x02f8', fields: { maxFeePerGas: '0x1' }, replacedBy: '0x' + '34'.repeat(32) } });
    expect(await prisma.transactionAttempt.findUniqueOrThrow({ where: { hash } })).toMatchObject({ raw: '0x02f8', fields: { maxFeePerGas: '0x1' } });
    await expect(prisma.transactionAttempt.create({ data: { transactionId: '00000000-0000-4000-8000-000000000003', hash, raw: '0x' } })).rejects.toThrow(/Unique constraint/i);
  });

  it('has exactly the tables, columns and column types of schema.prisma', async () => {
    // The generated client embeds schema.prisma's data model (model → table, field → column).
    const classTs = readFileSync(join(__dirname, 'generated', 'prisma', 'internal', 'class.ts'), 'utf8');
    const literal = /config\.runtimeDataModel = JSON\.parse\(("(?:[^"\\]|\\.)*")\)/.exec(classTs);
    expect(literal).not.toBeNull();
    const model = JSON.parse(JSON.parse(literal![1])) as {
      models: Record<string, { dbName: string | null; fields: { name: string; kind: string; type: string; dbName?: string }[] }>;
    };
    const pgType: Record<string, string[]> = {
      BigInt: ['bigint'],
      String: ['text', 'character varying', 'uuid'],
      DateTime: ['timestamp with time zone'],
      Int: ['integer', 'smallint'],
      Json: ['jsonb'],
      Decimal: ['numeric'],
      Boolean: ['boolean'],
    };
    const expected = new Map<string, string[]>();
    for (const [name, m] of Object.entries(model.models)) {
      for (const f of m.fields) {
        if (f.kind !== 'scalar' && f.kind !== 'enum') continue;
        expected.set(`${m.dbName ?? name}.${f.dbName ?? f.name}`, f.kind === 'enum' ? ['USER-DEFINED'] : pgType[f.type]);
      }
    }
    // A list field (Int[]) is an ARRAY column: compare its element type (udt_name _int2 → smallint).
    const columns = await prisma.$queryRaw<{ table_name: string; column_name: string; data_type: string }[]>`
      SELECT table_name, column_name,
             CASE WHEN data_type = 'ARRAY' THEN format_type((SELECT typelem FROM pg_type WHERE typname = udt_name), NULL) ELSE data_type END AS data_type
      FROM information_schema.columns
      WHERE table_schema = 'public' AND table_name <> '_prisma_migrations'`;
    const actual = new Map(columns.map((c) => [`${c.table_name}.${c.column_name}`, c.data_type]));
    expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort());
    for (const [column, type] of actual) expect({ column, ok: expected.get(column)!.includes(type) }).toEqual({ column, ok: true });
  });
});
