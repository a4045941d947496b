import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';

/**
 * CORS response headers of the JSON-RPC endpoint (RPC_CORS_ORIGINS), pure. What geth's
 * --http.corsdomain answers (go-ethereum node/rpcstack.go newCorsHandler: methods POST and GET, any
 * requested header, max-age 600), plus OPTIONS and our X-Request-Id.
 */

/** POST / (JSON-RPC), GET /health, and OPTIONS itself. */
export const CORS_ALLOW_METHODS = 'POST, GET, OPTIONS';
/**
 * Always allowed: content-type (application/json is not a CORS-safelisted type, so every dapp call
 * is preflighted for it) and X-Request-Id, the idempotency key of sends (rpc.controller.ts).
 */
export const CORS_BASE_HEADERS = 'content-type, x-request-id';
/** How long a browser may reuse a preflight answer (geth's value). */
export const CORS_MAX_AGE_SECONDS = 600;

// A comma-separated list of header names (RFC 9110 tokens); anything else is not echoed.
const HEADER_NAMES = /^[!#$%&'*+.^_`|~0-9a-z-]+(?:[ \t]*,[ \t]*[!#$%&'*+.^_`|~0-9a-z-]+)*$/i;
const MAX_REQUESTED_HEADERS_LENGTH = 1024;
const BASE = new Set(CORS_BASE_HEADERS.split(', '));

/**
 * Access-Control-Allow-Headers for a preflight: ours plus whatever the browser asked for in
 * Access-Control-Request-Headers (geth allows any header: the endpoint reads none of them except
 * X-Request-Id, and no credentials are ever allowed). A list that is not header names is ignored.
 */
export function allowedRequestHeaders(requested: string | undefined): string {
  const list = requested?.trim();
  if (!list || list.length > MAX_REQUESTED_HEADERS_LENGTH || !HEADER_NAMES.test(list)) return CORS_BASE_HEADERS;
  const extra = new Set<string>();
  for (const name of list.split(',')) {
    const h = name.trim().toLowerCase();
    if (h !== '*' && !BASE.has(h)) extra.add(h);
  }
  return extra.size === 0 ? CORS_BASE_HEADERS : `${CORS_BASE_HEADERS}, ${[...extra].join(', ')}`;
}

/** The 204 answer to a preflight from an allowed origin; `allowOrigin` is the Origin, or `*` under RPC_CORS_ORIGINS=*. */
export function preflightHeaders(allowOrigin: string, requestedHeaders: string | undefined): OutgoingHttpHeaders {
  return {
    'access-control-allow-origin': allowOrigin,
    'access-control-allow-methods': CORS_ALLOW_METHODS,
    'access-control-allow-headers': allowedRequestHeaders(requestedHeaders),
    'access-control-max-age': String(CORS_MAX_AGE_SECONDS),
    vary: 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers',
    'content-length': '0',
  };
}

/**
 * Sets the headers of every other response to an allowed origin (before the handler answers). No
 * Access-Control-Expose-Headers: the gateway sets no response header a dapp would read (X-Request-Id
 * is a request header only; a relayed node answer carries status, body and content type).
 */
export function setResponseHeaders(res: Pick<ServerResponse, 'setHeader'>, allowOrigin: string): void {
  res.setHeader('access-control-allow-origin', allowOrigin);
  res.setHeader('vary', 'Origin');
}
