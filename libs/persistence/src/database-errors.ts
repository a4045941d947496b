/**
 * Whether an error means "the database cannot be reached right now" (down, restarting, connection
 * cut), as opposed to a statement that failed on its own merits. Callers turn it into a stable,
 * retryable code instead of passing the driver's text to clients.
 *
 * Postgres SQLSTATE classes (postgresql.org/docs/15/errcodes-appendix.html): 08 connection
 * exception; 57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now (starting up or
 * shutting down). Socket codes from node-postgres, Prisma's DatabaseNotReachable / P1001 / P1017 from
 * the Prisma adapter.
 */
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH']);
const SQLSTATES = new Set(['57P01', '57P02', '57P03']);
const PRISMA_CODES = new Set(['P1001', 'P1002', 'P1017']);
const MESSAGES = /\b(ECONNREFUSED|ECONNRESET|EPIPE|EHOSTUNREACH)\b|Connection terminated|connection is closed|Client has encountered a connection error|DatabaseNotReachable|Can't reach database server|timeout exceeded when trying to connect/i;

export function isDatabaseUnavailable(error: unknown): boolean {
  const seen = new Set<unknown>();
  for (let e: unknown = error; e && typeof e === 'object' && !seen.has(e); e = (e as { cause?: unknown }).cause) {
    seen.add(e);
    const o = e as { code?: unknown; message?: unknown; meta?: unknown };
    const code = typeof o.code === 'string' ? o.code : '';
    if (SOCKET_CODES.has(code) || SQLSTATES.has(code) || code.startsWith('08') || PRISMA_CODES.has(code)) return true;
    if (MESSAGES.test(String(o.message ?? '')) || MESSAGES.test(JSON.stringify(o.meta ?? ''))) return true;
    if (e instanceof AggregateError && e.errors.some((inner) => isDatabaseUnavailable(inner))) return true;
  }
  return false;
}
