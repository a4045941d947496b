import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { APP_PORT_ENV, appMainPath, ServiceStartError, startService, type ServiceProcess } from './process';

// A stand-in for a built app: a real child process with an HTTP port from the same env var, whose
// behaviour (delay before healthy, early exit, ignoring SIGTERM) is chosen by env. It tests the process
// handling itself; the real apps are started by stack.spec.ts and start.e2e.spec.ts.
const dir = mkdtempSync(join(tmpdir(), 'process-spec-'));
const script = join(dir, 'fake-app.js');
writeFileSync(
  script,
  `
const http = require('node:http');
const port = Number(process.env.${APP_PORT_ENV['signer-service']});
console.log('fake app starting as ' + process.env.SERVICE_INSTANCE + ' with SECRET_SETTING=' + (process.env.SECRET_SETTING ? 'set' : 'unset'));
if (process.env.FAKE_EXIT) { console.error('fatal: config invalid'); process.exit(Number(process.env.FAKE_EXIT)); }
if (process.env.FAKE_IGNORE_TERM) process.on('SIGTERM', () => console.log('ignoring SIGTERM'));
else process.on('SIGTERM', () => { console.log('shutting down'); server.close(() => process.exit(0)); });
const healthyAt = Date.now() + Number(process.env.FAKE_DELAY_MS || 0);
const server = http.createServer((req, res) => {
  const ok = req.url === '/health' && !process.env.FAKE_NEVER_HEALTHY && Date.now() >= healthyAt;
  res.writeHead(ok ? 200 : 503).end(ok ? '{"ok":true}' : 'not yet');
});
server.listen(port, '127.0.0.1');
`,
);

const started: ServiceProcess[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((s) => s.kill()));
});
const start = async (env: Record<string, string>, options: { healthTimeoutMs?: number; replicaName?: string } = {}) => {
  const s = await startService('signer-service', env, { main: script, logDir: dir, ...options });
  started.push(s);
  return s;
};

describe('startService', () => {
  it('resolves once the health endpoint answers 200, with the log captured in a file', async () => {
    const s = await start({ FAKE_DELAY_MS: '300', SECRET_SETTING: 'x' }, { replicaName: 'signer-a' });
    expect(s.running).toBe(true);
    expect(s.name).toBe('signer-a');
    expect(s.url).toBe(`http://127.0.0.1:${s.port}`);
    const res = await fetch(`${s.url}/health`);
    expect(res.status).toBe(200);
    expect(s.logFile).toBe(join(dir, 'signer-a.log'));
    expect(s.logs()).toContain('fake app starting as signer-a with SECRET_SETTING=set');
  });

  it('stop() sends SIGTERM and waits for the exit', async () => {
    const s = await start({});
    const exit = await s.stop();
    expect(exit).toEqual({ code: 0, signal: null });
    expect(s.running).toBe(false);
    expect(s.logs()).toContain('shutting down');
    await expect(fetch(`${s.url}/health`)).rejects.toThrow();
  });

  it('stop() falls back to SIGKILL after the grace period', async () => {
    const s = await start({ FAKE_IGNORE_TERM: '1' });
    const exit = await s.stop('SIGTERM', 300);
    expect(exit.signal).toBe('SIGKILL');
    expect(s.logs()).toContain('ignoring SIGTERM');
  });

  it('kill() is a SIGKILL crash and the exit is tracked', async () => {
    const s = await start({});
    await s.kill();
    expect(s.exit).toEqual({ code: null, signal: 'SIGKILL' });
    await expect(s.exited).resolves.toEqual({ code: null, signal: 'SIGKILL' });
  });

  it('fails fast with the last log lines when the app exits before it is healthy', async () => {
    const t0 = Date.now();
    const error = await startService('signer-service', { FAKE_EXIT: '3' }, { main: script, logDir: dir, healthTimeoutMs: 20_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServiceStartError);
    expect((error as Error).message).toMatch(/exited \(code 3\) before it was healthy/);
    expect((error as Error).message).toContain('fatal: config invalid');
    expect(Date.now() - t0).toBeLessThan(10_000);
  });

  it('times out with the log tail when the app never becomes healthy, and kills it', async () => {
    const error = (await startService('signer-service', { FAKE_NEVER_HEALTHY: '1' }, { main: script, logDir: dir, healthTimeoutMs: 800 }).catch(
      (e: unknown) => e,
    )) as ServiceStartError;
    expect(error).toBeInstanceOf(ServiceStartError);
    expect(error.message).toMatch(/was not healthy at http:\/\/127\.0\.0\.1:\d+\/health within 800 ms/);
    expect(error.message).toContain('fake app starting');
    const port = Number(/127\.0\.0\.1:(\d+)/.exec(error.message)![1]);
    await expect(fetch(`http://127.0.0.1:${port}/health`)).rejects.toThrow();
  });

  it('refuses an app that is not built, naming the build command', async () => {
    await expect(startService('signer-service', {}, { main: join(dir, 'missing.js') })).rejects.toThrow(/is not built.*nx run signer-service:build/);
    expect(appMainPath('rpc-gateway')).toMatch(/dist\/rpc-gateway\/apps\/rpc-gateway\/src\/main\.js$/);
  });
});
