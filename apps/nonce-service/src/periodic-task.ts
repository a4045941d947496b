/**
 * Runs `round` now and then every `intervalMs` after the previous round finished (never two at
 * once). A failed round is reported and the next one runs on schedule. `stop()` waits for the
 * round in progress.
 */
export class PeriodicTask {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = false;

  constructor(
    private readonly round: () => Promise<unknown>,
    private readonly intervalMs: number,
    private readonly onError: (error: unknown) => void,
  ) {}

  start(): void {
    const loop = () => {
      if (this.stopped) return;
      this.running = this.round()
        .then(() => undefined, this.onError)
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(loop, this.intervalMs);
        });
    };
    this.timer = setTimeout(loop, 0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }
}
