import {
  DownstreamResponseError,
  failureResponse,
  isErrorObject,
  type BatchEntry,
  type JsonRpcError,
  type JsonRpcId,
  type JsonRpcRequest,
  type JsonRpcResponse,
} from '@hsm-signer/ethereum';

/**
 * How one batch is split: entries the gateway answers itself, entries forwarded to the node as ONE
 * upstream batch, and entries that were invalid to begin with. Positions are kept so the answer can
 * be merged back in the client's order with the client's ids.
 */
export interface BatchPlan {
  size: number;
  local: Array<{ index: number; request: JsonRpcRequest }>;
  forward: Array<{ index: number; request: JsonRpcRequest }>;
  invalid: Array<{ index: number; id: JsonRpcId; error: JsonRpcError }>;
}

export function planBatch(entries: BatchEntry[], isLocal: (method: string) => boolean): BatchPlan {
  const plan: BatchPlan = { size: entries.length, local: [], forward: [], invalid: [] };
  entries.forEach((entry, index) => {
    if (!entry.ok) plan.invalid.push({ index, id: entry.id, error: entry.error });
    else if (isLocal(entry.request.method)) plan.local.push({ index, request: entry.request });
    else plan.forward.push({ index, request: entry.request });
  });
  return plan;
}

/**
 * The upstream batch. Each forwarded request gets its batch position as id, because clients may
 * reuse ids (or send null) within one batch and the answers must still be matched one to one.
 * Notifications stay notifications.
 */
export function upstreamRequests(plan: BatchPlan): JsonRpcRequest[] {
  return plan.forward.map(({ index, request }) => (request.id === undefined ? request : { ...request, id: index }));
}

/** What came back for the upstream batch: the parsed body, or why there is none. */
export type UpstreamOutcome = { ok: true; status: number; body: unknown } | { ok: false; error: JsonRpcError };

/**
 * Merges local answers, upstream answers and invalid-entry errors into the client's order with the
 * client's ids. Notifications get no entry (JSON-RPC 2.0 §6). A forwarded request the node did not
 * answer gets -32000 "Invalid response from downstream node"; an upstream failure (unreachable,
 * timeout) becomes that error for every forwarded request.
 */
export function mergeBatch(plan: BatchPlan, local: Map<number, JsonRpcResponse>, upstream: UpstreamOutcome | undefined): JsonRpcResponse[] {
  const out = new Array<JsonRpcResponse | undefined>(plan.size);
  for (const { index, id, error } of plan.invalid) out[index] = failureResponse(id, error.toJSON());
  for (const { index, request } of plan.local) {
    if (request.id !== undefined) out[index] = local.get(index) ?? failureResponse(request.id, { code: -32603, message: 'Internal error' });
  }
  if (plan.forward.length > 0) {
    const answers = upstreamAnswers(upstream);
    for (const { index, request } of plan.forward) {
      if (request.id === undefined) continue;
      const answer = answers(index);
      // The node's error object is relayed as it came, whatever its shape.
      out[index] = 'error' in answer ? ({ jsonrpc: '2.0', id: request.id, error: answer.error } as JsonRpcResponse) : { jsonrpc: '2.0', id: request.id, result: answer.result };
    }
  }
  return out.filter((r): r is JsonRpcResponse => r !== undefined);
}

type Answer = { result: unknown } | { error: unknown };

function upstreamAnswers(upstream: UpstreamOutcome | undefined): (index: number) => Answer {
  if (!upstream) return () => ({ error: { code: -32603, message: 'Internal error' } });
  if (!upstream.ok) {
    const error = upstream.error.toJSON();
    return () => ({ error });
  }
  const { body, status } = upstream;
  if (Array.isArray(body)) {
    const byId = new Map<unknown, Answer>();
    for (const item of body) {
      if (typeof item !== 'object' || item === null) continue;
      const r = item as { id?: unknown; result?: unknown; error?: unknown };
      if (r.error !== undefined && r.error !== null) byId.set(r.id, { error: r.error });
      else if ('result' in r) byId.set(r.id, { result: r.result });
    }
    const missing = { error: new DownstreamResponseError(status).toJSON() };
    return (index) => byId.get(index) ?? missing;
  }
  // A node that refuses batches answers with one error object for the whole batch.
  if (typeof body === 'object' && body !== null && isErrorObject((body as { error?: unknown }).error)) {
    const error = (body as { error: unknown }).error;
    return () => ({ error });
  }
  const invalid = { error: new DownstreamResponseError(status).toJSON() };
  return () => invalid;
}
