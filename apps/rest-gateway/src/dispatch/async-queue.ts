import { parseRestAsyncRequest, QueueGroups, Subjects, type RestAsyncRequest } from '@hsm-signer/contracts';
import { AckPolicy, JSONCodec, nanos, RetentionPolicy, StorageType, type Consumer, type JsMsg, type NatsConnection } from 'nats';

/**
 * What the handler made of one delivery: done (ack); retry later with back-off (a service was
 * unavailable); or wait-in-flight: its request id's first send is still open (a replica died holding
 * it). A waiting request stays with this replica and is handed to the handler again every second
 * (same delivery, kept alive with `working()`) until nonce-service resolves it, so the waits do not
 * use up REST_ASYNC_MAX_DELIVERIES (a nak would: JetStream counts every delivery). A replica that
 * stops meanwhile gives it back (nak) for another one to go on waiting.
 */
export type AsyncOutcome = 'done' | 'retry' | 'wait-in-flight';

/** How a delivery ended, for metrics: the handler's outcome, `error` (it threw; delivered again) or `dropped` (unreadable). */
export type AsyncDeliveryOutcome = AsyncOutcome | 'error' | 'dropped';

export interface AsyncQueueOptions {
  stream: string;
  /** Requests this replica processes at once. */
  concurrency: number;
  /** Deliveries before the handler is told it is the last one (REST_ASYNC_MAX_DELIVERIES). */
  maxDeliveries: number;
  logger: { warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
  /** Told how each delivery ended (the gateway's metrics). */
  onDelivery?: (outcome: AsyncDeliveryOutcome) => void;
}

export interface AsyncDelivery {
  /** 1 for the first delivery. */
  attempt: number;
  /** No further delivery will follow a 'retry': the handler must write a final reply now. */
  last: boolean;
}

const codec = JSONCodec<unknown>();
/** JetStream's duplicate window: a request published twice with one id within it is stored once. */
const DUPLICATE_WINDOW_MS = 120_000;
/**
 * A delivery not acked in this time goes to another replica (the processing replica died). Kept
 * short so a crash costs seconds, not a minute; a live replica keeps its deliveries with
 * `working()` every {@link HEARTBEAT_MS} however long a send takes (NATS timeouts, retries).
 */
const ACK_WAIT_MS = 15_000;
const HEARTBEAT_MS = 5_000;
const IN_FLIGHT_POLL_MS = 1_000;

/** Back-off before a retried delivery: 1 s, 2 s, 4 s … 30 s. */
export function retryDelayMs(attempt: number): number {
  return Math.min(30_000, 1_000 * 2 ** Math.max(0, attempt - 1));
}

/**
 * Asynchronous REST requests in JetStream (ARCHITECTURE.md: rest-gateway "sync and async
 * (JetStream) requests"). The gateway answers 202 only once the stream stored the request (PubAck),
 * and every replica takes work from one durable consumer, so an accepted request is processed even
 * when the replica that accepted it dies (ethconnect's Kafka path, research/rest-gateway.md §4.3,
 * gives the same at-least-once guarantee; its in-process "webhooks direct" mode loses requests on a
 * crash). Redelivery is safe: the request id is the ledger's idempotency key, so a repeat returns
 * the first transaction instead of sending a second one.
 */
export class AsyncRequestQueue {
  private consumer?: Consumer;
  private running = false;
  private loop?: Promise<void>;
  private readonly inFlight = new Set<Promise<void>>();
  private wakeSlot?: () => void;
  /** Resolved by stop(): ends the waits of requests whose id is still in flight. */
  private stopping!: Promise<void>;
  private signalStop: () => void = () => undefined;

  constructor(
    private readonly connection: NatsConnection,
    private readonly options: AsyncQueueOptions,
    private readonly handler: (request: RestAsyncRequest, delivery: AsyncDelivery) => Promise<AsyncOutcome>,
  ) {}

  /** Creates the stream and the shared consumer when absent (another replica may do the same at once). */
  async ensure(): Promise<void> {
    const jsm = await this.connection.jetstreamManager();
    const stream = this.options.stream;
    await jsm.streams.info(stream).catch(async () => {
      await jsm.streams
        .add({ name: stream, subjects: [Subjects.restRequests], retention: RetentionPolicy.Workqueue, storage: StorageType.File, duplicate_window: nanos(DUPLICATE_WINDOW_MS) })
        .catch(async (error: unknown) => {
          await jsm.streams.info(stream).catch(() => {
            throw error;
          });
        });
    });
    await jsm.consumers.info(stream, QueueGroups.restGateway).catch(async () => {
      await jsm.consumers
        .add(stream, { durable_name: QueueGroups.restGateway, ack_policy: AckPolicy.Explicit, ack_wait: nanos(ACK_WAIT_MS), max_deliver: -1, filter_subject: Subjects.restRequests })
        .catch(async (error: unknown) => {
          await jsm.consumers.info(stream, QueueGroups.restGateway).catch(() => {
            throw error;
          });
        });
    });
  }

  /** Stores a request; resolves once JetStream acknowledged it. `duplicate`: the id was stored within the duplicate window. */
  async publish(request: RestAsyncRequest): Promise<{ duplicate: boolean }> {
    const ack = await this.connection.jetstream().publish(Subjects.restRequests, codec.encode(request), { msgID: request.id });
    return { duplicate: ack.duplicate };
  }

  async start(): Promise<void> {
    await this.ensure();
    this.consumer = await this.connection.jetstream().consumers.get(this.options.stream, QueueGroups.restGateway);
    this.stopping = new Promise<void>((resolve) => (this.signalStop = resolve));
    this.running = true;
    this.loop = this.pull();
  }

  /** Stops taking work and waits for the requests being processed (their outcome is written before ack). */
  async stop(): Promise<void> {
    this.running = false;
    this.signalStop();
    this.wakeSlot?.();
    await this.loop;
    await Promise.allSettled([...this.inFlight]);
  }

  get processing(): number {
    return this.inFlight.size;
  }

  private async pull(): Promise<void> {
    while (this.running) {
      const free = this.options.concurrency - this.inFlight.size;
      if (free <= 0) {
        await new Promise<void>((resolve) => (this.wakeSlot = resolve));
        continue;
      }
      try {
        const messages = await (this.consumer as Consumer).fetch({ max_messages: free, expires: 2_000 });
        for await (const msg of messages) this.track(this.process(msg));
      } catch (error) {
        if (!this.running) break;
        this.options.logger.warn({ err: (error as Error).message }, 'taking asynchronous requests from JetStream failed; retrying');
        await new Promise((r) => setTimeout(r, 1_000));
      }
    }
  }

  private track(work: Promise<void>): void {
    this.inFlight.add(work);
    void work.finally(() => {
      this.inFlight.delete(work);
      const wake = this.wakeSlot;
      this.wakeSlot = undefined;
      wake?.();
    });
  }

  /** Waits `ms`, or less when the queue stops. */
  private async pause(ms: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([new Promise<void>((resolve) => (timer = setTimeout(resolve, ms))), this.stopping]);
    clearTimeout(timer);
  }

  private async process(msg: JsMsg): Promise<void> {
    let request: RestAsyncRequest;
    try {
      request = parseRestAsyncRequest(codec.decode(msg.data));
    } catch (error) {
      // Nothing any replica could do with it: dropped, loudly.
      this.options.logger.error({ err: (error as Error).message, seq: msg.seq }, 'dropping an unreadable asynchronous request');
      // A bare +TERM: nats-server 2.9 does not recognise +TERM with a reason and would redeliver it.
      msg.term();
      this.options.onDelivery?.('dropped');
      return;
    }
    const attempt = msg.info.deliveryCount;
    const last = attempt >= this.options.maxDeliveries;
    const heartbeat = setInterval(() => msg.working(), HEARTBEAT_MS);
    try {
      let outcome = await this.handler(request, { attempt, last });
      while (outcome === 'wait-in-flight' && this.running) {
        this.options.onDelivery?.(outcome);
        await this.pause(IN_FLIGHT_POLL_MS);
        if (!this.running) break;
        outcome = await this.handler(request, { attempt, last });
      }
      if (outcome === 'wait-in-flight') msg.nak(IN_FLIGHT_POLL_MS); // stopping: another replica waits on
      else if (outcome === 'retry' && !last) msg.nak(retryDelayMs(attempt));
      else msg.ack();
      this.options.onDelivery?.(outcome);
    } catch (error) {
      this.options.logger.error({ err: (error as Error).message, id: request.id }, 'processing an asynchronous request failed; it is delivered again');
      msg.nak(retryDelayMs(attempt));
      this.options.onDelivery?.('error');
    } finally {
      clearInterval(heartbeat);
    }
  }
}
