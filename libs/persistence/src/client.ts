import { PrismaPg } from '@prisma/adapter-pg';
import { Pool } from 'pg';
import { PrismaClient } from './generated/prisma/client';

export { PrismaClient, Prisma } from './generated/prisma/client';
export type { Account, NonceAccount, ReleasedNonce, Transaction, TransactionAttempt, OutboxEvent } from './generated/prisma/client';
export { AccountStatus, TransactionStatus, NonceSource } from './generated/prisma/enums';
export type { Pool } from 'pg';

export interface PrismaClientOptions {
  /** Size of the pg connection pool (default 10: pg's own default). */
  poolSize?: number;
}

/**
 * A Prisma 7 client on the pg driver adapter (no query-engine binary: shared/services.md), with a
 * pool of its own. For the services whose hot statements go through node-postgres, see createDatabase.
 */
export function createPrismaClient(databaseUrl: string, options: PrismaClientOptions = {}): PrismaClient {
  const adapter = new PrismaPg({ connectionString: databaseUrl, max: options.poolSize ?? 10, application_name: 'hsm-signer' });
  return new PrismaClient({ adapter });
}

export interface DatabaseOptions {
  /** Connections of the ONE pool that Prisma and the plain-pg statements share (default 10). */
  poolSize?: number;
  /** How long a statement may wait for a connection (a full pool, or a server that does not answer) before it fails (default 10 s). */
  connectTimeoutMs?: number;
  /** An idle connection broke (server restart, pg_terminate_backend): the pool drops it and opens a new one when needed. */
  onPoolError?: (error: Error) => void;
}

/** Prisma and a plain node-postgres pool over the same connections. */
export interface Database {
  prisma: PrismaClient;
  /** For the few statements that are measured hot (NonceLedger): node-postgres is ~3.5× cheaper in client CPU than `$queryRaw`. */
  pool: Pool;
  /** Disconnects Prisma and ends the pool. */
  close(): Promise<void>;
}

/**
 * One pg.Pool, handed to Prisma's adapter AND used directly by NonceLedger, so a replica holds at
 * most `poolSize` connections whichever API a statement takes (the same meaning `poolSize` had with
 * Prisma alone).
 *
 * Why a plain pool next to Prisma (the project's rule is Prisma for data): the same parameterised
 * SELECT costs about 541 µs of client CPU through Prisma 7 `$queryRaw` on adapter-pg and about
 * 153 µs through `pool.query` (measured on this machine, issue 3's benchmark), and nonce-service
 * runs at least two such statements per transaction sent. Everything else stays on Prisma.
 *
 * Outages: the pool's `error` listener keeps a broken idle connection from crashing the process
 * (pg emits `error` on the pool, and an unheard `error` event throws); a statement during an
 * outage fails (connection refused, or `connectTimeoutMs` when nothing answers) instead of waiting,
 * and the next one after the server is back opens a fresh connection.
 */
export function createDatabase(databaseUrl: string, options: DatabaseOptions = {}): Database {
  const pool = new Pool({
    connectionString: databaseUrl,
    max: options.poolSize ?? 10,
    application_name: 'hsm-signer',
    connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
    // A peer that vanished without closing (network partition) is noticed by TCP keep-alive.
    keepAlive: true,
  });
  pool.on('error', (error) => options.onPoolError?.(error));
  // disposeExternalPool false: close() ends the pool itself, also when Prisma never connected.
  // The cast: adapter-pg ships its own (newer) @types/pg; at run time both are the one `pg` package
  // (adapter-pg checks `instanceof pg.Pool` against it and uses the pool as given).
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool as unknown as ConstructorParameters<typeof PrismaPg>[0], { disposeExternalPool: false }) });
  let closing: Promise<void> | undefined;
  return {
    prisma,
    pool,
    close: () =>
      (closing ??= (async () => {
        await prisma.$disconnect().catch(() => undefined);
        await pool.end();
      })()),
  };
}
