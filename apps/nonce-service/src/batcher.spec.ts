import { KeyedBatcher } from './batcher';

describe('KeyedBatcher', () => {
  it('runs a lone request at once, then coalesces what queues up behind a running batch', async () => {
    const batches: string[][] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const batcher = new KeyedBatcher<string, string>(async (key, items) => {
      batches.push([key, ...items]);
      if (batches.length === 1) await gate;
      return items.map((i) => i.toUpperCase());
    }, 3);
    const first = batcher.submit('k', 'a');
    const rest = ['b', 'c', 'd', 'e'].map((x) => batcher.submit('k', x));
    const other = batcher.submit('other', 'z');
    await Promise.resolve();
    expect(batches).toEqual([['k', 'a'], ['other', 'z']]);
    release();
    expect(await Promise.all([first, ...rest, other])).toEqual(['A', 'B', 'C', 'D', 'E', 'Z']);
    // b..e waited behind "a": one batch of at most 3, then the remainder.
    expect(batches).toEqual([['k', 'a'], ['other', 'z'], ['k', 'b', 'c', 'd'], ['k', 'e']]);
    expect(batcher.activeKeys).toBe(0);
  });

  it('rejects only the items that failed, or the whole batch when the batch fails', async () => {
    let fail = false;
    const batcher = new KeyedBatcher<number, number>(async (_key, items) => {
      if (fail) throw new Error('database down');
      return items.map((i) => (i < 0 ? new Error(`bad ${i}`) : i * 2));
    }, 10);
    const results = await Promise.allSettled([batcher.submit('k', 1), batcher.submit('k', -1)]);
    expect(results).toEqual([
      { status: 'fulfilled', value: 2 },
      { status: 'rejected', reason: new Error('bad -1') },
    ]);
    fail = true;
    await expect(batcher.submit('k', 3)).rejects.toThrow('database down');
    fail = false;
    await expect(batcher.submit('k', 4)).resolves.toBe(8);
  });
});
