/**
 * Shared by the cloud connectors (Azure Key Vault, Vault ethsign, AWS KMS): is a client-library
 * failure a transport problem (the service is unreachable → the backend is unavailable and the
 * registry reconnects), and a reason string that can never carry a secret.
 */

/** Socket, DNS and TLS failures as Node, undici and axios report them. */
const TRANSPORT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'EPROTO',
  'ERR_SOCKET_CONNECTION_TIMEOUT',
  'ERR_NETWORK',
  'ERR_BAD_RESPONSE',
  'REQUEST_SEND_ERROR',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_SOCKET',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED',
  'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE',
  'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA',
]);

const TRANSPORT_NAMES = new Set(['TimeoutError', 'AbortError', 'RequestTimeout']);

interface ErrorLike {
  name?: unknown;
  message?: unknown;
  code?: unknown;
  cause?: { code?: unknown };
}

/**
 * The errno-style code of a failure. Not `instanceof Error`: errors may come from another realm
 * (jest's VM), and the AWS SDK then wraps them as "AWS SDK error wrapper for Error: connect
 * ECONNREFUSED …", keeping the code only in the message.
 */
function codeOf(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const e = error as ErrorLike;
  if (typeof e.code === 'string') return e.code;
  if (typeof e.cause?.code === 'string') return e.cause.code;
  const inMessage = typeof e.message === 'string' ? /\b(E[A-Z]{3,}|ERR_[A-Z0-9_]+)\b/.exec(e.message) : null;
  return inMessage && (TRANSPORT_CODES.has(inMessage[1]) || inMessage[1].startsWith('ERR_SSL_')) ? inMessage[1] : undefined;
}

/** True when the request never got an answer from the service (down, unreachable, TLS refused, timed out). */
export function isTransportError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const e = error as ErrorLike;
  const code = codeOf(error);
  if (code && (TRANSPORT_CODES.has(code) || code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_') || code.startsWith('UND_ERR_'))) return true;
  if (typeof e.name === 'string' && TRANSPORT_NAMES.has(e.name)) return true;
  return typeof e.message === 'string' && /socket hang up|timeout of \d+ms exceeded|certificate required|alert/i.test(e.message);
}

/** "connection refused (ECONNREFUSED)", or the error's first line; never more than 300 characters. */
export function transportReason(error: unknown): string {
  const code = codeOf(error);
  const friendly: Record<string, string> = {
    ECONNREFUSED: 'connection refused',
    ECONNRESET: 'connection reset',
    ETIMEDOUT: 'timed out',
    ECONNABORTED: 'timed out',
    ENOTFOUND: 'host not found',
    EAI_AGAIN: 'DNS lookup failed',
  };
  if (code && friendly[code]) return `${friendly[code]} (${code})`;
  const message = typeof (error as ErrorLike)?.message === 'string' ? ((error as ErrorLike).message as string) : String(error);
  return firstLine(code && !message.includes(code) ? `${message} (${code})` : message);
}

export function firstLine(text: string, max = 300): string {
  const line = text.split('\n').map((l) => l.trim()).filter(Boolean).join(' ');
  return line.length > max ? `${line.slice(0, max)}…` : line;
}

/**
 * Replaces every occurrence of a secret (and of secrets' significant fragments) in a reason string.
 * Belt and braces: reasons are built from status codes and service messages, which do not echo
 * credentials, but a misconfiguration could (e.g. a secret pasted into a URL or a role name).
 */
export function redact(text: string, secrets: ReadonlyArray<string | undefined>): string {
  let out = text;
  for (const secret of secrets) {
    if (!secret || secret.length < 4) continue;
    out = out.split(secret).join('***');
  }
  return out;
}

/** Runs `fn` over `items` with at most `limit` in flight (GetKey / GetPublicKey fan-out stays polite). */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  });
  await Promise.all(workers);
  return out;
}
