import { ServerNats, type NatsOptions, type WritePacket } from '@nestjs/microservices';
import type { NatsConnection, Subscription, SubscriptionOptions } from 'nats';
import type { Logger } from 'pino';
import type { Observable, Subscription as RxSubscription } from 'rxjs';
import { InFlight } from './in-flight';

/** How long the last flush of the replies may take: one round trip to a healthy NATS server. */
const FLUSH_TIMEOUT_MS = 1_000;

export interface NatsDrainOptions {
  /** The longest close() waits for requests in flight to be answered before it closes the connection. */
  timeoutMs: number;
  logger: Pick<Logger, 'debug' | 'info' | 'warn'>;
}

/**
 * Nest's NATS server with a true drain on close (replaces Nest's `gracefulShutdown`, which waits a
 * fixed `gracePeriod` after unsubscribing: every shutdown paid it even when idle, and a handler
 * slower than it had its reply dropped, so the caller waited out its whole request timeout).
 *
 * close(): 1. drain the subscriptions (UNSUB, then a round trip: requests the server routed here
 * before it saw the UNSUB are still delivered and handled; later ones go to the other replicas of
 * the queue group, or the caller gets "no responders" at once); 2. wait until every request received
 * has been handled and its reply published, at most `timeoutMs`; 3. flush, so the server has the
 * replies before the socket goes (nats.js close() destroys the socket without flushing); 4. close.
 * Idle, it waits for nothing but two round trips.
 *
 * Only public members of ServerNats are overridden (start, bindEvents, handleMessage, send, close,
 * getRouteFromPattern).
 */
export class DrainingNatsServer extends ServerNats {
  /** Requests from receipt until their handler settled (Nest's handleMessage). */
  private readonly requests = new InFlight();
  /** Replies from the handler's result until the last packet was published (Nest's send()). */
  private readonly replies = new InFlight();
  private readonly ownSubscriptions: Subscription[] = [];
  private received = 0;
  private connectionClosed = false;
  private closing?: Promise<void>;

  constructor(
    options: Required<NatsOptions>['options'],
    private readonly drain: NatsDrainOptions,
  ) {
    super(options);
  }

  /**
   * Listening means subscribed: Nest reports the server started as soon as the SUBs are queued; one
   * round trip later the NATS server has them (so does a caller's request sent after start-up).
   */
  override start(callback: (error?: unknown) => void): void {
    super.start(() => undefined);
    this.unwrap<NatsConnection>()
      .flush()
      .then(
        () => callback(),
        (error: unknown) => callback(error),
      );
  }

  /** Nest's binding (subjects, queue per handler), keeping the subscriptions to drain them on close. */
  override bindEvents(client: NatsConnection): void {
    const subscribe = (subject: string, options?: SubscriptionOptions): Subscription => {
      const subscription = client.subscribe(subject, options);
      this.ownSubscriptions.push(subscription);
      return subscription;
    };
    super.bindEvents({ subscribe });
  }

  /**
   * Nest tries JSON.parse on every incoming subject (object patterns travel as JSON) and falls back to
   * the string in a catch: for our plain subjects that is a SyntaxError, stack trace included, per
   * message (~50-90 µs of the nonce-service's and signer's CPU per request in bench/nonce-storm.ts
   * profiles). Only a subject that can be JSON goes through Nest's parse.
   */
  override getRouteFromPattern(pattern: string): string {
    const first = pattern.charCodeAt(0);
    if (first === 0x7b /* { */ || first === 0x5b /* [ */ || first === 0x22 /* " */) return super.getRouteFromPattern(pattern);
    return this.normalizePattern(pattern);
  }

  // Called synchronously on delivery, so a request counts from receipt.
  override async handleMessage(channel: string, natsMsg: unknown): Promise<unknown> {
    this.received++;
    const done = this.requests.enter();
    try {
      return await super.handleMessage(channel, natsMsg);
    } finally {
      done();
    }
  }

  // Nest publishes the reply from here, on a later tick than the handler's promise settles; the
  // stream always ends with a packet marked isDisposed (send()'s finalize), which is the last publish.
  override send(stream$: Observable<unknown>, respond: (data: WritePacket) => Promise<unknown> | void): RxSubscription {
    const done = this.replies.enter();
    return super.send(stream$, async (packet) => {
      try {
        const result = await respond(packet);
        if (packet.isDisposed) done();
        return result;
      } catch (error) {
        done(); // Nest stops publishing this stream after a failed publish
        // A reply that outlived the drain timeout has nowhere to go (the drain warned about it); thrown
        // from Nest's nextTick loop it would be an unhandled rejection.
        if (this.connectionClosed) return undefined;
        throw error;
      }
    });
  }

  override close(): Promise<void> {
    this.closing ??= this.drainAndClose().finally(() => (this.closing = undefined));
    return this.closing;
  }

  private async drainAndClose(): Promise<void> {
    let connection: NatsConnection;
    try {
      connection = this.unwrap<NatsConnection>();
    } catch {
      return super.close(); // never listened, or already closed
    }
    const started = performance.now();
    const deadline = started + this.drain.timeoutMs;
    const left = () => deadline - performance.now();
    // At close start, a request is either still in its handler or has its reply on the way.
    const pendingAtStart = this.requests.size + this.replies.size;
    const receivedAtStart = this.received;

    const subscriptions = this.ownSubscriptions.splice(0);
    await within(Promise.all(subscriptions.map((s) => (s.isClosed() ? undefined : s.drain().catch(() => undefined)))), left());
    this.drain.logger.debug({ inFlight: this.requests.size + this.replies.size }, 'NATS responder unsubscribed; answering the requests it has');
    const answered = (await this.requests.idle(left())) && (await this.replies.idle(left()));
    if (!connection.isClosed()) await within(connection.flush().catch(() => undefined), FLUSH_TIMEOUT_MS);

    const drained = pendingAtStart + (this.received - receivedAtStart);
    const ms = Math.round(performance.now() - started);
    if (answered) {
      this.drain.logger.info({ drained, ms }, 'NATS responder drained');
    } else {
      const unanswered = this.requests.size + this.replies.size;
      this.drain.logger.warn({ drained, unanswered, ms, timeoutMs: this.drain.timeoutMs }, 'NATS drain timed out; closing with requests unanswered');
    }
    // Nest's close without gracefulShutdown: closes the connection at once.
    this.connectionClosed = true;
    await super.close();
  }
}

/** Waits for `promise`, but no longer than `ms`. */
async function within(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([promise, new Promise((resolve) => (timer = setTimeout(resolve, Math.max(0, ms))))]);
  clearTimeout(timer);
}
