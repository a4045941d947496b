import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileLockTimeoutError, withFileLock, withFileLockSync } from './file-lock';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('withFileLock (lock file shared by processes)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'file-lock-'));

  it('runs holders one after another and removes the lock file', async () => {
    const lock = join(dir, 'a.lock');
    const trace: string[] = [];
    const holder = (name: string) =>
      withFileLock(lock, async () => {
        trace.push(`${name}+`);
        await sleep(30);
        trace.push(`${name}-`);
      });
    await Promise.all([holder('x'), holder('y'), holder('z')]);
    // Never two inside at once: every entry is followed by its own exit.
    for (let i = 0; i < trace.length; i += 2) expect(trace[i + 1]).toBe(trace[i].replace('+', '-'));
    expect(existsSync(lock)).toBe(false);
  });

  it('waits for a holder in another process', async () => {
    const lock = join(dir, 'b.lock');
    // A child process takes the lock and keeps it for 300 ms.
    const released = join(dir, 'b.released');
    const code = `const fs = require('fs'); fs.writeFileSync(${JSON.stringify(lock)}, String(process.pid), { flag: 'wx' }); setTimeout(() => { fs.writeFileSync(${JSON.stringify(released)}, ''); fs.rmSync(${JSON.stringify(lock)}); process.exit(0); }, 300);`;
    const child = spawn(process.execPath, ['-e', code], { stdio: 'ignore' });
    for (let i = 0; i < 200 && !existsSync(lock); i++) await sleep(10);
    expect(existsSync(lock)).toBe(true);
    let childExited = false;
    child.once('exit', () => (childExited = true));
    await withFileLock(lock, async () => {
      // Only after the child let go: it marks the release just before it removes the lock file.
      expect(existsSync(released)).toBe(true);
    });
    for (let i = 0; i < 200 && !childExited; i++) await sleep(10);
    expect(childExited).toBe(true);
  });

  it('takes over the lock of a holder that died', async () => {
    const lock = join(dir, 'c.lock');
    writeFileSync(lock, '2147483646'); // a pid that is not running
    await expect(withFileLock(lock, async () => 'ran', { timeoutMs: 2_000 })).resolves.toBe('ran');
  });

  it('gives up after the timeout while a live holder keeps it', async () => {
    const lock = join(dir, 'd.lock');
    writeFileSync(lock, String(process.pid)); // this process: alive
    await expect(withFileLock(lock, async () => 'ran', { timeoutMs: 150 })).rejects.toBeInstanceOf(FileLockTimeoutError);
  });
});

describe('withFileLockSync', () => {
  it('runs when free, takes over a dead holder, removes the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'file-lock-sync-'));
    const lock = join(dir, 'e.lock');
    expect(withFileLockSync(lock, () => 1)).toBe(1);
    writeFileSync(lock, '2147483646');
    expect(withFileLockSync(lock, () => 2, { timeoutMs: 2_000 })).toBe(2);
    expect(existsSync(lock)).toBe(false);
  });

  it('gives up after the timeout while a live holder keeps it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'file-lock-sync-'));
    const lock = join(dir, 'f.lock');
    writeFileSync(lock, String(process.pid));
    expect(() => withFileLockSync(lock, () => 3, { timeoutMs: 100 })).toThrow(FileLockTimeoutError);
  });
});
