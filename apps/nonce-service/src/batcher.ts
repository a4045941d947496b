/**
 * Per-key request coalescing (research/nonce-and-lifecycle.md §7.3, §7.5): while one batch for a
 * key is in flight, requests for the same key queue up and go out together as the next batch. At
 * low load a request runs at once (no timer, no added latency); under load one replica keeps at
 * most one statement per account in flight, so a hot account's row lock sees at most one waiter per
 * replica instead of one per request.
 */
export class KeyedBatcher<I, O> {
  private readonly queues = new Map<string, { items: { item: I; resolve: (o: O) => void; reject: (e: unknown) => void }[]; running: boolean }>();

  constructor(
    /** Runs one batch; returns one result (or Error, rejected to that caller alone) per item, in order. */
    private readonly runBatch: (key: string, items: I[]) => Promise<(O | Error)[]>,
    private readonly maxBatch: number,
  ) {}

  submit(key: string, item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      let queue = this.queues.get(key);
      if (!queue) {
        queue = { items: [], running: false };
        this.queues.set(key, queue);
      }
      queue.items.push({ item, resolve, reject });
      if (!queue.running) void this.drain(key, queue);
    });
  }

  /** Keys with queued or running work (for tests and metrics). */
  get activeKeys(): number {
    return this.queues.size;
  }

  private async drain(key: string, queue: { items: { item: I; resolve: (o: O) => void; reject: (e: unknown) => void }[]; running: boolean }) {
    queue.running = true;
    while (queue.items.length > 0) {
      const batch = queue.items.splice(0, this.maxBatch);
      try {
        const results = await this.runBatch(
          key,
          batch.map((b) => b.item),
        );
        batch.forEach((b, i) => {
          const r = results[i];
          if (r instanceof Error) b.reject(r);
          else if (r === undefined) b.reject(new Error(`batch returned no result for item ${i}`));
          else b.resolve(r);
        });
      } catch (error) {
        for (const b of batch) b.reject(error);
      }
    }
    queue.running = false;
    this.queues.delete(key);
  }
}
