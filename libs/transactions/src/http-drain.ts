import type { Server, ServerResponse } from 'node:http';

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
  /** Responses not finished yet: the ones in progress when draining begins are told to close too. */
  private readonly open = new Set<ServerResponse>();

  constructor(
    private readonly server: Server,
    private readonly graceMs: number,
  ) {
    server.prependListener('request', (_req, res: ServerResponse) => {
      if (this.draining) {
        res.setHeader('connection', 'close');
        return;
      }
      this.open.add(res);
      res.once('close', () => this.open.delete(res));
    });
  }

  get isDraining(): boolean {
    return this.draining;
  }

  /** Starts draining (idempotent); call before the server is closed. */
  begin(): void {
    if (this.draining) return;
    this.draining = true;
    for (const res of this.open) if (!res.headersSent) res.setHeader('connection', 'close');
    this.open.clear();
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
