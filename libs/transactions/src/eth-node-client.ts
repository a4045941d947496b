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
 * HTTP JSON-RPC client for the Ethereum node. Uses Node's global fetch (undici), which keeps
 * connections alive across requests by default, so the hot path pays no TCP handshake.
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
  private readonly url: string;
  private readonly headers: Record<string, string>;
  private nextId = 1;

  constructor(private readonly options: EthNodeClientOptions) {
    const url = new URL(options.url);
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json', ...options.headers };
    if (url.username || url.password) {
      headers['authorization'] = `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`;
      url.username = '';
      url.password = '';
    }
    this.url = url.toString();
    this.headers = headers;
  }

  get timeoutMs(): number {
    return this.options.timeoutMs;
  }

  /** Posts a body as is and returns the node's answer as is (pass-through). */
  async post(body: string): Promise<RawNodeResponse> {
    try {
      const response = await fetch(this.url, { method: 'POST', headers: this.headers, body, signal: AbortSignal.timeout(this.options.timeoutMs) });
      const text = await response.text();
      return { status: response.status, body: text, contentType: response.headers.get('content-type') ?? 'application/json' };
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
    if (name === 'TimeoutError' || name === 'AbortError') {
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
