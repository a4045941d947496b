import { connect, createServer, type Server, type Socket } from 'node:net';
import { Client } from 'pg';
import { createTestDatabase, freePort, waitFor, type TestDatabase } from '@hsm-signer/testing';
import { applyMigrations } from './migrate';
import { createDatabase, type Database } from './client';
import { NonceLedger, uniqueViolation } from './nonce-ledger';

jest.setTimeout(120_000);

/**
 * A loopback TCP relay in front of the real Postgres, which the test can cut: `down()` closes every
 * relayed connection and refuses new ones (a server restart or crash as the client sees it),
 * `silent()` accepts connections and never answers (a server that hangs), `up()` relays again.
 * The machine's Postgres is shared, so only this relay goes down, never the server.
 */
class PostgresGate {
  private server?: Server;
  private readonly sockets = new Set<Socket>();

  private constructor(
    readonly port: number,
    private readonly target: { host: string; port: number },
  ) {}

  static async open(target: { host: string; port: number }): Promise<PostgresGate> {
    const gate = new PostgresGate(await freePort(), target);
    await gate.up();
    return gate;
  }

  up(): Promise<void> {
    return this.listen((client) => {
      const upstream = connect(this.target.port, this.target.host);
      this.track(upstream);
      client.pipe(upstream).pipe(client);
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
  }

  silent(): Promise<void> {
    return this.listen(() => undefined);
  }

  async down(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async listen(onConnection: (client: Socket) => void): Promise<void> {
    await this.down();
    const server = createServer((client) => {
      this.track(client);
      onConnection(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.server = server;
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
  }
}

describe('createDatabase: Prisma and the ledger’s plain pg statements on one pool that survives Postgres going away (real Postgres)', () => {
  let db: TestDatabase;
  let admin: Client;
  const chainId = 31337;
  const address = (n: number) => '0x' + n.toString(16).padStart(40, '0');

  beforeAll(async () => {
    db = await createTestDatabase();
    await applyMigrations(db.url);
    admin = new Client({ connectionString: db.url });
    await admin.connect();
  });
  afterAll(async () => {
    await admin?.end();
    await db?.drop();
  });

  /** Opens `n` connections of the pool at once and returns their backend pids (all idle again afterwards). */
  async function warm(database: Database, n: number): Promise<number[]> {
    const clients = await Promise.all(Array.from({ length: n }, () => database.pool.connect()));
    const pids = await Promise.all(clients.map(async (c) => (await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid));
    for (const c of clients) c.release();
    return pids;
  }

  it('shares one pool of poolSize connections between Prisma and the ledger', async () => {
    const database = createDatabase(db.url, { poolSize: 3 });
    try {
      const ledger = new NonceLedger(database.pool, { leaseMs: 30_000 });
      await ledger.initAccount(chainId, address(1), 0);
      await Promise.all([
        ...Array.from({ length: 6 }, () => ledger.allocateBatch(chainId, address(1), [{}])),
        ...Array.from({ length: 6 }, () => database.prisma.transaction.count()),
      ]);
      expect(await database.prisma.transaction.count({ where: { fromAddress: address(1) } })).toBe(6);
      const { rows } = await admin.query<{ n: string }>(
        "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'hsm-signer'",
      );
      expect(Number(rows[0].n)).toBeLessThanOrEqual(3);
      expect(database.pool.totalCount).toBeLessThanOrEqual(3);
    } finally {
      await database.close();
    }
    expect(database.pool.ending).toBe(true);
  });

  it('keeps BIGINT values exact (text from node-postgres, parsed as integers)', async () => {
    const database = createDatabase(db.url, { poolSize: 2 });
    try {
      const ledger = new NonceLedger(database.pool, { leaseMs: 30_000 });
      const bigChain = Number.MAX_SAFE_INTEGER; // 2^53 - 1
      const start = 2 ** 52 + 1;
      await ledger.initAccount(bigChain, address(2), start);
      const r = await ledger.allocateBatch(bigChain, address(2), [{}, {}]);
      if (r.kind !== 'ok') throw new Error('no account');
      expect(r.slots.map((s) => s.nonce)).toEqual([start, start + 1]);
      expect(await ledger.find(r.slots[1].transactionId)).toMatchObject({ chainId: bigChain, nonce: start + 1, status: 'allocated' });
      expect(await ledger.markSubmitted(r.slots[0].transactionId, { hash: '0x' + 'ab'.repeat(32), rawNonce: start, rawChainId: bigChain })).toEqual({
        kind: 'ok',
        chainId: bigChain,
        address: address(2),
        nonce: start,
      });
      expect(r.slots[0].transactionId).toMatch(/^[0-9a-f-]{36}$/);
    } finally {
      await database.close();
    }
  });

  it('reads the violated constraint from a node-postgres unique violation (code 23505, constraint)', async () => {
    const database = createDatabase(db.url, { poolSize: 1 });
    try {
      await database.pool.query('INSERT INTO nonces (chain_id, address, next_nonce, chain_nonce) VALUES (1, $1, 0, 0)', [address(3)]);
      const error = await database.pool.query('INSERT INTO nonces (chain_id, address, next_nonce, chain_nonce) VALUES (1, $1, 0, 0)', [address(3)]).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: '23505', constraint: 'nonces_pkey' });
      expect(uniqueViolation(error)).toBe('nonces_pkey');
    } finally {
      await database.close();
    }
  });

  it('survives pg_terminate_backend of its idle and busy connections: no crash, the statement in flight fails, the next ones work', async () => {
    const poolErrors: Error[] = [];
    const database = createDatabase(db.url, { poolSize: 4, onPoolError: (e) => poolErrors.push(e) });
    try {
      const ledger = new NonceLedger(database.pool, { leaseMs: 30_000 });
      await ledger.initAccount(chainId, address(4), 0);
      const before = await ledger.allocateBatch(chainId, address(4), [{}]);
      // Every connection idle and prepared: Postgres kills them all.
      const pids = await warm(database, 4);
      await admin.query('SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid', [pids]);
      // The pool hears each broken idle connection as an 'error' (which, unheard, would crash the process).
      await waitFor('the pool to see its 4 connections end', async () => poolErrors.length >= 4, 30_000, 20);
      expect(poolErrors[0].message).toMatch(/terminat/i);
      const after = await ledger.allocateBatch(chainId, address(4), [{}, {}]);
      expect(before.kind === 'ok' && after.kind === 'ok' && [...before.slots, ...after.slots].map((s) => s.nonce)).toEqual([0, 1, 2]);

      // A statement running when its backend is killed fails with Postgres' error; the pool goes on.
      const busy = database.pool.query('SELECT pg_backend_pid() AS pid, pg_sleep(60)');
      const busyPid = await waitFor(
        'the sleeping statement to start',
        async () => (await admin.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query LIKE '%pg_sleep(60)%' AND pid <> pg_backend_pid()")).rows[0]?.pid,
        30_000,
        20,
      );
      await admin.query('SELECT pg_terminate_backend($1)', [busyPid]);
      await expect(busy).rejects.toMatchObject({ code: '57P01' });
      expect(after.kind === 'ok' && (await ledger.markSubmitted(after.slots[0].transactionId, { hash: '0x' + '01'.repeat(32) })).kind).toBe('ok');
      expect(after.kind === 'ok' && (await ledger.find(after.slots[0].transactionId))?.status).toBe('submitted');
      expect(await database.prisma.transaction.count({ where: { fromAddress: address(4) } })).toBe(3);
    } finally {
      await database.close();
    }
  });

  it('fails statements while Postgres is unreachable or silent (no hang), and works again once it is back', async () => {
    const target = new URL(db.url);
    const gate = await PostgresGate.open({ host: target.hostname, port: Number(target.port || 5432) });
    const viaGate = new URL(db.url);
    viaGate.port = String(gate.port);
    const poolErrors: Error[] = [];
    const database = createDatabase(viaGate.toString(), { poolSize: 3, connectTimeoutMs: 1_000, onPoolError: (e) => poolErrors.push(e) });
    try {
      const ledger = new NonceLedger(database.pool, { leaseMs: 30_000 });
      await ledger.initAccount(chainId, address(5), 0);
      const first = await ledger.allocateBatch(chainId, address(5), [{}]);
      if (first.kind !== 'ok') throw new Error('no account');
      await warm(database, 3);

      // Down: the open connections break (heard by the pool, no crash) and new ones are refused.
      await gate.down();
      await waitFor('the pool to see its connections end', async () => poolErrors.length >= 3, 30_000, 20);
      await expect(ledger.allocateBatch(chainId, address(5), [{}])).rejects.toThrow(/ECONNREFUSED|connect/i);
      await expect(ledger.find(first.slots[0].transactionId)).rejects.toThrow();
      await expect(database.prisma.transaction.count()).rejects.toThrow();

      // Silent: the TCP connection opens but nothing answers; the statement fails after connectTimeoutMs.
      await gate.silent();
      await expect(ledger.markSubmitted(first.slots[0].transactionId, { hash: '0x' + '02'.repeat(32) })).rejects.toThrow(/timeout/i);

      // Back: the next statements open fresh connections; nothing was allocated meanwhile.
      await gate.up();
      const next = await ledger.allocateBatch(chainId, address(5), [{}]);
      expect(next.kind === 'ok' && next.slots.map((s) => s.nonce)).toEqual([1]);
      expect(await ledger.markSubmitted(first.slots[0].transactionId, { hash: '0x' + '02'.repeat(32) })).toMatchObject({ kind: 'ok', nonce: 0 });
      expect(await database.prisma.transaction.count({ where: { fromAddress: address(5) } })).toBe(2);
    } finally {
      await database.close();
      await gate.down();
    }
  });
});
