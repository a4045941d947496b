import { JsonRpcError, JsonRpcErrorCode, failureResponse } from '@hsm-signer/ethereum';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { HostList, OriginList } from './allow-lists';
import { preflightHeaders, setResponseHeaders } from './cors';

export interface AccessGateOptions {
  /** RPC_CORS_ORIGINS; undefined = none. */
  corsOrigins?: readonly string[];
  /** RPC_VHOSTS */
  vhosts: readonly string[];
  /** RPC_WS_ORIGINS; undefined = the CORS list. */
  wsOrigins?: readonly string[];
  logger: Pick<Logger, 'debug' | 'warn'>;
}

/** A refused request: HTTP 403 with a JSON-RPC error body naming the setting to change. */
export interface Refusal {
  status: 403;
  body: string;
}

/** Longest piece of a client's Host / Origin quoted back in a refusal. */
const QUOTE_LIMIT = 200;

/**
 * Who may talk to the endpoint, checked before anything else on every HTTP request and WebSocket
 * upgrade (create-gateway.ts, ws/ws-endpoint.ts):
 * - Host (RPC_VHOSTS, geth's --http.vhosts) → 403 when not allowed.
 * - Origin, only when the header is there (browsers always send it on POST, on CORS requests and on
 *   WebSocket handshakes; other clients do not, and are never affected, as in geth's ws check):
 *   not in RPC_CORS_ORIGINS (HTTP) / RPC_WS_ORIGINS (upgrade) → 403, like Web3Signer's
 *   --http-cors-origins (research/rpc-signers.md §1.3). Answering without CORS headers alone would
 *   let any web page *send* eth_sendTransaction as a "simple" text/plain POST (it only could not
 *   read the answer); geth stops that with a content-type check, which would break `curl -d`.
 * - An allowed origin's preflight is answered here (204); its other requests go on with
 *   Access-Control-Allow-Origin and Vary: Origin set.
 * At the defaults (vhosts `*`, no Origin header) a request costs one boolean and one header read.
 */
export class AccessGate {
  private readonly hosts: HostList;
  private readonly cors: OriginList;
  private readonly ws: OriginList;
  private readonly wsFollowsCors: boolean;

  constructor(private readonly options: AccessGateOptions) {
    this.hosts = new HostList(options.vhosts);
    this.cors = new OriginList(options.corsOrigins ?? []);
    this.wsFollowsCors = options.wsOrigins === undefined;
    this.ws = options.wsOrigins === undefined ? this.cors : new OriginList(options.wsOrigins);
    if (this.hosts.any && (this.cors.any || this.ws.any)) {
      options.logger.warn('every browser origin may call the JSON-RPC endpoint and every Host is accepted: set RPC_VHOSTS to the host names clients use (DNS rebinding)');
    }
  }

  /** HTTP: true = carry on (CORS headers set when due); false = already answered (403, or a preflight's 204). */
  admit(req: IncomingMessage, res: ServerResponse): boolean {
    const headers = req.headers;
    if (!this.hosts.allows(headers.host)) return this.answer(req, res, this.hostRefusal(headers.host ?? ''));
    const origin = headers.origin;
    if (!origin) return true;
    if (!this.cors.allows(origin)) return this.answer(req, res, this.originRefusal(origin, 'RPC_CORS_ORIGINS'));
    const allowOrigin = this.cors.any ? '*' : origin;
    if (req.method === 'OPTIONS' && headers['access-control-request-method'] !== undefined) {
      res.writeHead(204, preflightHeaders(allowOrigin, headers['access-control-request-headers'])).end();
      return false;
    }
    setResponseHeaders(res, allowOrigin);
    return true;
  }

  /** WebSocket upgrade: the refusal to send, or undefined to accept. */
  upgradeRefusal(req: IncomingMessage): Refusal | undefined {
    const { host, origin } = req.headers;
    if (!this.hosts.allows(host)) return this.hostRefusal(host ?? '');
    if (origin && !this.ws.allows(origin)) return this.originRefusal(origin, this.wsFollowsCors ? 'RPC_WS_ORIGINS (unset: RPC_CORS_ORIGINS applies)' : 'RPC_WS_ORIGINS');
    return undefined;
  }

  private hostRefusal(host: string): Refusal {
    this.options.logger.debug({ host }, 'request refused: Host not allowed');
    return refusal(`Host ${quote(host)} is not allowed: add it to RPC_VHOSTS (comma-separated host names, * for any)`);
  }

  private originRefusal(origin: string, setting: string): Refusal {
    this.options.logger.debug({ origin }, 'request refused: Origin not allowed');
    return refusal(`Origin ${quote(origin)} is not allowed: add it to ${setting} (comma-separated origins, * for any)`);
  }

  private answer(req: IncomingMessage, res: ServerResponse, r: Refusal): false {
    res.writeHead(r.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(r.body) }).end(r.body);
    req.resume(); // a POST body nobody reads
    return false;
  }
}

function refusal(message: string): Refusal {
  return { status: 403, body: JSON.stringify(failureResponse(null, new JsonRpcError(JsonRpcErrorCode.Server, message, { httpStatus: 403 }).toJSON())) };
}

function quote(value: string): string {
  return JSON.stringify(value.length > QUOTE_LIMIT ? `${value.slice(0, QUOTE_LIMIT)}…` : value);
}
