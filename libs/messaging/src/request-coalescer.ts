import { MAX_BATCH_ITEMS } from '@hsm-signer/contracts';

interface Waiter<Req, Rep> {
  item: Req;
  resolve: (reply: Rep) => void;
  reject: (error: unknown) => void;
}

export interface RequestCoalescerOptions {
  /** Most items in one batch (default MAX_BATCH_ITEMS). */
  maxItems?: number;
  /**
   * Most batches on their way at once (default 1). Requests made while that many are out wait for
   * one to come back and then leave together: under load a batch grows to what the other side can
   * take in one round trip, so the number of messages (each a socket write on both sides, the
   * largest CPU cost measured in the gateway) follows the responder's pace, not the request rate.
   * 1 rather than 2: bench/nonce-storm.ts A/B on rpc-gateway, 8 alternating runs, +10 % tx/s at
   * concurrency 64 (one account and 100), −15 % CPU per transaction in the gateway and the signer,
   * p50 at concurrency 8 unchanged (bench/README.md, session 6). At concurrency 1 nothing waits.
   */
  maxInFlight?: number;
  /**
   * Longest a request waits for an in-flight batch before it leaves anyway (default 20 ms), so a
   * frozen responder holding the in-flight batches delays the others by this much, not by its timeout.
   */
  maxHoldMs?: number;
}

/**
 * Gathers requests into batches. A batch leaves when the event-loop turn in which its first request
 * was made ends (setImmediate) — at concurrency 1 at once, with no timer and no added latency —
 * unless `maxInFlight` batches are already out; then it leaves as soon as one of them is answered.
 * `send` returns one result per item (a reply, or an Error for that item alone); if it throws, every
 * item of that batch gets the error.
 */
export class RequestCoalescer<Req, Rep> {
  private queue: Waiter<Req, Rep>[] = [];
  private scheduled = false;
  private inFlight = 0;
  private holdTimer?: NodeJS.Timeout;
  private readonly maxItems: number;
  private readonly maxInFlight: number;
  private readonly maxHoldMs: number;

  constructor(
    private readonly send: (items: Req[]) => Promise<Array<Rep | Error>>,
    options: RequestCoalescerOptions = {},
  ) {
    this.maxItems = options.maxItems ?? MAX_BATCH_ITEMS;
    this.maxInFlight = options.maxInFlight ?? 1;
    this.maxHoldMs = options.maxHoldMs ?? 20;
  }

  submit(item: Req): Promise<Rep> {
    return new Promise<Rep>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.queue.length === 0) return;
    if (this.inFlight >= this.maxInFlight) {
      this.holdTimer ??= setTimeout(() => {
        this.holdTimer = undefined;
        this.flush(Infinity);
      }, this.maxHoldMs);
      return;
    }
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.flush(this.maxInFlight);
    });
  }

  private flush(limit: number): void {
    if (this.holdTimer && this.inFlight < limit) {
      clearTimeout(this.holdTimer);
      this.holdTimer = undefined;
    }
    while (this.queue.length > 0 && this.inFlight < limit) void this.sendBatch(this.queue.splice(0, this.maxItems));
  }

  private async sendBatch(batch: Waiter<Req, Rep>[]): Promise<void> {
    this.inFlight++;
    let results: Array<Rep | Error> | undefined;
    let failure: unknown;
    try {
      results = await this.send(batch.map((w) => w.item));
    } catch (error) {
      failure = error;
    }
    this.inFlight--;
    this.schedule();
    if (!results) {
      for (const w of batch) w.reject(failure);
      return;
    }
    batch.forEach((w, i) => {
      const r = results[i];
      if (r instanceof Error) w.reject(r);
      else w.resolve(r);
    });
  }
}
