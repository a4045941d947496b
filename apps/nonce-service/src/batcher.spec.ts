import { Batcher } from './batcher';

describe('Batcher', () => {
  it('runs a lone request at once, then coalesces everything that queues up behind a running batch', async () => {
    const batches: string[][] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const batcher = new Batcher<string, string>(async (items) => {
      batches.push(items);
      if (batches.length === 1) await gate;
      return items.map((i) => i.toUpperCase());
    }, 3);
    const first = batcher.submit('a');
    await Promise.resolve();
    // No timer: the lone request is already running.
    expect(batches).toEqual([['a']]);
    const rest = ['b', 'c', 'd', 'e'].map((x) => batcher.submit(x));
    expect(batcher.queued).toBe(4);
    release();
    expect(await Promise.all([first, ...rest])).toEqual(['A', 'B', 'C', 'D', 'E']);
    // b..e waited behind "a": one batch of at most 3, then the remainder.
    expect(batches).toEqual([['a'], ['b', 'c', 'd'], ['e']]);
    expect(batcher.queued).toBe(0);
  });

  it('sends the requests submitted in one synchronous run (one NATS batch message) as one batch', async () => {
    const batches: number[][] = [];
    const batcher = new Batcher<number, number>(async (items) => {
      batches.push(items);
      return items;
    }, 100);
    expect(await Promise.all([1, 2, 3, 4].map((n) => batcher.submit(n)))).toEqual([1, 2, 3, 4]);
    expect(batches).toEqual([[1, 2, 3, 4]]);
    // Idle again: the next request runs alone, at once.
    expect(await batcher.submit(5)).toBe(5);
    expect(batches).toEqual([[1, 2, 3, 4], [5]]);
  });

  it('rejects only the items that failed, or the whole batch when the batch fails', async () => {
    let fail = false;
    const batcher = new Batcher<number, number>(async (items) => {
      if (fail) throw new Error('database down');
      return items.map((i) => (i < 0 ? new Error(`bad ${i}`) : i * 2));
    }, 10);
    const results = await Promise.allSettled([batcher.submit(1), batcher.submit(-1)]);
    expect(results).toEqual([
      { status: 'fulfilled', value: 2 },
      { status: 'rejected', reason: new Error('bad -1') },
    ]);
    fail = true;
    await expect(batcher.submit(3)).rejects.toThrow('database down');
    fail = false;
    await expect(batcher.submit(4)).resolves.toBe(8);
  });
});
