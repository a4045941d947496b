import type { Logger } from 'pino';
import { Events, Routes } from '@hsm-signer/contracts';
import type { NatsBus } from '@hsm-signer/messaging';
import type { AccountRegistry, RegistryChange } from '@hsm-signer/persistence';
import { summariseListing, type BackendSummary, type DuplicateAddress } from './listing';

export interface PollResult {
  ok: boolean;
  change?: RegistryChange;
  error?: string;
}

/**
 * Polls signer-service's key listing (NATS request, queue group signer) on an interval and keeps
 * the account registry in step. A missing or failing signer is logged and retried at the next
 * interval; it never stops the service.
 */
export class KeyDiscovery {
  private timer?: NodeJS.Timeout;
  private stopped = true;
  private running?: Promise<PollResult>;
  lastPoll?: { at: Date; ok: boolean; error?: string };
  /** From the last listing signer-service answered (kept while it does not answer). */
  lastListing?: { at: Date; backends: BackendSummary[]; duplicates: DuplicateAddress[] };
  /** Polls since start by outcome (metrics.ts: hsm_discovery_polls_total). */
  readonly polls = { ok: 0, error: 0 };

  constructor(
    private readonly bus: NatsBus,
    private readonly registry: AccountRegistry,
    private readonly intervalMs: number,
    private readonly logger: Logger,
    private readonly requestTimeoutMs?: number,
  ) {}

  /** Polls once now, then every interval (measured from the end of the previous poll: no overlap). */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    const loop = async () => {
      await this.pollOnce();
      if (!this.stopped) this.timer = setTimeout(loop, this.intervalMs);
    };
    void loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running?.catch(() => undefined);
  }

  /** One poll; concurrent callers share the one in flight. */
  pollOnce(): Promise<PollResult> {
    if (!this.running) {
      this.running = this.poll().finally(() => (this.running = undefined));
    }
    return this.running;
  }

  private async poll(): Promise<PollResult> {
    let listing;
    try {
      listing = await this.bus.request(Routes.signerListKeys, {}, this.requestTimeoutMs ? { timeoutMs: this.requestTimeoutMs } : {});
    } catch (error) {
      const message = (error as Error).message;
      this.logger.warn({ error: message }, 'cannot list keys from signer-service; retrying at the next interval');
      this.lastPoll = { at: new Date(), ok: false, error: message };
      this.polls.error++;
      return { ok: false, error: message };
    }
    const summary = summariseListing(listing);
    this.lastListing = { at: new Date(), backends: summary.backends, duplicates: summary.duplicates };
    for (const d of summary.duplicates) this.logger.warn(d, 'address listed by several backends; the first in signer-service order serves it (docs/backends.md "Precedence")');
    for (const b of listing.backends.filter((x) => !x.healthy)) this.logger.warn({ backendId: b.backendId, error: b.error }, 'backend unhealthy; its accounts are kept as stale');
    let change: RegistryChange;
    try {
      change = await this.registry.sync(summary);
    } catch (error) {
      const message = (error as Error).message;
      this.logger.error({ error: message }, 'cannot update the account registry; retrying at the next interval');
      this.lastPoll = { at: new Date(), ok: false, error: 'database unavailable' };
      this.polls.error++;
      return { ok: false, error: message };
    }
    if (change.added.length || change.removed.length) {
      this.bus.publish(Events.accountsChanged, { added: change.added, removed: change.removed, at: new Date().toISOString() });
      this.logger.info({ added: change.added, removed: change.removed }, 'accounts changed');
    }
    if (change.staled.length) this.logger.warn({ staled: change.staled }, 'accounts marked stale');
    this.lastPoll = { at: new Date(), ok: true };
    this.polls.ok++;
    return { ok: true, change };
  }
}
