import type { Logger } from 'pino';
import type { LifecycleLedger } from '@hsm-signer/persistence';
import { PeriodicTask } from './periodic-task';

export interface LedgerRetentionOptions {
  /** Final-state rows older than this are deleted. */
  retentionMs: number;
  intervalMs: number;
  /** Rows per DELETE statement. */
  batchSize: number;
  /** Statements per run at most (the rest waits for the next run). */
  maxBatchesPerRun: number;
}

/**
 * Deletes finished ledger rows past NONCE_LEDGER_RETENTION_DAYS in bounded batches, so the ledger
 * stops growing with the number of transactions ever sent. Safe in every replica at once: each
 * batch deletes rows no other statement still needs, and two replicas deleting the same rows only
 * wait for each other's row locks.
 */
export class LedgerRetention {
  private task?: PeriodicTask;
  /** Rows deleted since start (operator, tests). */
  deleted = 0;

  constructor(
    private readonly lifecycle: Pick<LifecycleLedger, 'pruneFinished'>,
    private readonly options: LedgerRetentionOptions,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.task = new PeriodicTask(() => this.run(), this.options.intervalMs, (error) =>
      this.logger.warn({ err: (error as Error).message }, 'ledger retention failed; retrying at the next run'),
    );
    this.task.start();
  }

  stop(): Promise<void> {
    return this.task?.stop() ?? Promise.resolve();
  }

  /** One run: batches until one comes back short or the run's budget is spent; returns rows deleted. */
  async run(): Promise<number> {
    let total = 0;
    for (let i = 0; i < this.options.maxBatchesPerRun; i++) {
      const n = await this.lifecycle.pruneFinished(this.options.retentionMs, this.options.batchSize);
      total += n;
      if (n < this.options.batchSize) break;
    }
    this.deleted += total;
    if (total) this.logger.info({ deleted: total, retentionMs: this.options.retentionMs }, 'finished ledger rows past retention deleted');
    return total;
  }
}
