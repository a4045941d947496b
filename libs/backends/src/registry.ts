/**
 * Holds every configured backend by id, routes requests by KeyRef.backendId, and supervises each
 * backend's connection: a backend that fails to connect (or loses its HSM later) is reported
 * unhealthy with its reason and reconnected with backoff, without touching the others and without
 * crashing the service.
 */
import type { BackendListing, KeyRef, UnsignedTransaction } from '@hsm-signer/contracts';
import { backoffDelay, DEFAULT_BACKOFF, type BackoffOptions } from './backoff';
import { BackendUnavailableError, UnknownBackendError, UnsupportedOperationError } from './errors';
import { noopLogger, type BackendKeyInfo, type BackendLogger, type BackendSignature, type SigningBackend } from './types';

export type BackendState = 'connecting' | 'ready' | 'down' | 'closed';

export interface BackendStatus {
  id: string;
  kind: string;
  state: BackendState;
  healthy: boolean;
  /** Why it is not ready (last connection error). Never a secret. */
  reason?: string;
  keyCount?: number;
  /** Failed connection attempts since the last success. */
  failures: number;
}

export interface BackendRegistryOptions {
  backoff?: BackoffOptions;
  /** A connect() that takes longer counts as failed (default 30 s). */
  connectTimeoutMs?: number;
  logger?: BackendLogger;
}

interface Entry {
  backend: SigningBackend;
  state: BackendState;
  reason?: string;
  failures: number;
  timer?: NodeJS.Timeout;
  connecting?: Promise<void>;
  keyCount?: number;
}


export function describeError(error: unknown): string {
  if (error instanceof BackendUnavailableError) return error.reason;
  return error instanceof Error ? error.message : String(error);
}

export class BackendRegistry {
  private readonly entries = new Map<string, Entry>();
  private readonly backoff: BackoffOptions;
  private readonly connectTimeoutMs: number;
  private readonly logger: BackendLogger;
  private closed = false;

  constructor(options: BackendRegistryOptions = {}) {
    this.backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 30_000;
    this.logger = options.logger ?? noopLogger;
  }

  add(backend: SigningBackend): void {
    if (this.entries.has(backend.id)) throw new Error(`duplicate backend id "${backend.id}"`);
    this.entries.set(backend.id, { backend, state: 'down', reason: 'not connected yet', failures: 0 });
  }

  ids(): string[] {
    return [...this.entries.keys()];
  }

  /** Connects every backend once (in parallel). Failures are scheduled for retry, never thrown. */
  async start(): Promise<void> {
    await Promise.all([...this.entries.values()].map((e) => this.connect(e)));
  }

  /** Resolves when every backend is ready, or rejects after timeoutMs naming the ones that are not. */
  async waitUntilReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const notReady = [...this.entries.values()].filter((e) => e.state !== 'ready');
      if (!notReady.length) return;
      if (Date.now() > deadline) throw new Error(`backends not ready: ${notReady.map((e) => `${e.backend.id} (${e.reason})`).join(', ')}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** The backend with this id, whatever its state. */
  get(id: string): SigningBackend {
    const entry = this.entries.get(id);
    if (!entry) throw new UnknownBackendError(id);
    return entry.backend;
  }

  status(): BackendStatus[] {
    return [...this.entries.values()].map((e) => ({
      id: e.backend.id,
      kind: e.backend.kind,
      state: e.state,
      healthy: e.state === 'ready',
      reason: e.state === 'ready' ? undefined : e.reason,
      keyCount: e.keyCount,
      failures: e.failures,
    }));
  }

  /** Per-backend health: supervision state combined with the backend's own probe. */
  async health(): Promise<BackendStatus[]> {
    await Promise.all(
      [...this.entries.values()].map(async (e) => {
        if (e.state !== 'ready') return;
        try {
          const h = await e.backend.health();
          if (h.keyCount !== undefined) e.keyCount = h.keyCount;
          if (!h.healthy) this.markDown(e, new BackendUnavailableError(e.backend.id, h.reason ?? 'health check failed'));
        } catch (error) {
          this.onFailure(e, error);
        }
      }),
    );
    return this.status();
  }

  /** Every backend's keys (fresh enumeration) with its health, for Routes.signerListKeys. */
  async listAll(): Promise<BackendListing[]> {
    return Promise.all(
      [...this.entries.values()].map(async (e): Promise<BackendListing> => {
        const { backend } = e;
        const base = { backendId: backend.id, kind: backend.kind, capabilities: backend.capabilities };
        if (e.state !== 'ready') return { ...base, healthy: false, error: e.reason ?? e.state, keys: [] };
        try {
          const keys = await backend.listKeys();
          e.keyCount = keys.length;
          return { ...base, healthy: true, keys: keys.map((k) => (k.label === undefined ? { keyId: k.keyId, address: k.address } : { keyId: k.keyId, address: k.address, label: k.label })) };
        } catch (error) {
          this.onFailure(e, error);
          return { ...base, healthy: false, error: describeError(error), keys: [] };
        }
      }),
    );
  }

  /** The key a request names, from the backend's cache. undefined = the backend does not hold it. */
  async getKey(ref: KeyRef): Promise<BackendKeyInfo | undefined> {
    const e = this.ready(ref.backendId);
    return this.guard(e, () => e.backend.getKey(ref.keyId));
  }

  async signDigest(ref: KeyRef, digest: Uint8Array): Promise<BackendSignature> {
    const e = this.ready(ref.backendId);
    const sign = e.backend.signDigest;
    if (!sign) throw new UnsupportedOperationError(ref.backendId, `backend ${ref.backendId} does not sign digests`);
    return this.guard(e, () => sign.call(e.backend, ref.keyId, digest));
  }

  async signTransaction(ref: KeyRef, tx: UnsignedTransaction): Promise<string> {
    const e = this.ready(ref.backendId);
    const sign = e.backend.signTransaction;
    if (!sign) throw new UnsupportedOperationError(ref.backendId, `backend ${ref.backendId} does not sign whole transactions`);
    return this.guard(e, () => sign.call(e.backend, ref.keyId, tx));
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(
      [...this.entries.values()].map(async (e) => {
        clearTimeout(e.timer);
        await e.connecting?.catch(() => undefined);
        e.state = 'closed';
        e.reason = 'closed';
        try {
          await e.backend.close();
        } catch (error) {
          this.logger.warn({ backendId: e.backend.id, err: describeError(error) }, 'backend close failed');
        }
      }),
    );
  }

  // --- supervision ------------------------------------------------------------------------------

  private ready(id: string): Entry {
    const e = this.entries.get(id);
    if (!e) throw new UnknownBackendError(id);
    if (e.state !== 'ready') throw new BackendUnavailableError(id, e.reason ?? e.state);
    return e;
  }

  private async guard<T>(e: Entry, op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (error) {
      this.onFailure(e, error);
      throw error;
    }
  }

  /** Connection-level failures take the backend down and start reconnecting; others pass through. */
  private onFailure(e: Entry, error: unknown): void {
    if (error instanceof BackendUnavailableError && e.state === 'ready') this.markDown(e, error);
  }

  private markDown(e: Entry, error: BackendUnavailableError): void {
    if (e.state !== 'ready') return;
    this.logger.warn({ backendId: e.backend.id, reason: error.reason }, 'backend lost; reconnecting');
    e.state = 'down';
    e.reason = error.reason;
    void e.backend
      .close()
      .catch(() => undefined)
      .then(() => this.schedule(e));
  }

  private connect(e: Entry): Promise<void> {
    if (e.connecting) return e.connecting;
    e.state = 'connecting';
    e.connecting = (async () => {
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          e.backend.connect(),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new BackendUnavailableError(e.backend.id, `connect timed out after ${this.connectTimeoutMs} ms`)), this.connectTimeoutMs);
          }),
        ]);
        if (this.closed) return;
        e.state = 'ready';
        e.reason = undefined;
        if (e.failures) this.logger.info({ backendId: e.backend.id, failures: e.failures }, 'backend reconnected');
        else this.logger.info({ backendId: e.backend.id, kind: e.backend.kind }, 'backend connected');
        e.failures = 0;
        // Warm the key cache (handles, addresses) and the key count shown in health output.
        try {
          e.keyCount = (await e.backend.listKeys()).length;
        } catch (error) {
          this.logger.warn({ backendId: e.backend.id, reason: describeError(error) }, 'initial key listing failed');
        }
      } catch (error) {
        e.failures++;
        e.state = 'down';
        e.reason = describeError(error);
        await e.backend.close().catch(() => undefined);
        if (error instanceof BackendUnavailableError && !error.retryable) {
          this.logger.error({ backendId: e.backend.id, reason: e.reason }, 'backend connection failed; not retrying (fix the configuration and restart)');
        } else {
          this.logger.warn({ backendId: e.backend.id, reason: e.reason, failures: e.failures }, 'backend connection failed; will retry');
          this.schedule(e);
        }
      } finally {
        clearTimeout(timer);
        e.connecting = undefined;
      }
    })();
    return e.connecting;
  }

  private schedule(e: Entry): void {
    if (this.closed || e.timer) return;
    const delay = backoffDelay(Math.max(1, e.failures), this.backoff);
    e.timer = setTimeout(() => {
      e.timer = undefined;
      void this.connect(e);
    }, delay);
    e.timer.unref();
  }
}
