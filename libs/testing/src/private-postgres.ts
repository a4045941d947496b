import { execFile, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { freePort, waitFor } from './ports';

/** Where Debian's `postgresql` package puts the server binaries: /usr/lib/postgresql/<major>/bin. */
const DEBIAN_PG_ROOT = '/usr/lib/postgresql';
const NEEDED = ['initdb', 'pg_ctl', 'postgres'];

/** The newest /usr/lib/postgresql/<major>/bin holding initdb, pg_ctl and postgres; a clear error otherwise. */
export function postgresBinDir(): string {
  const majors = existsSync(DEBIAN_PG_ROOT) ? readdirSync(DEBIAN_PG_ROOT).filter((v) => /^\d+$/.test(v)) : [];
  for (const major of majors.sort((a, b) => Number(b) - Number(a))) {
    const bin = join(DEBIAN_PG_ROOT, major, 'bin');
    if (NEEDED.every((b) => existsSync(join(bin, b)))) return bin;
  }
  throw new Error(
    `no PostgreSQL server binaries (${NEEDED.join(', ')}) under ${DEBIAN_PG_ROOT}/<version>/bin: apt-get install -y postgresql (npm run ensure-env does it)`,
  );
}

export type PostgresStopMode = 'smart' | 'fast' | 'immediate';

export interface PrivatePostgres {
  /** postgresql://postgres@127.0.0.1:<port>/postgres (trust auth). */
  url: string;
  port: number;
  dataDir: string;
  /** The URL of database `name` on this server (not created here: startStack's createDatabase does it). */
  databaseUrl(name: string): string;
  /** pg_ctl stop (default `fast`: clients are disconnected, as in a restart; `immediate`: a crash). */
  stop(options?: { mode?: PostgresStopMode }): Promise<void>;
  /** Starts the server again on the same port and data dir; resolves once it answers a query. */
  start(): Promise<void>;
  /** The server log (postgres.log). */
  logs(): string;
  /** Stops the server (immediate) when running and deletes its folder; idempotent. */
  remove(): Promise<void>;
}

/**
 * A Postgres cluster of the caller's own (initdb in a temp folder, a free port, trust auth), for tests
 * that restart the server: the machine's server on 5432 is shared, so only a private one may go down.
 * initdb and postgres refuse to run as root, so under root (CI) they run as the `postgres` OS user.
 */
export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const bin = postgresBinDir();
  const asRoot = process.getuid?.() === 0;
  const owner = asRoot ? osUser('postgres') : undefined;
  const dir = mkdtempSync(join(tmpdir(), 'hsm-pg-'));
  if (owner) chownSync(dir, owner.uid, owner.gid);
  const dataDir = join(dir, 'data');
  const logFile = join(dir, 'postgres.log');
  const port = await freePort();
  const run = (tool: string, args: string[]) => runAs(asRoot ? 'postgres' : undefined, join(bin, tool), args, dir);
  const logs = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');
  const url = `postgresql://postgres@127.0.0.1:${port}/postgres`;
  let running = false;
  let removed = false;

  const start = async () => {
    // The unix socket goes to our folder (the default /var/run/postgresql belongs to the shared server).
    // fsync=off: a process restart keeps what the OS already holds, so commits survive it; only power loss would not.
    const serverArgs = `-p ${port} -c listen_addresses=127.0.0.1 -k ${dir} -c fsync=off`;
    try {
      await run('pg_ctl', ['-D', dataDir, '-l', logFile, '-o', serverArgs, '-w', '-t', '120', 'start']);
    } catch (error) {
      throw new Error(`${(error as Error).message}\n--- ${logFile}:\n${tail(logs())}`);
    }
    running = true;
    await waitFor(`private Postgres on ${port}`, () => query(url, 'SELECT 1').then(() => true), 60_000, 100);
  };
  const stop = async ({ mode = 'fast' }: { mode?: PostgresStopMode } = {}) => {
    if (!running) return;
    await run('pg_ctl', ['-D', dataDir, '-m', mode, '-w', '-t', '120', 'stop']);
    running = false;
  };
  // A test process that dies without remove() must not leave a postmaster behind on the shared machine.
  const onExit = () => {
    if (running) spawnSync(...command(asRoot ? 'postgres' : undefined, join(bin, 'pg_ctl'), ['-D', dataDir, '-m', 'immediate', 'stop']), { stdio: 'ignore' });
  };
  process.once('exit', onExit);
  const remove = async () => {
    if (removed) return;
    removed = true;
    process.removeListener('exit', onExit);
    await stop({ mode: 'immediate' }).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    // --no-sync: the cluster is thrown away after the test; -A trust -U postgres: same login as the shared server.
    await run('initdb', ['-D', dataDir, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-locale', '--no-sync']);
    await start();
  } catch (error) {
    await remove();
    throw error;
  }
  return {
    url,
    port,
    dataDir,
    databaseUrl(name) {
      const u = new URL(url);
      u.pathname = `/${name}`;
      return u.toString();
    },
    stop,
    start,
    logs,
    remove,
  };
}

function osUser(name: string): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${name}:`));
  if (!line) throw new Error(`running as root, and there is no "${name}" OS user to run the Postgres server as (apt-get install -y postgresql creates it)`);
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

/** [file, args] running `file args` as `user` (runuser, root only) or as ourselves. */
function command(user: string | undefined, file: string, args: string[]): [string, string[]] {
  return user && user !== userInfo().username ? ['runuser', ['-u', user, '--', file, ...args]] : [file, args];
}

function runAs(user: string | undefined, file: string, args: string[], cwd: string): Promise<string> {
  const [cmd, argv] = command(user, file, args);
  return new Promise((resolve, reject) => {
    // cwd: our folder, which the postgres user can read (the caller's may not be).
    execFile(cmd, argv, { cwd, encoding: 'utf8', timeout: 180_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${[file.split('/').pop(), ...args].join(' ')} failed: ${stderr.trim() || stdout.trim() || error.message}`));
      else resolve(stdout);
    });
  });
}

async function query(url: string, sql: string): Promise<void> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 3_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query(sql);
  } finally {
    await client.end().catch(() => undefined);
  }
}

function tail(text: string, lines = 20): string {
  return text.split('\n').slice(-lines).join('\n');
}
