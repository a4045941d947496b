#!/usr/bin/env node
// `npm start`: the whole stack on this machine, in one command.
//   1. scripts/ensure-env.mjs: npm dependencies, Prisma client, Debian packages (softhsm2, opensc,
//      nats-server, postgresql), Postgres and NATS running (started when down)
//   2. builds the five apps (nx, cached after the first time)
//   3. scripts/dev-stack.ts → startStack(): anvil dev chain, a SoftHSM2 token with secp256k1 keys under
//      the data folder (created on first run, reused after), funding of those keys from anvil's dev
//      account, the database (created when missing), then signer-service, nonce-service, key-discovery,
//      rpc-gateway and rest-gateway; waits until eth_accounts lists every key, prints the endpoints and a
//      `cast` / `curl` example. Ctrl-C (SIGINT) or SIGTERM stops everything; a second Ctrl-C kills at once.
//
// Environment (all optional):
//   HSM_DATA_DIR               data folder for the token and logs          default .data (in the repo)
//   RPC_PORT                   rpc-gateway JSON-RPC port                   default 8545
//   REST_PORT                  rest-gateway port                           default 8080
//   ANVIL_PORT                 anvil dev chain port (chain id 31337)       default 8555
//   ANVIL_BLOCK_TIME           seconds between blocks; unset = automine    default unset
//   NONCE_HTTP_PORT, DISCOVERY_HTTP_PORT, SIGNER_HTTP_PORT
//                              health ports of the internal services       default 8081, 8082, 8083
//   DATABASE_URL               Postgres URL (database created if missing)  default postgresql://postgres@127.0.0.1:5432/hsm_dev
//   NATS_URL                   NATS URL (started locally when down)        default nats://127.0.0.1:4222
//   HSM_KEYS                   number of keys on the token                 default 3
//   SIGNER_REPLICAS            signer-service replicas                     default 1
//   DISCOVERY_POLL_INTERVAL_MS how often key-discovery polls the token     default 2000
//   LOG_LEVEL                  services' log level                         default info
//   HSM_SKIP_BUILD=1           do not run the nx build (dist/ must be current)
import { spawn, spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureEnv, EnvError } from './ensure-env.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const APPS = ['rpc-gateway', 'rest-gateway', 'nonce-service', 'key-discovery', 'signer-service'];
const say = (line) => console.log(`start: ${line}`);
// A closed terminal or pipe must not kill this process before the stack has stopped.
process.stdout.on('error', () => undefined);
process.stderr.on('error', () => undefined);

let interrupted = false;
const early = () => {
  interrupted = true;
};
process.on('SIGINT', early);
process.on('SIGTERM', early);

try {
  await ensureEnv();
} catch (error) {
  console.error(`ensure-env: ${error instanceof EnvError ? error.message : error.stack}`);
  process.exit(1);
}
if (interrupted) process.exit(130);

if (process.env.HSM_SKIP_BUILD !== '1') {
  say(`building ${APPS.join(', ')} (nx; cached after the first time)`);
  const started = Date.now();
  const build = spawnSync('npx', ['nx', 'run-many', '-t', 'build', '-p', ...APPS, '--outputStyle=static'], {
    cwd: ROOT,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false' },
  });
  if (interrupted) process.exit(130);
  if (build.status !== 0) {
    process.stdout.write(build.stdout ?? '');
    process.stderr.write(build.stderr ?? '');
    console.error(`start: the build failed (${build.error?.message ?? `exit ${build.status}`})`);
    process.exit(1);
  }
  say(`built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
if (interrupted) process.exit(130);

// The stack runs in a child (TypeScript through @swc-node/register) in a process group of its own, so a
// terminal's Ctrl-C reaches only this process, which forwards it once: the stack then stops its services
// in order (gateways first) instead of every process getting SIGINT at the same moment. A second Ctrl-C
// is forwarded too, and the child then kills everything at once.
const child = spawn(process.execPath, ['-r', '@swc-node/register', join(ROOT, 'scripts', 'dev-stack.ts')], {
  cwd: ROOT,
  stdio: 'inherit',
  detached: true,
  env: { ...process.env, SWC_NODE_PROJECT: join(ROOT, 'tsconfig.base.json') },
});
process.off('SIGINT', early);
process.off('SIGTERM', early);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal === 'SIGHUP' ? 'SIGTERM' : signal);
  });
}
child.on('exit', (code, signal) => process.exit(code ?? (signal === 'SIGKILL' ? 137 : 130)));
