import { InvalidRequestError, JsonRpcError, ParseError } from './errors';
import type { JsonRpcId, JsonRpcRequest } from './types';

/** One element of a batch: a valid request, or the error to answer it with (its id when readable). */
export type BatchEntry = { ok: true; request: JsonRpcRequest } | { ok: false; id: JsonRpcId; error: JsonRpcError };

export type JsonRpcPayload = { kind: 'single'; request: JsonRpcRequest } | { kind: 'batch'; entries: BatchEntry[] };

/**
 * Parses an HTTP body into a single request or a batch. Not JSON → ParseError (-32700, HTTP 400);
 * a single object that is not a request, or an empty batch → InvalidRequestError (-32600, HTTP 400).
 * Inside a batch an invalid element becomes an error entry; the others still run (JSON-RPC 2.0 §6).
 */
export function parseJsonRpcPayload(body: string, options: { maxBatchSize?: number } = {}): JsonRpcPayload {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (error) {
    throw new ParseError(undefined, { cause: error });
  }
  if (Array.isArray(value)) {
    if (value.length === 0) throw new InvalidRequestError('empty batch');
    if (options.maxBatchSize !== undefined && value.length > options.maxBatchSize) {
      throw new InvalidRequestError(`batch of ${value.length} requests exceeds the limit of ${options.maxBatchSize}`);
    }
    return {
      kind: 'batch',
      entries: value.map((item): BatchEntry => {
        const checked = checkRequest(item);
        return typeof checked === 'string' ? { ok: false, id: readableId(item), error: new InvalidRequestError(checked) } : { ok: true, request: checked };
      }),
    };
  }
  const checked = checkRequest(value);
  if (typeof checked === 'string') throw new InvalidRequestError(checked);
  return { kind: 'single', request: checked };
}

/** The request, or a sentence saying what is wrong with it. */
function checkRequest(value: unknown): JsonRpcRequest | string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'expected a JSON-RPC request object';
  const r = value as Record<string, unknown>;
  if (r['jsonrpc'] !== '2.0') return 'jsonrpc must be "2.0"';
  if (typeof r['method'] !== 'string' || r['method'] === '') return 'method must be a non-empty string';
  const params = r['params'];
  if (params !== undefined && (typeof params !== 'object' || params === null)) return 'params must be an array or an object';
  const id = r['id'];
  if (id !== undefined && id !== null && typeof id !== 'string' && typeof id !== 'number') return 'id must be a string, a number or null';
  return value as JsonRpcRequest;
}

function readableId(value: unknown): JsonRpcId {
  if (typeof value !== 'object' || value === null) return null;
  const id = (value as Record<string, unknown>)['id'];
  return typeof id === 'string' || typeof id === 'number' ? id : null;
}
