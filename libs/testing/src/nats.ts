import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitFor } from './ports';

/** Debian's nats-server (package `nats-server`); see shared/services.md. */
export const NATS_SERVER_BINARY = '/usr/sbin/nats-server';

/** The NATS every service uses by default: NATS_URL, else the local server on 4222. */
export function sharedNatsUrl(): string {
  return process.env.NATS_URL || 'nats://127.0.0.1:4222';
}

export interface NatsServerOptions {
  /** Default: a free port. Pass a previous server's port to restart "the same" server. */
  port?: number;
  /** Enable JetStream with a store dir of its own (default false). */
  jetstream?: boolean;
  /** JetStream store dir; default a fresh temp dir, removed on stop. */
  storeDir?: string;
}

export interface NatsServer {
  url: string;
  port: number;
  process: ChildProcess;
  storeDir?: string;
  /** SIGTERM, wait for the exit, remove the temp store dir. */
  stop(): Promise<void>;
  /** SIGKILL (a crash); keeps the store dir. */
  kill(): Promise<void>;
}

/** Resolves true once something on host:port speaks the NATS protocol (the server greets with INFO). */
export function natsAnswers(host: string, port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    let buffer = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.on('data', (chunk) => {
      buffer += String(chunk);
      if (buffer.startsWith('INFO')) done(true);
      else if (buffer.length > 4) done(false);
    });
    socket.on('error', () => done(false));
  });
}

/** Starts a private nats-server on 127.0.0.1 (about 20 ms), so tests never share subjects with others. */
export async function startNatsServer(options: NatsServerOptions = {}): Promise<NatsServer> {
  if (!existsSync(NATS_SERVER_BINARY)) throw new Error(`${NATS_SERVER_BINARY} not found (apt-get install -y nats-server)`);
  const port = options.port ?? (await freePort());
  const args = ['-a', '127.0.0.1', '-p', String(port)];
  let storeDir: string | undefined;
  const ownStore = options.jetstream && !options.storeDir;
  if (options.jetstream) {
    storeDir = options.storeDir ?? mkdtempSync(join(tmpdir(), 'hsm-nats-'));
    args.push('-js', '-sd', storeDir);
  }
  const child = spawn(NATS_SERVER_BINARY, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d) => (stderr = (stderr + String(d)).slice(-4_000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const cleanup = () => {
    if (ownStore && storeDir) rmSync(storeDir, { recursive: true, force: true });
  };
  const signal = async (sig: NodeJS.Signals, removeStore: boolean) => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill(sig);
      await exited;
    }
    if (removeStore) cleanup();
  };
  try {
    await waitFor(
      `nats-server on ${port}`,
      async () => {
        if (child.exitCode !== null) throw new Error(`nats-server exited with ${child.exitCode}: ${stderr}`);
        return natsAnswers('127.0.0.1', port);
      },
      10_000,
      20,
    );
  } catch (error) {
    await signal('SIGKILL', true);
    throw error;
  }
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    process: child,
    storeDir,
    stop: () => signal('SIGTERM', true),
    kill: () => signal('SIGKILL', false),
  };
}
