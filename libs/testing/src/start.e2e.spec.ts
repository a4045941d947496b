import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { castBinary } from './anvil';
import { READY_LINE } from './dev-stack';
import { startNatsServer, type NatsServer } from './nats';
import { freePort, waitFor } from './ports';
import { createTestDatabase, type TestDatabase } from './postgres';
import { commandLine, descendantPids, isAlive } from './proc-tree';
import { WORKSPACE_ROOT } from './process';

const run = promisify(execFile);

// `npm start` exactly as a user runs it (node scripts/start.mjs: ensure-env, the nx build, the stack), on
// other ports, a temp data dir, a database and a NATS of its own so it never meets another stack.
describe('npm start', () => {
  let child: ChildProcess | undefined;
  let exited: Promise<number | null>;
  let nats: NatsServer | undefined;
  let db: TestDatabase | undefined;
  let output = '';
  let tree: number[] = [];
  const dataDir = mkdtempSync(join(tmpdir(), 'npm-start-spec-'));
  const ports = { RPC_PORT: 0, REST_PORT: 0, ANVIL_PORT: 0, NONCE_HTTP_PORT: 0, DISCOVERY_HTTP_PORT: 0, SIGNER_HTTP_PORT: 0 };

  beforeAll(async () => {
    nats = await startNatsServer({ jetstream: true });
    db = await createTestDatabase();
    for (const key of Object.keys(ports) as (keyof typeof ports)[]) ports[key] = await freePort();
    const env = {
      ...process.env,
      ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])),
      HSM_DATA_DIR: dataDir,
      DATABASE_URL: db.url,
      NATS_URL: nats.url,
      DISCOVERY_POLL_INTERVAL_MS: '500',
    };
    const started = spawn(process.execPath, [join(WORKSPACE_ROOT, 'scripts', 'start.mjs')], { cwd: WORKSPACE_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    child = started;
    started.stdout!.on('data', (d) => (output += String(d)));
    started.stderr!.on('data', (d) => (output += String(d)));
    exited = new Promise((resolve) => started.once('exit', (code) => resolve(code)));
    // ensure-env and the nx build come first: seconds when dist/ is current (nx cache), as under npm test.
    await waitFor(
      'the ready banner',
      async () => {
        if (started.exitCode !== null) throw new Error(`npm start exited with ${started.exitCode}`);
        return output.includes(READY_LINE) && output.includes('Ctrl-C stops everything.');
      },
      170_000,
      200,
    ).catch((error: Error) => {
      throw new Error(`${error.message}\n--- output so far:\n${output}`);
    });
  }, 180_000);

  afterAll(async () => {
    // Only if a test failed half-way: stop npm start the way a user would, then make sure nothing of
    // ours outlives the test (the stack runs in its own process group, so look at the whole tree).
    if (child?.pid && isAlive(child.pid)) {
      tree = [...new Set([...tree, ...descendantPids(child.pid)])];
      child.kill('SIGINT');
      await waitFor('npm start to stop', async () => !isAlive(child!.pid!), 30_000).catch(() => undefined);
    }
    for (const pid of [child?.pid, ...tree]) if (pid && isAlive(pid)) process.kill(pid, 'SIGKILL');
    await nats?.stop();
    await db?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  }, 60_000);

  it('prints the endpoints on the ports it was given', () => {
    expect(output).toContain(`JSON-RPC    http://127.0.0.1:${ports.RPC_PORT}`);
    expect(output).toContain(`REST        http://127.0.0.1:${ports.REST_PORT}`);
    expect(output).toContain(`dev chain   http://127.0.0.1:${ports.ANVIL_PORT}`);
  });

  it('its printed cast example sends a transaction from the HSM account', async () => {
    // The printed example, word for word; only `npx cast` becomes the bundled binary's path.
    const castLine = /^\s*npx cast (send .*)$/m.exec(output);
    expect(castLine).not.toBeNull();
    const args = castLine![1]!.trim().split(/\s+/);
    const from = args[args.indexOf('--from') + 1]!;
    const { stdout } = await run(castBinary(), args, { timeout: 90_000 });
    const hash = /transactionHash\s+(0x[0-9a-f]{64})/.exec(stdout)?.[1];
    expect(hash).toBeDefined();
    expect(stdout).toMatch(/status\s+1 \(success\)/);
    const receipt = await fetch(`http://127.0.0.1:${ports.ANVIL_PORT}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_getTransactionReceipt', params: [hash] }),
    }).then((r) => r.json() as Promise<{ result: { status: string; from: string } }>);
    expect(receipt.result.status).toBe('0x1');
    expect(receipt.result.from).toBe(from.toLowerCase());
  }, 120_000);

  it('SIGINT stops every process it started', async () => {
    // Every process npm start started: the stack runner, the five services, anvil.
    tree = descendantPids(child!.pid!);
    const commands = tree.map(commandLine);
    for (const app of ['rpc-gateway', 'rest-gateway', 'nonce-service', 'key-discovery', 'signer-service']) {
      expect(commands.some((c) => c.includes(`dist/${app}/apps/${app}/src/main.js`))).toBe(true);
    }
    expect(commands.some((c) => /\/anvil\b/.test(c))).toBe(true);

    child!.kill('SIGINT');
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([exited, new Promise((r) => (timer = setTimeout(() => r('timeout'), 60_000)))]).finally(() => clearTimeout(timer));
    expect(code).toBe(0);
    expect(output).toContain('start: stopped');
    await waitFor('every child process gone', async () => tree.every((pid) => !isAlive(pid)), 10_000).catch(() => undefined);
    expect(tree.filter(isAlive).map((pid) => `${pid} ${commandLine(pid)}`)).toEqual([]);
  }, 90_000);
});
