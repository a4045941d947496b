import { JetStreamPublisher } from './jetstream-publisher';
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
 * Publishes of one batch are pipelined on the connection (in order), their acks collected on one
 * reply subscription (JetStreamPublisher).
 */
export class OutboxRelay {
  readonly stats = { published: 0, failures: 0 };
  private task?: PeriodicTask;
  private streamReady = false;
  private lastPrune = 0;
  private readonly publisher: JetStreamPublisher;

  constructor(
    private readonly connection: NatsConnection,
    private readonly lifecycle: LifecycleLedger,
    private readonly options: OutboxRelayOptions,
    private readonly logger: Logger,
  ) {
    this.publisher = new JetStreamPublisher(connection);
  }

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
    this.publisher.close();
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
      const results = await this.publisher.publishAll(events.map((e) => ({ subject: e.subject, data: codec.encode(e.message), msgId: e.id })));
      const done = events.filter((_, i) => results[i] === true).map((e) => e.id);
      await this.lifecycle.markPublished(done, this.options.retentionMs > 0);
      published = done.length;
      this.stats.published += published;
      const failed = results.find((r) => r !== true);
      if (failed) throw failed;
    }
    if (Date.now() - this.lastPrune > 60_000) {
      this.lastPrune = Date.now();
      await this.lifecycle.prunePublished(this.options.retentionMs);
    }
    return published;
  }
}
