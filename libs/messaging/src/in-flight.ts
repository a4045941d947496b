/**
 * Counts work in progress and tells when none is left: what a closing responder waits on before it
 * closes its NATS connection (draining-nats-server.ts).
 */
export class InFlight {
  private count = 0;
  private readonly waiters = new Set<() => void>();

  /** How much work is in progress now. */
  get size(): number {
    return this.count;
  }

  /** Marks one piece of work as started; call the returned function when it is done (later calls do nothing). */
  enter(): () => void {
    this.count++;
    let left = false;
    return () => {
      if (left) return;
      left = true;
      if (--this.count > 0) return;
      for (const wake of [...this.waiters]) wake();
    };
  }

  /** Resolves `true` once nothing is in progress (at once when nothing is), `false` when `timeoutMs` passes first. */
  idle(timeoutMs: number): Promise<boolean> {
    if (this.count === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const finish = (idle: boolean) => {
        clearTimeout(timer);
        this.waiters.delete(wake);
        resolve(idle);
      };
      const wake = () => finish(true);
      const timer = setTimeout(() => finish(false), Math.max(0, timeoutMs));
      this.waiters.add(wake);
    });
  }
}
