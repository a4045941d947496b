import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort } from './ports';

/** The five deployable apps. Each builds into dist/<app>/apps/<app>/src/main.js. */
export const APPS = ['signer-service', 'nonce-service', 'key-discovery', 'rpc-gateway', 'rest-gateway'] as const;
export type AppName = (typeof APPS)[number];

/** The env var that sets each app's HTTP port (libs/config/src/apps/<app>.ts). */
export const APP_PORT_ENV: Record<AppName, string> = {
  'rpc-gateway': 'RPC_PORT',
  'rest-gateway': 'REST_PORT',
  'nonce-service': 'NONCE_HTTP_PORT',
  'key-discovery': 'DISCOVERY_HTTP_PORT',
  'signer-service': 'SIGNER_HTTP_PORT',
};

/** The path that answers 200 once an app is up (rest-gateway's API has /status, the others /health). */
export const APP_HEALTH_PATH: Record<AppName, string> = {
  'rpc-gateway': '/health',
  'rest-gateway': '/status',
  'nonce-service': '/health',
  'key-discovery': '/health',
  'signer-service': '/health',
};

/** The repository root (libs/testing/src → ../../..), where dist/ lives. */
export const WORKSPACE_ROOT = resolve(__dirname, '..', '..', '..');

export function appMainPath(app: AppName, root = WORKSPACE_ROOT): string {
  return join(root, 'dist', app, 'apps', app, 'src', 'main.js');
}

export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export class ServiceStartError extends Error {
  override readonly name = 'ServiceStartError';
  constructor(message: string, readonly logFile: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export interface StartServiceOptions {
  /** Instance name (SERVICE_INSTANCE, log file name); defaults to `<app>-<n>`. */
  replicaName?: string;
  /** Folder for the log file; defaults to a folder under the OS temp dir. */
  logDir?: string;
  /** How long to wait for the health endpoint (default 60 s: Prisma migrations on a busy 2-core box). */
  healthTimeoutMs?: number;
  /** Inherit this process's environment under `env` (default true). */
  inheritEnv?: boolean;
  /** Working directory of the child (default the workspace root). */
  cwd?: string;
  /** Script to run instead of the built app (process-handling tests use a tiny fixture server). */
  main?: string;
}

export interface ServiceProcess {
  app: AppName;
  name: string;
  pid: number;
  /** The app's HTTP port and base URL (http://127.0.0.1:<port>). */
  port: number;
  url: string;
  /** stdout and stderr of the child, appended. */
  logFile: string;
  env: Record<string, string>;
  process: ChildProcess;
  /** Resolves when the child has exited, however it ended. */
  exited: Promise<ProcessExit>;
  readonly running: boolean;
  readonly exit: ProcessExit | undefined;
  /** The whole log so far. */
  logs(): string;
  /** The last `lines` lines of the log. */
  tail(lines?: number): string;
  /** Sends `signal` (SIGTERM by default) and waits for the exit; SIGKILL after `graceMs` (default 10 s). */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<ProcessExit>;
  /** SIGKILL, no grace: a crash. */
  kill(): Promise<ProcessExit>;
}

let counter = 0;
let defaultLogDir: string | undefined;

function logDirFor(options: StartServiceOptions): string {
  if (options.logDir) return options.logDir;
  defaultLogDir ??= join(tmpdir(), 'hsm-signer-logs', `${process.pid}-${Date.now().toString(36)}`);
  return defaultLogDir;
}

export function tailText(text: string, lines = 30): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

async function probeHealth(url: string): Promise<boolean> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
  await res.arrayBuffer().catch(() => undefined);
  return res.ok;
}

/**
 * Spawns `node dist/<app>/apps/<app>/src/main.js` with `env` (over this process's environment), writes
 * its output to a log file, and resolves once the app's health endpoint answers 200. When the app's port
 * variable is not in `env` a free port is chosen. Fails fast when the child exits before it is healthy,
 * and times out with the last log lines in the error.
 */
export async function startService(app: AppName, env: Record<string, string | undefined> = {}, options: StartServiceOptions = {}): Promise<ServiceProcess> {
  const main = options.main ?? appMainPath(app);
  if (!existsSync(main)) throw new ServiceStartError(`${app} is not built: ${main} is missing (npx nx run ${app}:build)`, '');
  const name = options.replicaName ?? `${app}-${++counter}`;
  const portVar = APP_PORT_ENV[app];
  const port = env[portVar] ? Number(env[portVar]) : await freePort();
  const childEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...(options.inheritEnv === false ? { PATH: process.env.PATH } : process.env), ...env })) {
    if (v !== undefined) childEnv[k] = v;
  }
  childEnv[portVar] = String(port);
  // The replica name, unless the caller names the instance itself (an inherited value would be wrong).
  if (!env.SERVICE_INSTANCE) childEnv.SERVICE_INSTANCE = name;

  const dir = logDirFor(options);
  mkdirSync(dir, { recursive: true });
  const logFile = join(dir, `${name}.log`);
  // The child writes straight into the file (no pipe through this process): logs stay complete even
  // when this process is busy or dies first.
  const fd = openSync(logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(process.execPath, [main], { cwd: options.cwd ?? WORKSPACE_ROOT, env: childEnv, stdio: ['ignore', fd, fd] });
  } finally {
    closeSync(fd);
  }
  let exit: ProcessExit | undefined;
  const exited = new Promise<ProcessExit>((resolveExit) => {
    child.once('exit', (code, signal) => {
      exit = { code, signal };
      resolveExit(exit);
    });
    child.once('error', () => {
      exit ??= { code: null, signal: null };
      resolveExit(exit);
    });
  });
  const logs = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');
  const stop = async (signal: NodeJS.Signals = 'SIGTERM', graceMs = 10_000): Promise<ProcessExit> => {
    if (exit) return exit;
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    try {
      return await exited;
    } finally {
      clearTimeout(timer);
    }
  };
  const service: ServiceProcess = {
    app,
    name,
    pid: child.pid ?? -1,
    port,
    url: `http://127.0.0.1:${port}`,
    logFile,
    env: childEnv,
    process: child,
    exited,
    get running() {
      return exit === undefined;
    },
    get exit() {
      return exit;
    },
    logs,
    tail: (lines = 30) => tailText(logs(), lines),
    stop,
    kill: () => stop('SIGKILL', 0),
  };

  const healthUrl = `${service.url}${APP_HEALTH_PATH[app]}`;
  const timeoutMs = options.healthTimeoutMs ?? 60_000;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (exit) {
      throw new ServiceStartError(
        `${name} exited (${exit.signal ?? `code ${exit.code}`}) before it was healthy; log ${logFile}:\n${service.tail()}`,
        logFile,
      );
    }
    try {
      if (await probeHealth(healthUrl)) return service;
    } catch (error) {
      lastError = error;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await stop('SIGKILL', 0);
  throw new ServiceStartError(`${name} was not healthy at ${healthUrl} within ${timeoutMs} ms; log ${logFile}:\n${service.tail()}`, logFile, {
    cause: lastError,
  });
}

/** Stops many at once (each SIGTERM, SIGKILL after the grace period). */
export async function stopAll(services: ServiceProcess[], graceMs = 10_000): Promise<void> {
  await Promise.all(services.map((s) => s.stop('SIGTERM', graceMs)));
}
