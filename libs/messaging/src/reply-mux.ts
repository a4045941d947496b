import { createInbox, ErrorCode, NatsError, type Msg, type MsgHdrs, type NatsConnection, type Subscription } from 'nats';

interface Pending {
  resolve: (msg: Msg) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

/**
 * Request/reply over ONE wildcard inbox subscription, as nats.js's own request() does, without its
 * per-request cost: nats.js builds a `NatsError` (stack trace included) for every request that
 * SUCCEEDS (RequestOne.resolver → cancel() → errorForCode(Cancelled), rejecting a deferred that is
 * already resolved). bench/nats-hop.ts profile: ~8 % of a requester's busy time at concurrency 1,
 * ≈ 90 µs per request on an idle process; 2 % of rpc-gateway's CPU under the nonce storm.
 *
 * Same outcomes as nats.js's request(): the reply, or a NatsError with its codes — NoResponders
 * (the server's 503 status message, NATS 2.2+), Timeout, ConnectionClosed — so callers translate
 * errors as before.
 */
export class ReplyMux {
  private readonly prefix = `${createInbox()}.`;
  private readonly pending = new Map<string, Pending>();
  private subscription?: Subscription;
  private seq = 0;

  constructor(private readonly connection: NatsConnection) {
    // Requests still waiting when the connection ends get an answer now, not at their timeout.
    void connection.closed().then(() => this.rejectAll(NatsError.errorForCode(ErrorCode.ConnectionClosed)));
  }

  /**
   * The first reply to `data` on `subject` (sent with `headers`, if any), or a NatsError
   * (NoResponders, Timeout, ConnectionClosed / Draining).
   */
  request(subject: string, data: Uint8Array, timeoutMs: number, headers?: MsgHdrs): Promise<Msg> {
    if (this.connection.isClosed()) return Promise.reject(NatsError.errorForCode(ErrorCode.ConnectionClosed));
    // Subscribed on first use: the SUB goes out ahead of the PUB on the same connection.
    this.subscription ??= this.connection.subscribe(`${this.prefix}*`, { callback: (error, msg) => this.onReply(error, msg) });
    const token = (++this.seq).toString(36);
    return new Promise<Msg>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(token);
        reject(NatsError.errorForCode(ErrorCode.Timeout));
      }, timeoutMs);
      this.pending.set(token, { resolve, reject, timer });
      try {
        this.connection.publish(subject, data, { reply: this.prefix + token, headers });
      } catch (error) {
        // Closed or draining between the check and now: nats.js throws a NatsError with that code.
        this.settle(token)?.reject(error instanceof Error ? error : new Error(String(error)));
      }
    });
  }

  /** Drops the inbox subscription; requests still waiting get ConnectionClosed. A later request subscribes again. */
  close(): void {
    this.subscription?.unsubscribe();
    this.subscription = undefined;
    this.rejectAll(NatsError.errorForCode(ErrorCode.ConnectionClosed));
  }

  /** Requests waiting for their reply (tests, metrics). */
  get size(): number {
    return this.pending.size;
  }

  private onReply(error: NatsError | null, msg: Msg): void {
    if (error) {
      // The inbox subscription itself failed (permissions, closed): no waiting request can be answered.
      this.rejectAll(error);
      return;
    }
    const waiter = this.settle(msg.subject.slice(this.prefix.length));
    if (!waiter) return; // timed out already, or a second reply
    // The server's "no responders" status: an empty message with a 503 header (as nats.js isRequestError).
    if (msg.data.length === 0 && msg.headers?.code === 503) waiter.reject(NatsError.errorForCode(ErrorCode.NoResponders));
    else waiter.resolve(msg);
  }

  private settle(token: string): Pending | undefined {
    const waiter = this.pending.get(token);
    if (!waiter) return undefined;
    this.pending.delete(token);
    clearTimeout(waiter.timer);
    return waiter;
  }

  private rejectAll(error: Error): void {
    for (const token of [...this.pending.keys()]) this.settle(token)?.reject(error);
  }
}
