import { Events, Routes, type Account } from '@hsm-signer/contracts';
import { NoUnlockedAccountError } from '@hsm-signer/ethereum';
import type { NatsBus } from '@hsm-signer/messaging';
import { silentLogger, type SendPathLogger } from './logger';
import { toClientError } from './service-errors';

type Subscription = { unsubscribe(): void };

export interface AccountDirectoryOptions {
  bus: Pick<NatsBus, 'request' | 'subscribe'>;
  /**
   * How old the cached list may get before eth_accounts re-reads it. Events keep it fresh; this only
   * bounds the damage of a missed event (e.g. while NATS reconnected).
   */
  maxAgeMs?: number;
  logger?: SendPathLogger;
}

/**
 * The gateway's view of key-discovery's account registry (ARCHITECTURE.md, step 1): a cache of
 * Routes.accountsList, refreshed when Events.accountsChanged arrives and when it is older than
 * `maxAgeMs`. A cache miss asks key-discovery for that one address (Routes.accountsResolve), so a
 * key added a moment ago is usable before the event arrives. Hot path: a known account costs no
 * NATS hop.
 */
export class AccountDirectory {
  private accounts = new Map<string, Account>();
  private loadedAt = 0;
  private inflight?: Promise<void>;
  private refreshAgain = false;
  private subscription?: Subscription;
  private readonly maxAgeMs: number;
  private readonly logger: SendPathLogger;

  constructor(private readonly options: AccountDirectoryOptions) {
    this.maxAgeMs = options.maxAgeMs ?? 60_000;
    this.logger = options.logger ?? silentLogger;
  }

  /** Subscribes to account changes and loads the list in the background (key-discovery may not be up yet). */
  start(): void {
    if (this.subscription) return;
    this.subscription = this.options.bus.subscribe(
      Events.accountsChanged,
      (event) => {
        // Drop removed keys at once: a send must not reach the signer for a key that is gone.
        for (const address of event.removed) this.accounts.delete(address);
        this.refresh().catch((error) => this.logger.warn({ err: errorMessage(error) }, 'account list refresh after accounts.changed failed'));
      },
      (error) => this.logger.warn({ err: errorMessage(error) }, 'ignored an invalid accounts.changed event'),
    );
    this.refresh().catch((error) => this.logger.warn({ err: errorMessage(error) }, 'initial account list load failed; will retry on demand'));
  }

  stop(): void {
    this.subscription?.unsubscribe();
    this.subscription = undefined;
  }

  /**
   * Every account that can sign (active, or stale = backend temporarily down), sorted by address.
   * When key-discovery does not answer but a list was loaded before, that list is returned.
   */
  async list(): Promise<Account[]> {
    if (this.loadedAt === 0 || Date.now() - this.loadedAt > this.maxAgeMs) {
      try {
        await this.refresh();
      } catch (error) {
        if (this.loadedAt === 0) throw toClientError(error);
        this.logger.warn({ err: errorMessage(error) }, 'key-discovery did not answer; serving the cached account list');
      }
    }
    return [...this.accounts.values()].sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
  }

  /** The account for an address (lower-case 0x…), or NoUnlockedAccountError (-32000). */
  async resolve(address: string): Promise<Account> {
    const key = address.toLowerCase();
    const cached = this.accounts.get(key);
    if (cached) {
      // A missed event (NATS reconnect) must not keep a removed key usable forever: refresh behind the answer.
      if (Date.now() - this.loadedAt > this.maxAgeMs) this.refresh().catch((error) => this.logger.warn({ err: errorMessage(error) }, 'background account list refresh failed'));
      return cached;
    }
    let account: Account | null;
    try {
      ({ account } = await this.options.bus.request(Routes.accountsResolve, { address: key }));
    } catch (error) {
      throw toClientError(error);
    }
    if (!account || account.status === 'inactive') throw new NoUnlockedAccountError(key);
    this.accounts.set(key, account);
    return account;
  }

  /**
   * Reloads the list. Concurrent callers share one request; a change announced while a request is
   * in flight triggers one more, so the cache never ends older than the last event.
   */
  refresh(): Promise<void> {
    if (this.inflight) {
      this.refreshAgain = true;
      return this.inflight;
    }
    this.inflight = (async () => {
      do {
        this.refreshAgain = false;
        const { accounts } = await this.options.bus.request(Routes.accountsList, {});
        this.accounts = new Map(accounts.filter((a) => a.status !== 'inactive').map((a) => [a.address, a]));
        this.loadedAt = Date.now();
      } while (this.refreshAgain);
    })().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
