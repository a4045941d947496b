/**
 * A lock file shared by processes on one machine: jest runs spec files in parallel worker
 * processes, and those that add SoftHSM2 tokens to one shared configuration must not run
 * `softhsm2-util --init-token --free` at the same moment (they race for the free slot). The lock is
 * `open(path, 'wx')` with the holder's pid inside; a holder that died (kill -0 fails) is taken over,
 * so a crashed worker never blocks the others. Waits are bounded.
 */
import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';

export class FileLockTimeoutError extends Error {
  override name = 'FileLockTimeoutError';
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function holderAlive(path: string): boolean {
  let pid: number;
  try {
    pid = Number(readFileSync(path, 'utf8').trim());
  } catch {
    return false; // gone between our open and this read: try again
  }
  if (!Number.isInteger(pid) || pid <= 0) return false; // half-written or garbage: a holder writes its pid at once
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'; // alive, owned by someone else
  }
}

function tryAcquire(path: string): boolean {
  try {
    const fd = openSync(path, 'wx');
    writeSync(fd, String(process.pid));
    closeSync(fd);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return false;
  }
}

function mayTakeOver(path: string, state: { seenDeadAt?: number }): boolean {
  if (holderAlive(path)) {
    state.seenDeadAt = undefined;
    return false;
  }
  // An empty file may be a holder between open and write: taken over only if it stays so.
  state.seenDeadAt ??= Date.now();
  if (Date.now() - state.seenDeadAt <= 200) return false;
  rmSync(path, { force: true });
  state.seenDeadAt = undefined;
  return true;
}

function timeoutError(path: string, timeoutMs: number): FileLockTimeoutError {
  let holder = '?';
  try {
    holder = readFileSync(path, 'utf8').trim() || '?';
  } catch {
    // released meanwhile
  }
  return new FileLockTimeoutError(`lock ${path} still held after ${timeoutMs} ms (by pid ${holder})`);
}

/** Runs `fn` holding the lock file `path` (created, then removed). */
export async function withFileLock<T>(path: string, fn: () => Promise<T>, options: { timeoutMs?: number; pollMs?: number } = {}): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 120_000;
  const deadline = Date.now() + timeoutMs;
  const state: { seenDeadAt?: number } = {};
  while (!tryAcquire(path)) {
    if (mayTakeOver(path, state)) continue;
    if (Date.now() > deadline) throw timeoutError(path, timeoutMs);
    await sleep(options.pollMs ?? 20);
  }
  try {
    return await fn();
  } finally {
    rmSync(path, { force: true });
  }
}

/** {@link withFileLock} for synchronous code (an afterAll cleanup): waits with Atomics.wait. */
export function withFileLockSync<T>(path: string, fn: () => T, options: { timeoutMs?: number; pollMs?: number } = {}): T {
  const timeoutMs = options.timeoutMs ?? 120_000;
  const deadline = Date.now() + timeoutMs;
  const state: { seenDeadAt?: number } = {};
  const pause = new Int32Array(new SharedArrayBuffer(4));
  while (!tryAcquire(path)) {
    if (mayTakeOver(path, state)) continue;
    if (Date.now() > deadline) throw timeoutError(path, timeoutMs);
    Atomics.wait(pause, 0, 0, options.pollMs ?? 20);
  }
  try {
    return fn();
  } finally {
    rmSync(path, { force: true });
  }
}
