/**
 * Request coalescing for one replica (research/nonce-and-lifecycle.md §7.3, §7.5): while one batch
 * is in flight, requests queue up, and the next batch takes everything queued (up to `maxBatch`).
 * At low load a request runs at once (no timer, no added latency: the batch starts in a microtask,
 * so requests submitted in the same synchronous run — one NATS batch message — go out together);
 * under load one replica keeps at most one batch in flight, whatever the mix of accounts, so the
 * batches grow with the load instead of the statements multiplying.
 */
export class Batcher<I, O> {
  private queue: { item: I; resolve: (o: O) => void; reject: (e: unknown) => void }[] = [];
  private running = false;

  constructor(
    /** Runs one batch; returns one result (or Error, rejected to that caller alone) per item, in order. */
    private readonly runBatch: (items: I[]) => Promise<(O | Error)[]>,
    private readonly maxBatch: number,
  ) {}

  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (!this.running) {
        this.running = true;
        queueMicrotask(() => void this.drain());
      }
    });
  }

  /** Requests waiting for the next batch (for tests and metrics). */
  get queued(): number {
    return this.queue.length;
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      try {
        const results = await this.runBatch(batch.map((b) => b.item));
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
    this.running = false;
  }
}
