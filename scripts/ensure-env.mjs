#!/usr/bin/env node
// Makes this machine ready to build, test and run hsm-signer, and says what it did, one line per step.
// Idempotent: on a ready machine it only checks (about a second). On a fresh Debian machine with Node 20:
//   1. npm dependencies       node_modules complete, else `npm ci` (falls back to `npm install`)
//   2. Prisma client          generated from libs/persistence/prisma/schema.prisma (`npm run prisma:generate`)
//   3. Debian packages        softhsm2, opensc, nats-server, postgresql: installed with apt-get when
//                             missing and running as root, else the exact command is printed and we exit 1
//   4. Postgres               reachable at DATABASE_URL's and TEST_DATABASE_ADMIN_URL's server (default
//                             127.0.0.1:5432, user postgres),
//                             else the local cluster is started (pg_ctlcluster); a fresh cluster's scram
//                             auth on 127.0.0.1 is switched to trust (and user postgres gets password
//                             'postgres') so postgresql://postgres@127.0.0.1:5432/... works as on CI
//   5. NATS                   reachable at NATS_URL (default nats://127.0.0.1:4222), else a local
//                             nats-server with JetStream is started in the background (shared/services.md)
// Usage: node scripts/ensure-env.mjs      (or import { ensureEnv } from './ensure-env.mjs')
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { connect } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const DEBIAN_PACKAGES = ['softhsm2', 'opensc', 'nats-server', 'postgresql'];
export const DEFAULT_DATABASE_URL = 'postgresql://postgres@127.0.0.1:5432/postgres';
export const DEFAULT_NATS_URL = 'nats://127.0.0.1:4222';

export class EnvError extends Error {
  name = 'EnvError';
}

const say = (line) => console.log(`ensure-env: ${line}`);
const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function run(cmd, args, options = {}) {
  const res = spawnSync(cmd, args, {
    cwd: ROOT,
    stdio: options.quiet ? 'pipe' : ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, ...options.env },
    maxBuffer: 64 * 1024 * 1024, // apt-get's output would overflow the 1 MB default (and the child be killed)
  });
  if (res.status !== 0) {
    const out = options.quiet ? `\n${res.stdout ?? ''}${res.stderr ?? ''}` : '';
    throw new EnvError(`\`${[cmd, ...args].join(' ')}\` failed (${res.error?.message ?? `exit ${res.status}`})${out}`);
  }
  return res;
}

// --- 1. npm dependencies ------------------------------------------------------------------------
function missingNpmPackages() {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  const names = Object.keys({ ...pkg.dependencies, ...pkg.devDependencies });
  return names.filter((name) => !existsSync(join(ROOT, 'node_modules', name, 'package.json')));
}

function ensureNodeModules() {
  const missing = missingNpmPackages();
  if (!missing.length) return say('npm dependencies present');
  say(`npm dependencies missing (${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ', …' : ''}): installing`);
  const flags = ['--no-audit', '--no-fund'];
  try {
    if (!existsSync(join(ROOT, 'package-lock.json'))) throw new EnvError('no package-lock.json');
    run('npm', ['ci', ...flags]);
  } catch (error) {
    // package-lock.json out of step with package.json: `npm ci` refuses, `npm install` reconciles.
    say(`npm ci failed (${error.message.split('\n')[0]}): running npm install`);
    run('npm', ['install', ...flags]);
  }
  const still = missingNpmPackages();
  if (still.length) throw new EnvError(`npm packages still missing after install: ${still.join(', ')}`);
  say('npm dependencies installed');
}

// --- 2. Prisma client ---------------------------------------------------------------------------
// scripts/prisma-generate.mjs skips by itself when the schema and prisma version are unchanged.
function ensurePrismaClient() {
  if (!existsSync(join(ROOT, 'libs/persistence/prisma/schema.prisma'))) return say('no Prisma schema in this checkout: nothing to generate');
  const res = run('npm', ['run', '--silent', 'prisma:generate'], { quiet: true });
  const generated = join(ROOT, 'libs/persistence/src/generated/prisma/client.ts');
  if (!existsSync(generated)) throw new EnvError(`npm run prisma:generate did not produce ${generated}`);
  say(/up to date/.test(String(res.stdout)) ? 'Prisma client up to date' : 'Prisma client generated');
}

// --- 3. Debian packages -------------------------------------------------------------------------
function missingDebianPackages() {
  return DEBIAN_PACKAGES.filter((name) => {
    const res = spawnSync('dpkg-query', ['-W', '-f=${Status}', name], { encoding: 'utf8' });
    return res.status !== 0 || !res.stdout.includes('install ok installed');
  });
}

function ensureDebianPackages() {
  const missing = missingDebianPackages();
  if (!missing.length) return say(`Debian packages present (${DEBIAN_PACKAGES.join(', ')})`);
  const command = `apt-get update && apt-get install -y ${missing.join(' ')}`;
  if (!isRoot()) {
    throw new EnvError(`Debian packages missing: ${missing.join(', ')}. Install them as root:\n  sudo sh -c '${command}'`);
  }
  say(`installing Debian packages: ${missing.join(', ')}`);
  const env = { DEBIAN_FRONTEND: 'noninteractive' };
  run('apt-get', ['update'], { env, quiet: true });
  run('apt-get', ['install', '-y', '--no-install-recommends', ...missing], { env, quiet: true });
  say(`installed ${missing.join(', ')}`);
}

// --- 4. Postgres --------------------------------------------------------------------------------
const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '::1', '[::1]', '']);

/**
 * The local cluster serving `port` (pg_lsclusters: version, name, port, status), else the newest
 * version's `main` cluster (a fresh `apt-get install postgresql` creates <version>/main on 5432).
 */
function localCluster(port) {
  const lines = spawnSync('pg_lsclusters', ['-h'], { encoding: 'utf8' }).stdout?.split('\n').filter(Boolean) ?? [];
  const clusters = lines.map((l) => l.split(/\s+/)).map(([version, name, p, status]) => ({ version, name, port: p, status }));
  const byPort = clusters.find((c) => c.port === String(port));
  if (byPort) return byPort;
  const dir = '/etc/postgresql';
  const versions = existsSync(dir) ? readdirSync(dir).filter((v) => /^\d+$/.test(v)) : [];
  const version = versions.sort((a, b) => Number(b) - Number(a))[0];
  if (!version) return undefined;
  return clusters.find((c) => c.version === version && c.name === 'main') ?? { version, name: 'main', port: undefined, status: 'unknown' };
}

async function tryPostgres(url) {
  const require = createRequire(join(ROOT, 'package.json'));
  const { Client } = require('pg');
  const admin = new URL(url);
  admin.pathname = '/postgres'; // the target database itself may not exist yet (created by the app / tests)
  const client = new Client({ connectionString: admin.toString(), connectionTimeoutMillis: 3_000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return { ok: true };
  } catch (error) {
    return { ok: false, code: error.code, message: error.message };
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** A fresh Debian cluster asks for a scram password on 127.0.0.1; this machine's (and CI's) trusts local TCP. */
function trustLocalTcp({ version, name, port }) {
  const hba = `/etc/postgresql/${version}/${name}/pg_hba.conf`;
  const text = readFileSync(hba, 'utf8');
  const updated = text.replace(/^(host\s+all\s+all\s+(?:127\.0\.0\.1\/32|::1\/128)\s+)\S+[ \t]*$/gm, '$1trust');
  if (updated !== text) writeFileSync(hba, updated);
  run('pg_ctlcluster', ['--skip-systemctl-redirect', version, name, 'reload'], { quiet: true });
  // Also a password, for clients that insist on sending one (postgresql://postgres:postgres@…).
  spawnSync('su', ['postgres', '-c', `psql -q -p ${port} -c "alter user postgres password 'postgres'"`], { stdio: 'ignore' });
}

async function ensurePostgres(url) {
  const target = new URL(url);
  const where = `${target.hostname}:${target.port || 5432}`;
  let result = await tryPostgres(url);
  if (result.ok) return say(`Postgres reachable at ${where}`);
  const local = LOCAL_HOSTS.has(target.hostname);
  const port = Number(target.port || 5432);
  const cluster = localCluster(port);
  if (!local) throw new EnvError(`Postgres at ${where} is not reachable (${result.message}); it is not local, so it is not started here`);
  if (!cluster) throw new EnvError(`Postgres at ${where} is not reachable (${result.message}) and no local cluster exists in /etc/postgresql`);
  const id = `${cluster.version}/${cluster.name}`;
  // 28P01 password authentication failed, 28000 no pg_hba.conf entry; node-pg's own SASL error has no code
  // (a fresh cluster's scram-sha-256 on 127.0.0.1 and a URL without a password).
  const authFailure = (r) => ['28P01', '28000'].includes(r.code) || /password|SASL|authentication/i.test(r.message ?? '');
  if (!authFailure(result) && (result.code === 'ECONNREFUSED' || result.code === 'ENOENT' || result.code === undefined)) {
    if (cluster.status === 'online' || (cluster.port && cluster.port !== String(port))) {
      throw new EnvError(`Postgres at ${where} refused the connection (${result.message}); the local cluster ${id} is ${cluster.status} on port ${cluster.port}`);
    }
    if (!isRoot()) {
      throw new EnvError(`Postgres at ${where} is down. Start it as root:\n  sudo pg_ctlcluster --skip-systemctl-redirect ${cluster.version} ${cluster.name} start`);
    }
    say(`Postgres down: starting cluster ${id}`);
    run('pg_ctlcluster', ['--skip-systemctl-redirect', cluster.version, cluster.name, 'start'], { quiet: true });
    for (let i = 0; i < 50 && !(result = await tryPostgres(url)).ok && ['ECONNREFUSED', '57P03'].includes(result.code); i++) await sleep(200);
  }
  if (!result.ok && authFailure(result) && isRoot()) {
    say(`Postgres refused user ${target.username || 'postgres'} on ${where} (${result.code ?? result.message}): trusting local TCP connections in ${id}`);
    trustLocalTcp({ ...cluster, port });
    await sleep(300);
    result = await tryPostgres(url);
  }
  if (!result.ok) throw new EnvError(`Postgres at ${where} is still not usable: ${result.message}`);
  say(`Postgres reachable at ${where}`);
}

/** Every Postgres server the configuration names: the apps' DATABASE_URL and the tests' TEST_DATABASE_ADMIN_URL. */
function postgresUrls() {
  const urls = [process.env.DATABASE_URL, process.env.TEST_DATABASE_ADMIN_URL].filter(Boolean);
  if (!urls.length) urls.push(DEFAULT_DATABASE_URL);
  const seen = new Set();
  return urls.filter((u) => {
    const t = new URL(u);
    const key = `${t.hostname}:${t.port || 5432}:${t.username}`;
    return seen.has(key) ? false : seen.add(key);
  });
}

// --- 5. NATS ------------------------------------------------------------------------------------
function natsAnswers(host, port, timeoutMs = 1_000) {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('data', (chunk) => done(String(chunk).startsWith('INFO')));
    socket.on('error', () => done(false));
  });
}

async function ensureNats() {
  const first = (process.env.NATS_URL || DEFAULT_NATS_URL).split(',')[0].trim();
  const target = new URL(first);
  const host = target.hostname || '127.0.0.1';
  const port = Number(target.port || 4222);
  if (await natsAnswers(host, port)) return say(`NATS reachable at ${host}:${port}`);
  if (!LOCAL_HOSTS.has(target.hostname)) throw new EnvError(`NATS at ${host}:${port} is not reachable and not local, so it is not started here`);
  // shared/services.md's command for 4222; another port gets a store of its own (two servers must not share one).
  const suffix = port === 4222 ? '' : `-${port}`;
  const storeDir = isRoot() ? `/var/lib/nats-server${suffix}` : join(process.env.HOME || '/tmp', `.local/share/hsm-signer/nats${suffix}`);
  const logFile = isRoot() ? `/var/log/nats-server${suffix}.log` : join(storeDir, 'nats-server.log');
  const pidFile = join(storeDir, 'nats-server.pid');
  mkdirSync(storeDir, { recursive: true });
  say(`NATS down: starting nats-server with JetStream on ${host}:${port} (store ${storeDir}, log ${logFile})`);
  run(
    'start-stop-daemon',
    // A pid file of its own: matched by --exec alone, start-stop-daemon would take a server on another port for this one.
    ['--start', '--oknodo', '--background', '--make-pidfile', '--pidfile', pidFile, '--exec', '/usr/sbin/nats-server', '--', '-a', '127.0.0.1', '-p', String(port), '-js', '-sd', storeDir, '-l', logFile],
    { quiet: true },
  );
  for (let i = 0; i < 50; i++) {
    if (await natsAnswers('127.0.0.1', port)) return say(`NATS reachable at 127.0.0.1:${port}`);
    await sleep(100);
  }
  throw new EnvError(`nats-server did not answer on 127.0.0.1:${port}; see ${logFile}`);
}

export async function ensureEnv() {
  ensureNodeModules();
  ensureDebianPackages();
  ensurePrismaClient();
  for (const url of postgresUrls()) await ensurePostgres(url);
  await ensureNats();
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  ensureEnv().catch((error) => {
    console.error(`ensure-env: ${error instanceof EnvError ? error.message : error.stack}`);
    process.exit(1);
  });
}
