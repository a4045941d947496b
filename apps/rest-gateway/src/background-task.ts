/**
 * A round of work repeated every `intervalMs`, never two at once; a failed round is logged and the
 * next one runs on time. stop() waits for the round in progress.
 */
export class BackgroundTask {
  private timer?: NodeJS.Timeout;
  private current?: Promise<void>;
  private stopped = false;

  constructor(
    private readonly name: string,
    private readonly intervalMs: number,
    private readonly logger: { warn(obj: object, msg: string): void },
    private readonly round: () => Promise<unknown>,
  ) {}

  start(): void {
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.current;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.current = this.round()
        .then(() => undefined)
        .catch((error: unknown) => this.logger.warn({ task: this.name, err: (error as Error).message }, 'background round failed; retrying'))
        .finally(() => {
          this.current = undefined;
          this.schedule();
        });
    }, this.intervalMs);
    this.timer.unref();
  }
}
