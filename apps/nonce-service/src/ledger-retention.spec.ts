import pino from 'pino';
import { LedgerRetention } from './ledger-retention';

// Pure logic of a retention run; the DELETE itself runs against real Postgres in
// libs/persistence lifecycle-ledger.spec.ts ("retention deletes old rows …").
describe('LedgerRetention', () => {
  const logger = pino({ level: 'silent' });
  /** FIXTURE port: pruneFinished over `rows` old final rows, as Postgres would count them. */
  const fixture = (rows: number) => {
    const calls: { olderThanMs: number; limit: number }[] = [];
    return {
      calls,
      lifecycle: {
        pruneFinished: async (olderThanMs: number, limit: number) => {
          calls.push({ olderThanMs, limit });
          const n = Math.min(rows, limit);
          rows -= n;
          return n;
        },
      },
    };
  };

  it('deletes in batches until one comes back short', async () => {
    const f = fixture(12);
    const retention = new LedgerRetention(f.lifecycle, { retentionMs: 86_400_000, intervalMs: 1_000, batchSize: 5, maxBatchesPerRun: 10 }, logger);
    expect(await retention.run()).toBe(12);
    expect(f.calls).toEqual([
      { olderThanMs: 86_400_000, limit: 5 },
      { olderThanMs: 86_400_000, limit: 5 },
      { olderThanMs: 86_400_000, limit: 5 },
    ]);
    expect(retention.deleted).toBe(12);
  });

  it('stops at the run budget and leaves the rest for the next run', async () => {
    const f = fixture(100);
    const retention = new LedgerRetention(f.lifecycle, { retentionMs: 1, intervalMs: 1_000, batchSize: 10, maxBatchesPerRun: 3 }, logger);
    expect(await retention.run()).toBe(30);
    expect(await retention.run()).toBe(30);
    expect(retention.deleted).toBe(60);
  });
});
