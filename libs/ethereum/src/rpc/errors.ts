import type { JsonRpcErrorObject } from './types';

/**
 * Every error a gateway answers a JSON-RPC client with. The `code` and `message` go on the wire,
 * `httpStatus` is the status of a single (non-batch) response, `data` is optional detail. Anything
 * internal stays in `cause` (logged, never sent).
 *
 * The codes, messages and HTTP statuses copy Web3Signer's so clients written against it keep
 * working (research/rpc-signers.md §1.8 and §7).
 */
export class JsonRpcError extends Error {
  override name = 'JsonRpcError';
  readonly httpStatus: number;
  readonly data?: unknown;

  constructor(
    readonly code: number,
    message: string,
    options: { httpStatus?: number; data?: unknown; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.httpStatus = options.httpStatus ?? 200;
    if (options.data !== undefined) this.data = options.data;
  }

  toJSON(): JsonRpcErrorObject {
    return this.data === undefined ? { code: this.code, message: this.message } : { code: this.code, message: this.message, data: this.data };
  }
}

/** Standard codes (JSON-RPC 2.0 §5.1) and the -32000 server errors Web3Signer uses. */
export const JsonRpcErrorCode = {
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  Internal: -32603,
  Server: -32000,
} as const;

/** The body is not JSON. HTTP 400 (research/rpc-signers.md §1.8). */
export class ParseError extends JsonRpcError {
  override name = 'ParseError';
  constructor(detail?: string, options: { cause?: unknown } = {}) {
    super(JsonRpcErrorCode.ParseError, detail ? `Parse error: ${detail}` : 'Parse error', { httpStatus: 400, ...options });
  }
}

/** JSON, but not a JSON-RPC request (no method, wrong version, empty batch…). HTTP 400. */
export class InvalidRequestError extends JsonRpcError {
  override name = 'InvalidRequestError';
  constructor(detail?: string, options: { httpStatus?: number } = {}) {
    super(JsonRpcErrorCode.InvalidRequest, detail ? `Invalid Request: ${detail}` : 'Invalid Request', { httpStatus: options.httpStatus ?? 400 });
  }
}

/** Bad or missing parameters: missing `from`, a hex quantity that is not a number, … HTTP 400. */
export class InvalidParamsError extends JsonRpcError {
  override name = 'InvalidParamsError';
  constructor(detail?: string, options: { cause?: unknown } = {}) {
    super(JsonRpcErrorCode.InvalidParams, detail ? `Invalid params: ${detail}` : 'Invalid params', { httpStatus: 400, ...options });
  }
}

/**
 * Something failed on our side (signing, a malformed reply from a service). The message says what
 * in one line; the cause goes to the log. HTTP 400 during a send as Web3Signer, 500 otherwise.
 */
export class InternalJsonRpcError extends JsonRpcError {
  override name = 'InternalJsonRpcError';
  constructor(detail?: string, options: { httpStatus?: number; cause?: unknown } = {}) {
    super(JsonRpcErrorCode.Internal, detail ? `Internal error: ${detail}` : 'Internal error', { httpStatus: options.httpStatus ?? 500, cause: options.cause });
  }
}

export const NO_UNLOCKED_ACCOUNT_MESSAGE = 'No unlocked account matches the Sender';
export const DOWNSTREAM_UNAVAILABLE_MESSAGE = 'Failed to connect to downstream node';
export const DOWNSTREAM_TIMEOUT_MESSAGE = 'Connection to downstream node timed out';

/** `from` names no key we can sign with (unknown, or not an address at all). HTTP 400. */
export class NoUnlockedAccountError extends JsonRpcError {
  override name = 'NoUnlockedAccountError';
  constructor(readonly address?: string, options: { cause?: unknown } = {}) {
    super(JsonRpcErrorCode.Server, NO_UNLOCKED_ACCOUNT_MESSAGE, { httpStatus: 400, ...options });
  }
}

/**
 * The node could not be reached. `requestSent` is false when the connection was never established,
 * i.e. the node certainly did not receive the request — the one case where a signed transaction is
 * known not to have been submitted. HTTP 504 (502 would be TLS in Web3Signer; we do not split it).
 */
export class DownstreamUnavailableError extends JsonRpcError {
  override name = 'DownstreamUnavailableError';
  constructor(readonly requestSent: boolean, options: { cause?: unknown } = {}) {
    super(JsonRpcErrorCode.Server, DOWNSTREAM_UNAVAILABLE_MESSAGE, { httpStatus: 504, ...options });
  }
}

/** The node did not answer within the timeout (the request may have arrived). HTTP 504. */
export class DownstreamTimeoutError extends JsonRpcError {
  override name = 'DownstreamTimeoutError';
  constructor(readonly timeoutMs: number, options: { cause?: unknown } = {}) {
    super(JsonRpcErrorCode.Server, DOWNSTREAM_TIMEOUT_MESSAGE, { httpStatus: 504, ...options });
  }
}

/** The node answered, but not with JSON-RPC (an HTML error page from a proxy, a truncated body). HTTP 502. */
export class DownstreamResponseError extends JsonRpcError {
  override name = 'DownstreamResponseError';
  constructor(readonly upstreamStatus: number, options: { cause?: unknown } = {}) {
    super(JsonRpcErrorCode.Server, `Invalid response from downstream node (HTTP ${upstreamStatus})`, { httpStatus: 502, ...options });
  }
}

/**
 * One of our own services (signer-service, nonce-service, key-discovery) did not answer: nobody
 * subscribed, the request timed out, or NATS is down. The message names the service so an operator
 * knows what to restart. HTTP 503.
 */
export class ServiceUnavailableError extends JsonRpcError {
  override name = 'ServiceUnavailableError';
  constructor(
    readonly service: string,
    reason: string,
    options: { cause?: unknown } = {},
  ) {
    super(JsonRpcErrorCode.Server, `${service} is not available: ${reason}`, { httpStatus: 503, ...options });
  }
}

/** Whatever was thrown, as the JSON-RPC error a client may see (unknown errors say nothing more). */
export function toJsonRpcError(error: unknown): JsonRpcError {
  if (error instanceof JsonRpcError) return error;
  return new InternalJsonRpcError(undefined, { cause: error });
}
