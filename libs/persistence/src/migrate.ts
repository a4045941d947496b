import { createHash, randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Client } from 'pg';

/**
 * Applies the SQL migrations in prisma/migrations the way `prisma migrate deploy` would, without
 * Prisma's native schema engine (which cannot be downloaded here: shared/services.md "Prisma
 * without network access"). Each applied migration is recorded in `_prisma_migrations` exactly as
 * Prisma records it, so `prisma migrate deploy` on a machine with the engine sees it as applied.
 */

/** Prisma Migrate's own advisory-lock key (schema-engine, postgres connector): holding the same key
 * makes our migrator and `prisma migrate deploy` mutually exclusive, and replicas that start at once
 * apply each migration exactly once. */
export const PRISMA_MIGRATE_ADVISORY_LOCK_KEY = 72707369;

/** The table as Prisma's schema engine creates it. */
const CREATE_MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`;

export interface MigrationFile {
  /** Folder name, e.g. `20261124000000_init`; migrations apply in lexical order of these. */
  name: string;
  sql: string;
  /** sha256 hex of migration.sql, as Prisma computes it. */
  checksum: string;
}

export interface MigrationResult {
  /** Migrations this call applied, in order. */
  applied: string[];
  /** Migrations that were already recorded as applied. */
  alreadyApplied: string[];
  /** Applied migrations whose file changed since (Prisma warns about these too). */
  checksumMismatches: string[];
}

export interface MigrateOptions {
  /** Folder holding the `<timestamp>_<name>/migration.sql` folders; found automatically by default. */
  migrationsDir?: string;
  /** Keep retrying a failed connection for this long (Postgres starting next to us in compose). Default 0. */
  connectRetryMs?: number;
  /** Told about each failed connection attempt that will be retried (message only, no URL). */
  onConnectRetry?: (message: string) => void;
}

export class MigrationError extends Error {
  override readonly name = 'MigrationError';
  constructor(
    message: string,
    readonly migration?: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export function migrationChecksum(sql: string | Buffer): string {
  return createHash('sha256').update(sql).digest('hex');
}

/**
 * Finds prisma/migrations: explicit option, then PRISMA_MIGRATIONS_DIR, then next to this source
 * file (libs/persistence/src → ../prisma/migrations), then walking up from here and from the cwd for
 * `libs/persistence/prisma/migrations` (the built apps live in dist/<app>/libs/persistence/src).
 */
export function findMigrationsDir(explicit?: string): string {
  const candidates: string[] = [];
  if (explicit) candidates.push(explicit);
  if (process.env.PRISMA_MIGRATIONS_DIR) candidates.push(process.env.PRISMA_MIGRATIONS_DIR);
  candidates.push(join(__dirname, '..', 'prisma', 'migrations'));
  for (const start of [__dirname, process.cwd()]) {
    let dir = resolve(start);
    for (;;) {
      candidates.push(join(dir, 'libs', 'persistence', 'prisma', 'migrations'));
      const parent = dirname(dir);
      if (parent === dir) break;
      dir = parent;
    }
  }
  for (const candidate of candidates) {
    if (existsSync(join(candidate, 'migration_lock.toml'))) return candidate;
  }
  throw new MigrationError(`no migrations folder found (looked in ${candidates.slice(0, 4).join(', ')}, …); set PRISMA_MIGRATIONS_DIR`);
}

export function readMigrations(dir: string): MigrationFile[] {
  return readdirSync(dir)
    .filter((name) => statSync(join(dir, name)).isDirectory() && existsSync(join(dir, name, 'migration.sql')))
    .sort()
    .map((name) => {
      const bytes = readFileSync(join(dir, name, 'migration.sql'));
      return { name, sql: bytes.toString('utf8'), checksum: migrationChecksum(bytes) };
    });
}

interface AppliedRow {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
}

/**
 * Applies every pending migration in order. Safe to call from several replicas at once: the whole
 * run holds Prisma's advisory lock, and each migration runs in its own Postgres transaction together
 * with its `_prisma_migrations` row, so a failure leaves neither half applied.
 */
export async function applyMigrations(databaseUrl: string, options: MigrateOptions = {}): Promise<MigrationResult> {
  const migrations = readMigrations(findMigrationsDir(options.migrationsDir));
  const client = await connectWithRetry(databaseUrl, options);
  const result: MigrationResult = { applied: [], alreadyApplied: [], checksumMismatches: [] };
  try {
    await client.query('SELECT pg_advisory_lock($1)', [PRISMA_MIGRATE_ADVISORY_LOCK_KEY]);
    try {
      await client.query(CREATE_MIGRATIONS_TABLE);
      const { rows } = await client.query<AppliedRow>(
        'SELECT migration_name, checksum, finished_at, rolled_back_at FROM "_prisma_migrations" ORDER BY started_at',
      );
      const done = new Map<string, AppliedRow>();
      for (const row of rows) {
        if (row.rolled_back_at !== null) continue;
        if (row.finished_at === null) {
          // Prisma's P3009: a failed migration must be resolved by a person first.
          throw new MigrationError(`migration ${row.migration_name} failed earlier and is not resolved (see _prisma_migrations.logs)`, row.migration_name);
        }
        done.set(row.migration_name, row);
      }
      for (const migration of migrations) {
        const previous = done.get(migration.name);
        if (previous) {
          result.alreadyApplied.push(migration.name);
          if (previous.checksum !== migration.checksum) result.checksumMismatches.push(migration.name);
          continue;
        }
        await applyOne(client, migration);
        result.applied.push(migration.name);
      }
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [PRISMA_MIGRATE_ADVISORY_LOCK_KEY]).catch(() => undefined);
    }
  } finally {
    await client.end().catch(() => undefined);
  }
  return result;
}

async function connectWithRetry(databaseUrl: string, options: MigrateOptions): Promise<Client> {
  const deadline = Date.now() + (options.connectRetryMs ?? 0);
  for (;;) {
    const client = new Client({ connectionString: databaseUrl, application_name: 'hsm-signer-migrate' });
    try {
      await client.connect();
      return client;
    } catch (error) {
      await client.end().catch(() => undefined);
      // Never echo the URL: it may carry a password.
      const message = `cannot connect to the database to apply migrations: ${(error as Error).message}`;
      if (Date.now() >= deadline) throw new MigrationError(message, undefined, { cause: error });
      options.onConnectRetry?.(message);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

async function applyOne(client: Client, migration: MigrationFile): Promise<void> {
  const id = randomUUID();
  try {
    await client.query('BEGIN');
    // Same row shape as Prisma: started_at on insert, finished_at + applied_steps_count = 1 on success.
    await client.query('INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, applied_steps_count) VALUES ($1, $2, $3, now(), 0)', [
      id,
      migration.checksum,
      migration.name,
    ]);
    await client.query(migration.sql);
    await client.query('UPDATE "_prisma_migrations" SET finished_at = clock_timestamp(), applied_steps_count = 1 WHERE id = $1', [id]);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw new MigrationError(`migration ${migration.name} failed: ${(error as Error).message}`, migration.name, { cause: error });
  }
}
