import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getAddress, JsonRpcProvider, parseEther, Wallet } from 'ethers';
import { Client } from 'pg';
import { ANVIL_DEV_KEY, startAnvil, type AnvilNode } from './anvil';
import { freePort } from './ports';
import { startNatsServer, type NatsServer } from './nats';
import { openPersistentToken } from './persistent-token';
import { createTestDatabase } from './postgres';
import { APP_PORT_ENV, APPS, startService, tailText, type AppName, type ServiceProcess } from './process';
import { createSoftHsmToken } from './softhsm';
import { listTokenKeys, type TokenPublicKey } from './token-keys';

/** What the stack needs of a token: the temporary one from ./softhsm or the persistent dev one. */
export interface StackToken {
  dir: string;
  conf: string;
  module: string;
  label: string;
  pin: string;
  env: Record<string, string>;
  /** Generates a secp256k1 key pair in the token; resolves with its label and CKA_ID (hex). */
  addKey(label: string): Promise<{ label: string; id: string }>;
  /** Deletes the key pair with this label. */
  deleteKey(label: string): Promise<void>;
  cleanup(): unknown;
}

export interface StackOptions {
  /** Keep the SoftHSM2 token (and logs) here and reuse it on the next start. Default: a temp token, removed on stop. */
  dataDir?: string;
  /** Number of secp256k1 keys on the token (default 3). */
  keys?: number;
  /** anvil: port (default free), chain id (31337), interval mining in seconds (default automine), extra args. */
  anvilPort?: number;
  chainId?: number;
  blockTime?: number;
  anvilArgs?: string[];
  /** ETH sent from anvil's dev account to every token key (default '100'); 0 / '0' = none. */
  fundEth?: string;
  /** Postgres: this URL (its database is created when missing if createDatabase) or, by default, a fresh test database dropped on stop. */
  databaseUrl?: string;
  createDatabase?: boolean;
  /** NATS: this URL, or by default a private nats-server with JetStream stopped on stop. */
  natsUrl?: string;
  /** Fixed gateway ports (default free ports). */
  rpcPort?: number;
  restPort?: number;
  /** Fixed internal health ports (first replica only; default free ports). */
  noncePort?: number;
  discoveryPort?: number;
  signerPort?: number;
  /** Replica counts per app (default 1 each); `signerReplicas` is a shortcut for replicas['signer-service']. */
  replicas?: Partial<Record<AppName, number>>;
  signerReplicas?: number;
  /** key-discovery's poll interval (default 500 ms, so tests see key changes fast). */
  discoveryPollMs?: number;
  /** NATS_REQUEST_TIMEOUT_MS for every service (default: the apps' own default). */
  natsRequestTimeoutMs?: number;
  logLevel?: string;
  /** Extra env for every app / for one app (override what the stack sets). */
  env?: Record<string, string>;
  appEnv?: Partial<Record<AppName, Record<string, string>>>;
  /** Log folder (default <dataDir>/logs or a temp folder). */
  logDir?: string;
  /** How long to wait for eth_accounts to list every token key (default 90 s). */
  readyTimeoutMs?: number;
  /** Aborts start-up (everything started so far is stopped and startStack rejects). */
  signal?: AbortSignal;
  /** Progress lines (npm start prints them). */
  onProgress?: (line: string) => void;
}

export interface Stack {
  /** rpc-gateway's JSON-RPC URL (first replica) and every replica's. */
  rpcUrl: string;
  rpcUrls: string[];
  /** rest-gateway's base URL (first replica). */
  restUrl: string;
  anvil: AnvilNode;
  token: StackToken;
  databaseUrl: string;
  natsUrl: string;
  /** The token's key addresses, checksummed, in token order. */
  addresses: string[];
  logDir: string;
  /** Running replicas per app, in start order. */
  services: Record<AppName, ServiceProcess[]>;
  /** The env each app is started with (ports aside). */
  envFor(app: AppName): Record<string, string>;
  /** Starts one more replica of `app` (with a free port) and waits until it is healthy. */
  startService(app: AppName, extraEnv?: Record<string, string>): Promise<ServiceProcess>;
  /** Stops replica `index` of `app`, or every replica when no index is given; they leave `services`. */
  stopService(app: AppName, index?: number, signal?: NodeJS.Signals): Promise<ServiceProcess[]>;
  /** eth_accounts through the rpc-gateway. */
  accounts(): Promise<string[]>;
  /** The token's secp256k1 keys as they are now (label, CKA_ID, checksummed address), read with pkcs11-tool. */
  tokenKeys(): Promise<TokenPublicKey[]>;
  /** Stops everything this stack started, in reverse order; idempotent. */
  stop(): Promise<void>;
}

export class StackStartError extends Error {
  override readonly name = 'StackStartError';
}

/** Apps started together, then the next group: backends of the send path before the gateways. */
const START_GROUPS: AppName[][] = [['signer-service', 'nonce-service', 'key-discovery'], ['rpc-gateway', 'rest-gateway']];
const STOP_ORDER: AppName[] = ['rest-gateway', 'rpc-gateway', 'key-discovery', 'nonce-service', 'signer-service'];

/**
 * The stack-wide settings each app reads (libs/config/src/apps/<app>.ts). A static list, not the schemas
 * themselves: libs/config's specs use this library, and an import back would make a project cycle.
 * An app's own tuning (NONCE_*, PKCS11_SESSIONS, …) goes through `env` / `appEnv`, which are not filtered.
 */
const COMMON_VARS = ['NATS_URL', 'NATS_REQUEST_TIMEOUT_MS', 'LOG_LEVEL'];
const NODE_VARS = ['ETH_NODE_URL', 'ETH_NODE_TIMEOUT_MS'];
export const STACK_VARS: Record<AppName, readonly string[]> = {
  'signer-service': [...COMMON_VARS, 'PKCS11_MODULE', 'PKCS11_TOKEN_LABEL', 'PKCS11_PIN', 'PKCS11_KEY_LABEL_PREFIX'],
  'nonce-service': [...COMMON_VARS, 'DATABASE_URL', ...NODE_VARS],
  'key-discovery': [...COMMON_VARS, 'DATABASE_URL', 'DISCOVERY_POLL_INTERVAL_MS'],
  'rpc-gateway': [...COMMON_VARS, ...NODE_VARS, 'CHAIN_ID'],
  'rest-gateway': [...COMMON_VARS, ...NODE_VARS, 'DATABASE_URL', 'CHAIN_ID'],
};

/** Only the stack variables `app` reads (plus `extra`), so e.g. the PIN reaches signer-service alone. */
export function envForApp(app: AppName, bag: Record<string, string | undefined>, extra: Record<string, string> = {}): Record<string, string> {
  const known = new Set(STACK_VARS[app]);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(bag)) if (v !== undefined && known.has(k)) out[k] = v;
  return { ...out, ...extra };
}

/** CREATE DATABASE when it does not exist yet (connects to the server's `postgres` database). */
export async function ensureDatabase(url: string): Promise<void> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.replace(/^\//, ''));
  if (!/^[A-Za-z0-9_]+$/.test(name)) throw new Error(`database name ${JSON.stringify(name)} must match [A-Za-z0-9_]+`);
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (!rowCount) {
      await client.query(`CREATE DATABASE "${name}"`).catch((error: { code?: string }) => {
        if (error.code !== '42P04') throw error; // created concurrently
      });
    }
  } finally {
    await client.end();
  }
}

async function jsonRpc<T>(url: string, method: string, params: unknown[] = []): Promise<T> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
    signal: AbortSignal.timeout(10_000),
  });
  const body = (await res.json()) as { result?: T; error?: { code: number; message: string } };
  if (body.error) throw new Error(`${method}: ${body.error.code} ${body.error.message}`);
  return body.result as T;
}

/** Sends `eth` from anvil's first dev account to each address and waits for the receipts. */
export async function fundAccounts(nodeUrl: string, addresses: string[], eth: string): Promise<void> {
  if (!addresses.length) return;
  const provider = new JsonRpcProvider(nodeUrl, undefined, { staticNetwork: true, cacheTimeout: -1 });
  provider.pollingInterval = 100;
  try {
    const wallet = new Wallet(ANVIL_DEV_KEY, provider);
    const nonce = await provider.getTransactionCount(wallet.address, 'pending');
    // One after another: anvil's automine stalls when one sender's nonces arrive out of order (shared/services.md).
    const sent = [];
    for (const [i, to] of addresses.entries()) sent.push(await wallet.sendTransaction({ to, value: parseEther(eth), nonce: nonce + i }));
    const receipts = await Promise.all(sent.map((tx) => tx.wait(1, 60_000)));
    const failed = receipts.filter((r) => r?.status !== 1);
    if (failed.length) throw new Error(`funding transaction failed: ${failed.map((r) => r?.hash).join(', ')}`);
  } finally {
    provider.destroy();
  }
}

/**
 * Starts the whole real stack: anvil, a SoftHSM2 token with secp256k1 keys (funded from anvil's dev
 * account), Postgres, NATS and the five built services, and resolves once the rpc-gateway's eth_accounts
 * lists every token key. On any failure, whatever was started is stopped again.
 */
export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const checkAbort = () => {
    if (options.signal?.aborted) throw new StackStartError('start-up aborted');
  };
  const progress = (line: string) => {
    checkAbort();
    options.onProgress?.(line);
  };
  const cleanups: Array<() => unknown> = [];
  const services = Object.fromEntries(APPS.map((a) => [a, [] as ServiceProcess[]])) as Record<AppName, ServiceProcess[]>;
  const stopServices = async () => {
    for (const app of STOP_ORDER) {
      const list = services[app].splice(0);
      await Promise.all(list.map((s) => s.stop()));
    }
  };
  let stopped = false;
  const stopAll = async () => {
    if (stopped) return;
    stopped = true;
    const errors: unknown[] = [];
    await stopServices().catch((e) => errors.push(e));
    for (const fn of cleanups.reverse()) {
      try {
        await fn();
      } catch (error) {
        errors.push(error);
      }
    }
    if (errors.length) throw new AggregateError(errors, 'stopping the stack failed');
  };

  try {
    const logDir = options.logDir ?? (options.dataDir ? join(options.dataDir, 'logs') : mkdtempSync(join(tmpdir(), 'hsm-stack-logs-')));
    const keyCount = options.keys ?? 3;

    const chainId = options.chainId ?? 31337;
    const anvil = await startAnvil({ port: options.anvilPort, chainId, blockTime: options.blockTime, args: options.anvilArgs });
    cleanups.push(() => anvil.stop());
    progress(`anvil dev chain ${chainId} at ${anvil.url}`);

    let token: StackToken;
    if (options.dataDir) {
      const persistent = await openPersistentToken(join(options.dataDir, 'softhsm'), { keys: keyCount });
      token = persistent;
      progress(`SoftHSM2 token "${persistent.label}" ${persistent.created ? 'created' : 'reused'} in ${persistent.dir}`);
    } else {
      const keys = Array.from({ length: keyCount }, (_, i) => `key-${i + 1}`);
      const temp = await createSoftHsmToken({ keys });
      token = temp;
      cleanups.push(() => token.cleanup());
      progress(`SoftHSM2 token "${token.label}" in ${token.dir}`);
    }
    const tokenKeys = await listTokenKeys({ module: token.module, label: token.label, env: token.env });
    const addresses = tokenKeys.map((k) => getAddress(k.address));
    if (addresses.length < keyCount) throw new StackStartError(`token ${token.label} holds ${addresses.length} secp256k1 keys, expected ${keyCount}`);

    const fundEth = options.fundEth ?? '100';
    if (Number(fundEth) > 0) {
      await fundAccounts(anvil.url, addresses, fundEth);
      progress(`funded ${addresses.length} accounts with ${fundEth} ETH each`);
    }

    let databaseUrl: string;
    if (options.databaseUrl) {
      databaseUrl = options.databaseUrl;
      if (options.createDatabase) await ensureDatabase(databaseUrl);
    } else {
      const db = await createTestDatabase();
      cleanups.push(() => db.drop());
      databaseUrl = db.url;
    }
    progress(`Postgres database ${new URL(databaseUrl).pathname.slice(1)}`);

    let natsUrl: string;
    if (options.natsUrl) {
      natsUrl = options.natsUrl;
    } else {
      const nats: NatsServer = await startNatsServer({ jetstream: true });
      cleanups.push(() => nats.stop());
      natsUrl = nats.url;
    }
    progress(`NATS at ${natsUrl}`);

    // One bag of settings; each app gets only the variables its schema declares (envForApp).
    const bag: Record<string, string | undefined> = {
      NATS_URL: natsUrl,
      NATS_REQUEST_TIMEOUT_MS: options.natsRequestTimeoutMs?.toString(),
      LOG_LEVEL: options.logLevel,
      DATABASE_URL: databaseUrl,
      ETH_NODE_URL: anvil.url,
      CHAIN_ID: String(chainId),
      DISCOVERY_POLL_INTERVAL_MS: String(options.discoveryPollMs ?? 500),
      ...token.env,
    };
    const envFor = (app: AppName) =>
      envForApp(app, bag, {
        ...(app === 'signer-service' ? token.env : {}),
        ...(options.env ?? {}),
        ...(options.appEnv?.[app] ?? {}),
      });
    const firstPort: Partial<Record<AppName, number>> = {
      'rpc-gateway': options.rpcPort,
      'rest-gateway': options.restPort,
      'nonce-service': options.noncePort,
      'key-discovery': options.discoveryPort,
      'signer-service': options.signerPort,
    };
    const replicaCount = (app: AppName) => (app === 'signer-service' ? options.signerReplicas : undefined) ?? options.replicas?.[app] ?? 1;
    // Replica names count up per app and are never reused (each has its own log file); the fixed port goes
    // to whichever replica starts while no other one holds it (also a replica started again after a stop).
    const launched = Object.fromEntries(APPS.map((a) => [a, 0])) as Record<AppName, number>;
    const reservedPorts = new Set<number>();
    const order = new WeakMap<ServiceProcess, number>();
    const launch = async (app: AppName, extraEnv: Record<string, string> = {}) => {
      const seq = ++launched[app];
      const name = `${app}-${seq}`;
      const env = { ...envFor(app), ...extraEnv };
      delete env[APP_PORT_ENV[app]];
      const fixed = firstPort[app];
      const port = fixed !== undefined && !reservedPorts.has(fixed) ? fixed : await freePort();
      env[APP_PORT_ENV[app]] = String(port);
      reservedPorts.add(port);
      try {
        const service = await startService(app, env, { replicaName: name, logDir });
        order.set(service, seq);
        services[app].push(service);
        services[app].sort((a, b) => order.get(a)! - order.get(b)!);
        void service.exited.then(() => reservedPorts.delete(port));
        return service;
      } catch (error) {
        reservedPorts.delete(port);
        throw error;
      }
    };

    for (const group of START_GROUPS) {
      await Promise.all(group.flatMap((app) => Array.from({ length: replicaCount(app) }, () => launch(app))));
      progress(`started ${group.map((a) => `${a}×${services[a].length}`).join(', ')}`);
    }

    const rpcUrl = services['rpc-gateway'][0]!.url;
    const accounts = () => jsonRpc<string[]>(rpcUrl, 'eth_accounts');
    const wanted = new Set(addresses.map((a) => a.toLowerCase()));
    const readyTimeoutMs = options.readyTimeoutMs ?? 90_000;
    const deadline = Date.now() + readyTimeoutMs;
    let last: unknown;
    for (;;) {
      try {
        last = await accounts();
        const got = new Set((last as string[]).map((a) => a.toLowerCase()));
        if ([...wanted].every((a) => got.has(a))) break;
      } catch (error) {
        last = error;
      }
      if (Date.now() > deadline) {
        const discovery = services['key-discovery'][0];
        throw new StackStartError(
          `eth_accounts did not list the token's keys within ${readyTimeoutMs} ms (want ${addresses.join(', ')}; last answer: ${
            last instanceof Error ? last.message : JSON.stringify(last)
          })\n--- key-discovery log (${discovery?.logFile}):\n${discovery ? discovery.tail(20) : ''}\n--- signer-service log:\n${tailText(
            services['signer-service'][0]?.logs() ?? '',
            20,
          )}`,
        );
      }
      checkAbort();
      await new Promise((r) => setTimeout(r, 200));
    }
    progress('rpc-gateway lists every token key');

    const stack: Stack = {
      rpcUrl,
      get rpcUrls() {
        return services['rpc-gateway'].map((s) => s.url);
      },
      restUrl: services['rest-gateway'][0]!.url,
      anvil,
      token,
      databaseUrl,
      natsUrl,
      addresses,
      logDir,
      services,
      envFor,
      startService: (app, extraEnv) => launch(app, extraEnv),
      async stopService(app, index, signal = 'SIGTERM') {
        const list = services[app];
        const victims = index === undefined ? list.splice(0) : list.splice(index, 1);
        await Promise.all(victims.map((s) => s.stop(signal)));
        return victims;
      },
      accounts,
      tokenKeys: () => listTokenKeys({ module: token.module, label: token.label, env: token.env }),
      stop: stopAll,
    };
    return stack;
  } catch (error) {
    await stopAll().catch(() => undefined);
    throw error;
  }
}
