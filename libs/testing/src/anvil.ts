import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, waitFor } from './ports';

/** anvil's well-known first dev account (funded with 10,000 ETH on every anvil chain). */
export const ANVIL_DEV_KEY = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80';
export const ANVIL_DEV_ADDRESS = '0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266';

export function anvilBinary(): string {
  const bin = join(require.resolve('@foundry-rs/anvil-linux-amd64/package.json'), '..', 'bin', 'anvil');
  if (!existsSync(bin)) throw new Error(`anvil binary not found at ${bin} (npm install @foundry-rs/anvil-linux-amd64)`);
  return bin;
}

export function castBinary(): string {
  const bin = join(require.resolve('@foundry-rs/cast-linux-amd64/package.json'), '..', 'bin', 'cast');
  if (!existsSync(bin)) throw new Error(`cast binary not found at ${bin} (npm install @foundry-rs/cast-linux-amd64)`);
  return bin;
}

export interface AnvilOptions {
  port?: number;
  chainId?: number;
  /** Interval mining in seconds; omit for automine. */
  blockTime?: number;
  noMining?: boolean;
  /** Extra CLI arguments (e.g. ['--hardfork', 'berlin'] for a chain without EIP-1559). */
  args?: string[];
}

export interface AnvilNode {
  url: string;
  port: number;
  chainId: number;
  process: ChildProcess;
  rpc<T = unknown>(method: string, params?: unknown[]): Promise<T>;
  stop(): Promise<void>;
}

/** Starts a real anvil dev chain and waits until it answers eth_chainId. */
export async function startAnvil(options: AnvilOptions = {}): Promise<AnvilNode> {
  const port = options.port ?? (await freePort());
  const chainId = options.chainId ?? 31337;
  const args = ['--port', String(port), '--chain-id', String(chainId), '--silent'];
  if (options.blockTime) args.push('--block-time', String(options.blockTime));
  if (options.noMining) args.push('--no-mining');
  args.push(...(options.args ?? []));
  const child = spawn(anvilBinary(), args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d) => (stderr += String(d)));
  const url = `http://127.0.0.1:${port}`;
  let id = 0;
  const rpc = async <T>(method: string, params: unknown[] = []): Promise<T> => {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: ++id, method, params }),
    });
    const body = (await res.json()) as { result?: T; error?: { message: string } };
    if (body.error) throw new Error(`${method}: ${body.error.message}`);
    return body.result as T;
  };
  try {
    await waitFor('anvil', async () => {
      if (child.exitCode !== null) throw new Error(`anvil exited: ${stderr}`);
      return (await rpc<string>('eth_chainId')) !== undefined;
    });
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return {
    url,
    port,
    chainId,
    process: child,
    rpc,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
