import { PeriodicTask } from './periodic-task';
import { StringCodec, type NatsConnection } from 'nats';
import type { Logger } from 'pino';
import type { LifecycleLedger } from '@hsm-signer/persistence';

/** Subjects of the transaction lifecycle events (hsm.v1.tx.<chainId>.<status>), written by the outbox trigger. */
export const TX_EVENT_SUBJECTS = 'hsm.v1.tx.>';

export interface OutboxRelayOptions {
  stream: string;
  intervalMs: number;
  retentionMs: number;
  batch?: number;
}

const codec = StringCodec();

/**
 * Relays the transactional outbox to JetStream (research/nonce-and-lifecycle.md §8.2): oldest
 * unpublished events first, each with `Nats-Msg-Id` = the outbox row id, then marks them published.
 * A crash between publish and mark, or two replicas relaying the same rows, publishes a row twice:
 * the stream's duplicate window (2 min) drops the copy; consumers still dedupe on the id beyond it.
 * Publishes of one batch are pipelined on the connection (in order), then their acks awaited.
 */
export class OutboxRelay {
  readonly stats = { published: 0, failures: 0 };
  private task?: PeriodicTask;
  private streamReady = false;
  private lastPrune = 0;

  constructor(
    private readonly connection: NatsConnection,
    private readonly lifecycle: LifecycleLedger,
    private readonly options: OutboxRelayOptions,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.task = new PeriodicTask(() => this.relayOnce(), this.options.intervalMs, (error) => {
      this.stats.failures++;
      this.streamReady = false;
      this.logger.warn({ err: (error as Error).message }, 'outbox relay round failed; retrying');
    });
    this.task.start();
  }

  async stop(): Promise<void> {
    await this.task?.stop();
  }

  /** Creates the stream when absent (subjects hsm.v1.tx.>, 2-minute duplicate window). */
  async ensureStream(): Promise<void> {
    if (this.streamReady) return;
    const jsm = await this.connection.jetstreamManager();
    try {
      await jsm.streams.info(this.options.stream);
    } catch {
      try {
        await jsm.streams.add({ name: this.options.stream, subjects: [TX_EVENT_SUBJECTS], duplicate_window: 120_000_000_000 });
        this.logger.info({ stream: this.options.stream }, 'JetStream stream created');
      } catch (error) {
        // Another replica created it at the same moment.
        await jsm.streams.info(this.options.stream).catch(() => {
          throw error;
        });
      }
    }
    this.streamReady = true;
  }

  /** Publishes one batch; returns how many were published. */
  async relayOnce(): Promise<number> {
    await this.ensureStream();
    const events = await this.lifecycle.pendingEvents(this.options.batch ?? 500);
    let published = 0;
    if (events.length) {
      const js = this.connection.jetstream();
      // msgID is sent as the Nats-Msg-Id header.
      const acks = events.map((e) => js.publish(e.subject, codec.encode(e.message), { msgID: e.id }));
      const results = await Promise.allSettled(acks);
      const done = events.filter((_, i) => results[i].status === 'fulfilled').map((e) => e.id);
      await this.lifecycle.markPublished(done);
      published = done.length;
      this.stats.published += published;
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason instanceof Error ? failed.reason : new Error(String(failed.reason));
    }
    if (Date.now() - this.lastPrune > 60_000) {
      this.lastPrune = Date.now();
      await this.lifecycle.prunePublished(this.options.retentionMs);
    }
    return published;
  }
}
