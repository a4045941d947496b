import type { IncomingMessage, ServerResponse } from 'node:http';
import { RestError, RestErrorCode, toRestError } from '../errors';

export interface ErrorLogger {
  error(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

/** ethconnect pretty-prints its JSON (FE messages/timesorted.go lists); clients parse either. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) return;
  const text = JSON.stringify(body, null, 2);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

export function sendError(res: ServerResponse, error: RestError): void {
  // A body refused for its size was not read to the end: the connection cannot carry another request.
  sendJson(res, error.status, error.toBody(), error.status === 413 ? { connection: 'close' } : {});
}

/**
 * Runs a route and turns whatever it throws into the REST error body: a RestError as is, anything
 * else as a 500 whose message says to look at the log (which gets the cause), never a stack trace.
 */
export async function handle(req: IncomingMessage, res: ServerResponse, log: ErrorLogger, route: () => Promise<void>): Promise<void> {
  try {
    await route();
  } catch (error) {
    if (error instanceof RestError) {
      if (error.status >= 500) log.error({ method: req.method, url: req.url, code: error.code, err: error.message, cause: (error.cause as Error | undefined)?.message }, 'REST request failed');
      else log.debug({ method: req.method, url: req.url, code: error.code, err: error.message }, 'REST request refused');
      sendError(res, error);
      return;
    }
    log.error({ method: req.method, url: req.url, err: (error as Error)?.stack ?? String(error) }, 'REST request failed unexpectedly');
    // Known infrastructure failures (database down) keep their meaning; anything else is a 500 without internals.
    const mapped = toRestError(error);
    sendError(res, mapped.code === RestErrorCode.Unavailable ? mapped : new RestError(500, RestErrorCode.Internal, 'Internal error (the gateway log has the cause)'));
  }
}

/** The URL clients reach the gateway at: REST_BASE_URL, else from the request's (forwarded) host and scheme. */
export function baseUrlOf(req: IncomingMessage, configured: string): string {
  if (configured) return configured.replace(/\/+$/, '');
  const header = (name: string) => {
    const v = req.headers[name];
    return (Array.isArray(v) ? v[0] : v)?.split(',')[0]?.trim();
  };
  const proto = header('x-forwarded-proto') ?? ((req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http');
  const host = header('x-forwarded-host') ?? header('host') ?? 'localhost';
  return `${proto}://${host}`;
}
