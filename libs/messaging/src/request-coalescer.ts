import { MAX_BATCH_ITEMS } from '@hsm-signer/contracts';

interface Waiter<Req, Rep> {
  item: Req;
  resolve: (reply: Rep) => void;
  reject: (error: unknown) => void;
}

/**
 * Gathers the requests made during one event-loop turn and sends them as one batch when the turn
 * ends (setImmediate): at concurrency 1 a request leaves at once, with no timer and no added
 * latency; under load, every request that arrived while the loop was busy shares one message.
 * `send` returns one result per item (a reply, or an Error for that item alone); if it throws, every
 * item of that batch gets the error.
 */
export class RequestCoalescer<Req, Rep> {
  private queue: Waiter<Req, Rep>[] = [];
  private scheduled = false;

  constructor(
    private readonly send: (items: Req[]) => Promise<Array<Rep | Error>>,
    private readonly maxItems = MAX_BATCH_ITEMS,
  ) {}

  submit(item: Req): Promise<Rep> {
    return new Promise<Rep>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const queued = this.queue;
    this.queue = [];
    for (let i = 0; i < queued.length; i += this.maxItems) void this.sendBatch(queued.slice(i, i + this.maxItems));
  }

  private async sendBatch(batch: Waiter<Req, Rep>[]): Promise<void> {
    let results: Array<Rep | Error>;
    try {
      results = await this.send(batch.map((w) => w.item));
    } catch (error) {
      for (const w of batch) w.reject(error);
      return;
    }
    batch.forEach((w, i) => {
      const r = results[i];
      if (r instanceof Error) w.reject(r);
      else w.resolve(r);
    });
  }
}
