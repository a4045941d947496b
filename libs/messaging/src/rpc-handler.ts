import { RpcException } from '@nestjs/microservices';
import { ContractViolationError, ErrorCode, parseBatchRequest, type BatchItemResult, type BatchRoute, type Route, type WireError } from '@hsm-signer/contracts';

/** An error a service handler throws on purpose, with a stable code for the caller. */
export class ServiceError extends Error {
  override readonly name = 'ServiceError';
  constructor(readonly code: ErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/**
 * Runs a NestJS @MessagePattern handler body with the route's request validation on receipt, and
 * turns any failure into an RpcException carrying a {@link WireError}. Unexpected errors are
 * reported to `onUnexpected` (logging) and reach the caller as HSM99999 with their message only.
 */
export async function handleRpc<Req, Rep>(
  route: Route<Req, Rep>,
  rawPayload: unknown,
  handler: (request: Req) => Promise<Rep> | Rep,
  onUnexpected?: (error: unknown) => void,
): Promise<Rep> {
  let request: Req;
  try {
    request = route.request(rawPayload);
  } catch (error) {
    if (error instanceof ContractViolationError) throw rpcError({ code: ErrorCode.InvalidRequest, message: error.message });
    throw error;
  }
  try {
    return await handler(request);
  } catch (error) {
    if (error instanceof ServiceError) throw rpcError({ code: error.code, message: error.message });
    onUnexpected?.(error);
    throw rpcError({ code: ErrorCode.Internal, message: error instanceof Error ? error.message : String(error) });
  }
}

/**
 * The batched form of {@link handleRpc} (contracts batch.ts): validates the envelope, then every
 * item with the single route's parser (a bad item gets HSM10001 in its own slot), hands the valid
 * items to `handler` in one call, and returns one result per item in order. `handler` returns a
 * reply or an Error per request; a ServiceError keeps its code, anything else is reported to
 * `onUnexpected` and becomes HSM99999 for that item. Use {@link eachRequest} to run a single-item
 * handler over every item.
 */
export async function handleRpcBatch<Req, Rep>(
  route: BatchRoute<Req, Rep>,
  rawPayload: unknown,
  handler: (requests: Req[]) => Promise<Array<Rep | Error>>,
  onUnexpected?: (error: unknown) => void,
): Promise<{ results: BatchItemResult<Rep>[] }> {
  let items: unknown[];
  try {
    ({ items } = parseBatchRequest(rawPayload));
  } catch (error) {
    if (error instanceof ContractViolationError) throw rpcError({ code: ErrorCode.InvalidRequest, message: error.message });
    throw error;
  }
  const results: BatchItemResult<Rep>[] = new Array(items.length);
  const valid: Req[] = [];
  const slots: number[] = [];
  items.forEach((item, i) => {
    try {
      valid.push(route.item.request(item, `items[${i}]`));
      slots.push(i);
    } catch (error) {
      if (!(error instanceof ContractViolationError)) throw error;
      results[i] = { err: { code: ErrorCode.InvalidRequest, message: error.message } };
    }
  });
  let replies: Array<Rep | Error>;
  try {
    replies = valid.length ? await handler(valid) : [];
  } catch (error) {
    replies = valid.map(() => (error instanceof Error ? error : new Error(String(error), { cause: error })));
  }
  slots.forEach((slot, k) => {
    const reply = replies[k];
    if (!(reply instanceof Error)) {
      results[slot] = { ok: reply };
      return;
    }
    if (reply instanceof ServiceError) {
      results[slot] = { err: { code: reply.code, message: reply.message } };
      return;
    }
    onUnexpected?.(reply);
    results[slot] = { err: { code: ErrorCode.Internal, message: reply.message } };
  });
  return { results };
}

/** Runs a single-request handler over every request of a batch at once; each failure stays with its request. */
export function eachRequest<Req, Rep>(handler: (request: Req) => Promise<Rep> | Rep): (requests: Req[]) => Promise<Array<Rep | Error>> {
  return (requests) =>
    Promise.all(
      requests.map(async (request) => {
        try {
          return await handler(request);
        } catch (error) {
          return error instanceof Error ? error : new Error(String(error), { cause: error });
        }
      }),
    );
}

function rpcError(error: WireError): RpcException {
  return new RpcException(error);
}
