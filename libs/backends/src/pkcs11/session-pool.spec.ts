import { SessionPool, SessionPoolClosedError } from './session-pool';

describe('SessionPool', () => {
  it('runs at most one operation per session and serves waiters in order', async () => {
    const pool = new SessionPool(['s1', 's2']);
    const active = new Set<string>();
    let maxConcurrent = 0;
    const order: number[] = [];
    await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        pool.use(async (s) => {
          expect(active.has(s)).toBe(false); // never two operations on one session
          active.add(s);
          maxConcurrent = Math.max(maxConcurrent, active.size);
          order.push(i);
          await new Promise((r) => setTimeout(r, 5));
          active.delete(s);
        }),
      ),
    );
    expect(maxConcurrent).toBe(2);
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(pool.inUse).toBe(0);
  });

  it('releases the session when the operation throws', async () => {
    const pool = new SessionPool(['s1']);
    await expect(pool.use(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(pool.use((s) => s)).resolves.toBe('s1');
  });

  it('close() fails waiters, waits for running operations, then refuses new work', async () => {
    const pool = new SessionPool(['s1']);
    let finished = false;
    const running = pool.use(async () => {
      await new Promise((r) => setTimeout(r, 30));
      finished = true;
    });
    const waiting = pool.use(() => 'never').catch((e: unknown) => e);
    await pool.close();
    expect(finished).toBe(true);
    await running;
    expect(await waiting).toBeInstanceOf(SessionPoolClosedError);
    await expect(pool.acquire()).rejects.toBeInstanceOf(SessionPoolClosedError);
  });
});
