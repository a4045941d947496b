/**
 * A fixed set of PKCS#11 sessions, each running one operation at a time: a second C_SignInit on a
 * busy session fails with CKR_OPERATION_ACTIVE, and CloudHSM's ordering rules make interleaving
 * undefined (research/backend-apis.md §C.2, §C.4). Waiters are served first come, first served.
 */
export class SessionPoolClosedError extends Error {
  override readonly name = 'SessionPoolClosedError';
  constructor() {
    super('session pool is closed');
  }
}

export class SessionPool<S> {
  private readonly free: S[];
  private readonly waiters: Array<{ resolve: (s: S) => void; reject: (e: Error) => void }> = [];
  private busy = 0;
  private closed = false;
  private idle?: () => void;

  constructor(readonly sessions: readonly S[]) {
    this.free = [...sessions];
  }

  get size(): number {
    return this.sessions.length;
  }

  get inUse(): number {
    return this.busy;
  }

  acquire(): Promise<S> {
    if (this.closed) return Promise.reject(new SessionPoolClosedError());
    const s = this.free.pop();
    if (s !== undefined) {
      this.busy++;
      return Promise.resolve(s);
    }
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  release(session: S): void {
    const next = this.waiters.shift();
    if (next && !this.closed) {
      next.resolve(session); // hand over directly; busy count unchanged
      return;
    }
    this.busy--;
    this.free.push(session);
    if (this.busy === 0) this.idle?.();
  }

  async use<T>(fn: (session: S) => Promise<T> | T): Promise<T> {
    const s = await this.acquire();
    try {
      return await fn(s);
    } finally {
      this.release(s);
    }
  }

  /** Refuses new work, fails waiters, and waits (up to timeoutMs) for running operations to finish. */
  async close(timeoutMs = 5_000): Promise<void> {
    this.closed = true;
    for (const w of this.waiters.splice(0)) w.reject(new SessionPoolClosedError());
    if (this.busy === 0) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.idle = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}
