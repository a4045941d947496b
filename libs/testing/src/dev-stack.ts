import { resolve } from 'node:path';
import { startStack, type Stack, type StackOptions } from './stack';
import { WORKSPACE_ROOT, type AppName } from './process';

/**
 * `npm start`'s stack (scripts/start.mjs → scripts/dev-stack.ts): the settings it reads from the
 * environment, with their defaults. Documented in scripts/start.mjs's header.
 */
export interface DevStackSettings {
  dataDir: string;
  databaseUrl: string;
  natsUrl: string;
  anvilPort: number;
  rpcPort: number;
  restPort: number;
  noncePort: number;
  discoveryPort: number;
  signerPort: number;
  keys: number;
  blockTime?: number;
  signerReplicas: number;
  discoveryPollMs: number;
  logLevel: string;
}

export class DevStackSettingsError extends Error {
  override readonly name = 'DevStackSettingsError';
}

function intFrom(env: NodeJS.ProcessEnv, name: string, fallback: number, min = 0, max = 65535): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) throw new DevStackSettingsError(`${name}=${JSON.stringify(raw)}: expected an integer ${min}…${max}`);
  return Number(raw);
}

export function devStackSettingsFromEnv(env: NodeJS.ProcessEnv = process.env, root = WORKSPACE_ROOT): DevStackSettings {
  const blockTime = intFrom(env, 'ANVIL_BLOCK_TIME', 0, 0, 3600);
  return {
    dataDir: resolve(root, env.HSM_DATA_DIR || '.data'),
    databaseUrl: env.DATABASE_URL || 'postgresql://postgres@127.0.0.1:5432/hsm_dev',
    natsUrl: env.NATS_URL || 'nats://127.0.0.1:4222',
    anvilPort: intFrom(env, 'ANVIL_PORT', 8555, 1),
    rpcPort: intFrom(env, 'RPC_PORT', 8545, 1),
    restPort: intFrom(env, 'REST_PORT', 8080, 1),
    noncePort: intFrom(env, 'NONCE_HTTP_PORT', 8081, 1),
    discoveryPort: intFrom(env, 'DISCOVERY_HTTP_PORT', 8082, 1),
    signerPort: intFrom(env, 'SIGNER_HTTP_PORT', 8083, 1),
    keys: intFrom(env, 'HSM_KEYS', 3, 1, 100),
    blockTime: blockTime || undefined,
    signerReplicas: intFrom(env, 'SIGNER_REPLICAS', 1, 1, 16),
    discoveryPollMs: intFrom(env, 'DISCOVERY_POLL_INTERVAL_MS', 2_000, 200, 3_600_000),
    logLevel: env.LOG_LEVEL || 'info',
  };
}

export function devStackOptions(s: DevStackSettings, onProgress?: (line: string) => void): StackOptions {
  return {
    dataDir: s.dataDir,
    keys: s.keys,
    anvilPort: s.anvilPort,
    blockTime: s.blockTime,
    databaseUrl: s.databaseUrl,
    createDatabase: true,
    natsUrl: s.natsUrl,
    rpcPort: s.rpcPort,
    restPort: s.restPort,
    noncePort: s.noncePort,
    discoveryPort: s.discoveryPort,
    signerPort: s.signerPort,
    signerReplicas: s.signerReplicas,
    discoveryPollMs: s.discoveryPollMs,
    logLevel: s.logLevel,
    onProgress,
  };
}

export const READY_LINE = 'hsm-signer is ready';

/** Removes user:password from a URL before it is printed. */
function withoutCredentials(url: string): string {
  const u = new URL(url);
  u.username = '';
  u.password = '';
  return u.toString();
}

export interface BannerInput {
  rpcUrl: string;
  restUrl: string;
  anvilUrl: string;
  chainId: number;
  natsUrl: string;
  databaseUrl: string;
  tokenLabel: string;
  tokenDir: string;
  logDir: string;
  addresses: string[];
  fundEth: string;
  services: Partial<Record<AppName, number>>;
}

export function bannerInput(stack: Stack, fundEth = '100'): BannerInput {
  return {
    rpcUrl: stack.rpcUrl,
    restUrl: stack.restUrl,
    anvilUrl: stack.anvil.url,
    chainId: stack.anvil.chainId,
    natsUrl: stack.natsUrl,
    databaseUrl: stack.databaseUrl,
    tokenLabel: stack.token.label,
    tokenDir: stack.token.dir,
    logDir: stack.logDir,
    addresses: stack.addresses,
    fundEth,
    services: Object.fromEntries(Object.entries(stack.services).map(([app, list]) => [app, list.length])),
  };
}

/** The lines `npm start` prints once the stack answers: endpoints and two examples to copy. */
export function formatBanner(b: BannerInput): string {
  const [from, second] = b.addresses;
  const to = second ?? from;
  const curlBody = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_accounts', params: [] });
  const db = new URL(b.databaseUrl);
  return [
    '',
    READY_LINE,
    `  JSON-RPC    ${b.rpcUrl}   rpc-gateway: point ethers / viem / web3.js / cast here`,
    `  REST        ${b.restUrl}   rest-gateway: ethconnect-compatible REST API (POST /abis, /contracts/<name>/<method>, docs/rest-api.md)`,
    `  dev chain   ${b.anvilUrl}   anvil, chain id ${b.chainId}`,
    `  NATS        ${withoutCredentials(b.natsUrl)}`,
    `  Postgres    database ${db.pathname.slice(1)} on ${db.hostname}:${db.port || 5432}`,
    `  HSM         SoftHSM2 token "${b.tokenLabel}" in ${b.tokenDir}`,
    `  services    ${Object.entries(b.services)
      .map(([app, n]) => `${app}×${n}`)
      .join(', ')}; logs in ${b.logDir}`,
    `  accounts    (keys in the token, ${b.fundEth} ETH each)`,
    ...b.addresses.map((a) => `              ${a}`),
    '',
    'Try it:',
    `  curl -s -H 'content-type: application/json' --data '${curlBody}' ${b.rpcUrl}`,
    `  npx cast send --unlocked --from ${from} ${to} --value 0.01ether --rpc-url ${b.rpcUrl}`,
    '',
    'Ctrl-C stops everything.',
    '',
  ].join('\n');
}

/** The `npm start` process: start, print the banner, stop cleanly on SIGINT / SIGTERM (twice = kill now). */
export async function runDevStack(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const t0 = Date.now();
  // The terminal (or a `| tee`) may be gone before the stack is: a broken stdout must not stop the shutdown.
  process.stdout.on('error', () => undefined);
  process.stderr.on('error', () => undefined);
  const log = (line: string) => {
    try {
      process.stdout.write(`start: ${line} (${((Date.now() - t0) / 1000).toFixed(1)} s)\n`);
    } catch {
      // see above
    }
  };
  const settings = devStackSettingsFromEnv(env);
  let stack: Stack | undefined;
  let stopping = false;
  let firstSignalAt = 0;
  const abort = new AbortController();
  // Last resort when this process dies another way (an exception): no service or anvil outlives it.
  process.on('exit', () => {
    for (const list of Object.values(stack?.services ?? {})) for (const s of list) if (s.running) s.process.kill('SIGTERM');
    stack?.anvil.process.kill('SIGTERM');
  });
  const onSignal = (signal: NodeJS.Signals) => {
    // One Ctrl-C can arrive more than once (from the terminal and forwarded by npm / start.mjs): only a
    // second signal a moment later means "kill now".
    if (stopping && Date.now() - firstSignalAt < 1_000) return;
    if (stopping) {
      log(`${signal} again: killing every process now`);
      for (const list of Object.values(stack?.services ?? {})) for (const s of list) s.process.kill('SIGKILL');
      stack?.anvil.process.kill('SIGKILL');
      process.exit(130);
    }
    stopping = true;
    firstSignalAt = Date.now();
    if (!stack) {
      log(`${signal}: aborting start-up…`);
      abort.abort();
      return;
    }
    log(`${signal}: stopping…`);
    stack.stop().then(
      () => {
        log('stopped');
        process.exit(0);
      },
      (error: Error) => {
        log(`stopped with errors: ${error.message}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);

  try {
    stack = await startStack({ ...devStackOptions(settings, log), signal: abort.signal });
  } catch (error) {
    if (abort.signal.aborted) {
      log('stopped');
      process.exit(0);
    }
    log(`start-up failed: ${(error as Error).message}`);
    process.exit(1);
  }
  process.stdout.write(formatBanner(bannerInput(stack)));
  // A service that dies on its own is reported; the rest keep running (the user decides).
  for (const list of Object.values(stack.services)) {
    for (const s of list) {
      void s.exited.then((exit) => {
        if (!stopping) log(`${s.name} exited (${exit.signal ?? `code ${exit.code}`}); its log: ${s.logFile}`);
      });
    }
  }
}
