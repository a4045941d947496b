import { RpcException } from '@nestjs/microservices';
import { ContractViolationError, ErrorCode, type Route, type WireError } from '@hsm-signer/contracts';

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

function rpcError(error: WireError): RpcException {
  return new RpcException(error);
}
