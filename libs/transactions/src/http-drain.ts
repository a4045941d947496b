import type { Server } from 'node:http';

/**
 * Lets a gateway's HTTP server finish at shutdown while clients keep their connections busy.
 * `server.close()` (Nest's app.close) stops accepting and closes the connections idle at that
 * moment, but a keep-alive connection that is busy then stays open and keeps being served for as
 * long as its client sends: under steady load the server never finishes closing and the process
 * never exits (seen in the rest-storm bench). Once draining, every response says `Connection:
 * close`, idle connections are closed as they appear, and after `graceMs` whatever is left is cut.
 */
export class HttpDrain {
  private draining = false;
  private timers: NodeJS.Timeout[] = [];

  constructor(
    private readonly server: Server,
    private readonly graceMs: number,
  ) {
    server.prependListener('request', (_req, res) => {
      if (this.draining && !res.headersSent) res.setHeader('connection', 'close');
    });
  }

  get isDraining(): boolean {
    return this.draining;
  }

  /** Starts draining (idempotent); call before the server is closed. */
  begin(): void {
    if (this.draining) return;
    this.draining = true;
    this.server.closeIdleConnections();
    const sweep = setInterval(() => this.server.closeIdleConnections(), 100);
    const cut = setTimeout(() => {
      clearInterval(sweep);
      this.server.closeAllConnections();
    }, this.graceMs);
    sweep.unref();
    cut.unref();
    this.timers = [sweep, cut];
  }

  /** Stops the timers (the server closed). */
  end(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers = [];
  }
}
