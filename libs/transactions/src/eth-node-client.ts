import { Pool } from 'undici';
import { RequestCoalescer } from '@hsm-signer/messaging';
import {
  DownstreamResponseError,
  DownstreamTimeoutError,
  DownstreamUnavailableError,
  getNodeError,
  isErrorObject,
  type JsonRpcErrorObject,
  type NodeError,
} from '@hsm-signer/ethereum';

export interface EthNodeClientOptions {
  /** Node JSON-RPC URL. user:password in the URL becomes a Basic Authorization header (fetch refuses credentials in URLs). */
  url: string;
  /** One request, connect to last byte. */
  timeoutMs: number;
  /** Extra headers for every request (e.g. a hosted node's API key). */
  headers?: Record<string, string>;
  /**
   * Most calls {@link EthNodeClient.call} puts in one JSON-RPC batch (ETH_NODE_BATCH_MAX). 1 turns
   * coalescing off. Hosted nodes cap batches (geth's default BatchRequestLimit is 1000).
   */
  maxBatch?: number;
}

/** The node's answer as bytes, for relaying verbatim (status, body, content type). */
export interface RawNodeResponse {
  status: number;
  body: string;
  contentType: string;
}

export interface NodeCall {
  method: string;
  params?: unknown[];
}

export type NodeCallResult<T = unknown> = { ok: true; result: T } | { ok: false; error: NodeError };

/**
 * Connection codes meaning "no connection was ever made": the node certainly did not get the
 * request. Anything else (reset, socket closed mid-response) may have reached it.
 */
const NOT_CONNECTED = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT', 'ERR_INVALID_URL']);

/**
 * HTTP JSON-RPC client for the Ethereum node, on an undici connection Pool (keep-alive, one
 * connection per request in flight). Measured here against anvil, client CPU per request: global
 * fetch 414 µs, node:http with a keep-alive Agent 103 µs, undici Pool.request 62 µs (bench notes in
 * bench/README.md): fetch's WHATWG layers are the cost, not HTTP.
 *
 * Failures are told apart the way clients need them (research/rpc-signers.md §1.8):
 * unreachable → {@link DownstreamUnavailableError} (-32000 "Failed to connect to downstream node",
 * HTTP 504); too slow → {@link DownstreamTimeoutError} (504); the node's own JSON-RPC error →
 * a classified {@link NodeError} carrying the node's code, message and data verbatim.
 *
 * Nothing here retries: eth_sendRawTransaction must never be re-sent blindly
 * (research/style-and-performance.md §1.1), and callers decide for the rest.
 */
export class EthNodeClient {
  private readonly pool: Pool;
  private readonly path: string;
  private readonly headers: Record<string, string>;
  private readonly coalescer?: RequestCoalescer<NodeCall, unknown>;
  private nextId = 1;

  constructor(private readonly options: EthNodeClientOptions) {
    const url = new URL(options.url);
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json', ...options.headers };
    if (url.username || url.password) {
      headers['authorization'] = `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`;
    }
    this.pool = new Pool(url.origin, { connectTimeout: options.timeoutMs });
    this.path = `${url.pathname}${url.search}`;
    this.headers = headers;
    const maxBatch = options.maxBatch ?? 1;
    if (maxBatch > 1) {
      this.coalescer = new RequestCoalescer<NodeCall, unknown>(
        async (calls) => (await this.batch(calls)).map((r) => (r.ok ? r.result : r.error)),
        { maxItems: maxBatch },
      );
    }
  }

  /**
   * One JSON-RPC call that shares an HTTP request with the other calls made during this event-loop
   * turn (a JSON-RPC batch of up to `maxBatch`): the send path's estimates and raw sends under load
   * cost the node and the gateway one HTTP exchange per turn instead of one per call. Outcomes are
   * per call, exactly as {@link request}; a transport failure fails every call of that exchange.
   */
  call<T = unknown>(method: string, params: unknown[] = []): Promise<T> {
    if (!this.coalescer) return this.request<T>(method, params);
    return this.coalescer.submit({ method, params }) as Promise<T>;
  }

  /** Closes the connection pool (graceful shutdown). */
  async close(): Promise<void> {
    await this.pool.close();
  }

  get timeoutMs(): number {
    return this.options.timeoutMs;
  }

  /** Posts a body as is and returns the node's answer as is (pass-through). */
  async post(body: string): Promise<RawNodeResponse> {
    try {
      const response = await this.pool.request({ path: this.path, method: 'POST', headers: this.headers, body, signal: AbortSignal.timeout(this.options.timeoutMs) });
      const text = await response.body.text();
      const contentType = response.headers['content-type'];
      return { status: response.statusCode, body: text, contentType: (Array.isArray(contentType) ? contentType[0] : contentType) ?? 'application/json' };
    } catch (error) {
      throw this.transportError(error);
    }
  }

  /** One JSON-RPC call. Throws the node's error as a classified NodeError. */
  async request<T = unknown>(method: string, params: unknown[] = []): Promise<T> {
    const id = this.nextId++;
    const response = await this.post(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
    const body = parseJson(response);
    const result = toResult<T>(body, response);
    if (!result.ok) throw result.error;
    return result.result;
  }

  /**
   * Several calls in one HTTP round trip (a JSON-RPC batch). Each call gets its own result or
   * error; transport failures reject the whole batch.
   */
  async batch(calls: NodeCall[]): Promise<NodeCallResult[]> {
    if (calls.length === 0) return [];
    const firstId = this.nextId;
    this.nextId += calls.length;
    const payload = calls.map((c, i) => ({ jsonrpc: '2.0', id: firstId + i, method: c.method, params: c.params ?? [] }));
    const response = await this.post(JSON.stringify(payload));
    const body = parseJson(response);
    if (!Array.isArray(body)) {
      // A node that refuses batches answers with one error object: it applies to every call.
      const single = toResult(body, response);
      if (single.ok) throw new DownstreamResponseError(response.status);
      return calls.map(() => single);
    }
    const byId = new Map<unknown, unknown>(body.map((item) => [(item as { id?: unknown } | null)?.id, item]));
    return calls.map((_, i) => {
      const item = byId.get(firstId + i);
      if (item === undefined) throw new DownstreamResponseError(response.status);
      return toResult(item, response);
    });
  }

  private transportError(error: unknown): Error {
    // AbortSignal.timeout rejects with a DOMException (not always instanceof Error across realms).
    const name = (error as { name?: unknown } | null)?.name;
    const code = (error as { code?: unknown } | null)?.code;
    // The only abort is our timeout signal (undici: UND_ERR_ABORTED, or the signal's TimeoutError).
    if (name === 'TimeoutError' || name === 'AbortError' || code === 'UND_ERR_ABORTED' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
      return new DownstreamTimeoutError(this.options.timeoutMs, { cause: error });
    }
    return new DownstreamUnavailableError(!neverConnected(error), { cause: error });
  }
}

function neverConnected(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && NOT_CONNECTED.has(code)) return true;
    // undici's "fetch failed" wraps an AggregateError when every address refused.
    if (e instanceof AggregateError && e.errors.every((inner) => NOT_CONNECTED.has(String((inner as { code?: unknown }).code)))) return true;
  }
  return false;
}

function parseJson(response: RawNodeResponse): unknown {
  try {
    return JSON.parse(response.body);
  } catch (error) {
    throw new DownstreamResponseError(response.status, { cause: error });
  }
}

function toResult<T>(item: unknown, response: RawNodeResponse): NodeCallResult<T> {
  if (typeof item !== 'object' || item === null) throw new DownstreamResponseError(response.status);
  const obj = item as { result?: unknown; error?: unknown };
  if (obj.error !== undefined && obj.error !== null) {
    if (!isErrorObject(obj.error)) throw new DownstreamResponseError(response.status);
    return { ok: false, error: getNodeError(obj.error as JsonRpcErrorObject, { httpStatus: response.status }) };
  }
  if (!('result' in obj)) throw new DownstreamResponseError(response.status);
  return { ok: true, result: obj.result as T };
}
