/** A raw JSON-RPC exchange over HTTP, for asserting status codes and error bodies exactly. */
export interface RpcError {
  code: number;
  message: string;
  data?: unknown;
}

export interface RpcResponse<T = unknown> {
  jsonrpc?: string;
  id?: number | string | null;
  result?: T;
  error?: RpcError;
}

export interface HttpExchange<B = unknown> {
  status: number;
  body: B;
  elapsedMs: number;
}

let nextId = 1;

/** POSTs `payload` (an object, an array for a batch, or a raw string sent as-is) and parses the answer. */
export async function post<B = RpcResponse>(url: string, payload: unknown, timeoutMs = 60_000): Promise<HttpExchange<B>> {
  const started = Date.now();
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof payload === 'string' ? payload : JSON.stringify(payload),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  let body: B;
  try {
    body = JSON.parse(text) as B;
  } catch {
    throw new Error(`HTTP ${res.status} from ${url} is not JSON: ${text.slice(0, 300)}`);
  }
  return { status: res.status, body, elapsedMs: Date.now() - started };
}

/** One JSON-RPC call; returns the whole response (result or error) and the HTTP status. */
export function call<T = unknown>(url: string, method: string, params: unknown[] = [], timeoutMs?: number): Promise<HttpExchange<RpcResponse<T>>> {
  return post<RpcResponse<T>>(url, { jsonrpc: '2.0', id: nextId++, method, params }, timeoutMs);
}

/** One JSON-RPC call that must succeed; returns its result. */
export async function result<T = unknown>(url: string, method: string, params: unknown[] = []): Promise<T> {
  const { status, body } = await call<T>(url, method, params);
  if (body.error) throw new Error(`${method} → HTTP ${status} ${JSON.stringify(body.error)}`);
  return body.result as T;
}

export interface MinedReceipt {
  status: string;
  from: string;
  to: string | null;
  contractAddress: string | null;
  gasUsed: string;
  blockNumber: string;
  transactionHash: string;
  logs: unknown[];
}

/** Polls eth_getTransactionReceipt on `url` until the transaction is mined. */
export async function waitForReceipt(url: string, hash: string, timeoutMs = 30_000): Promise<MinedReceipt> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const receipt = await result<MinedReceipt | null>(url, 'eth_getTransactionReceipt', [hash]);
    if (receipt) return receipt;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`transaction ${hash} not mined within ${timeoutMs} ms`);
}

/** Any sign that a stack trace leaked into a client-facing message. */
export function looksLikeStackTrace(text: string): boolean {
  return /\n\s+at\s|\.ts:\d+|\.js:\d+/.test(text);
}
