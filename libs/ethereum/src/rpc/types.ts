/**
 * JSON-RPC 2.0 wire types (https://www.jsonrpc.org/specification). Ids are kept exactly as the
 * client sent them: a gateway must answer with the same id value and type.
 */
export type JsonRpcId = string | number | null;

export type JsonRpcParams = unknown[] | Record<string, unknown>;

export interface JsonRpcRequest {
  jsonrpc: '2.0';
  method: string;
  params?: JsonRpcParams;
  /** Absent (undefined) for a notification, which gets no response. */
  id?: JsonRpcId;
}

export interface JsonRpcErrorObject {
  code: number;
  message: string;
  data?: unknown;
}

export interface JsonRpcSuccess<T = unknown> {
  jsonrpc: '2.0';
  id: JsonRpcId;
  result: T;
}

export interface JsonRpcFailure {
  jsonrpc: '2.0';
  id: JsonRpcId;
  error: JsonRpcErrorObject;
}

export type JsonRpcResponse<T = unknown> = JsonRpcSuccess<T> | JsonRpcFailure;

export function isNotification(request: JsonRpcRequest): boolean {
  return request.id === undefined;
}

export function successResponse<T>(id: JsonRpcId | undefined, result: T): JsonRpcSuccess<T> {
  return { jsonrpc: '2.0', id: id ?? null, result };
}

export function failureResponse(id: JsonRpcId | undefined, error: JsonRpcErrorObject): JsonRpcFailure {
  return { jsonrpc: '2.0', id: id ?? null, error };
}

export function isJsonRpcFailure(value: unknown): value is JsonRpcFailure {
  return typeof value === 'object' && value !== null && 'error' in value && isErrorObject((value as JsonRpcFailure).error);
}

export function isErrorObject(value: unknown): value is JsonRpcErrorObject {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as JsonRpcErrorObject).code === 'number' &&
    typeof (value as JsonRpcErrorObject).message === 'string'
  );
}
