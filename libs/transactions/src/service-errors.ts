import { ErrorCode } from '@hsm-signer/contracts';
import {
  DownstreamUnavailableError,
  InternalJsonRpcError,
  InvalidParamsError,
  JsonRpcError,
  JsonRpcErrorCode,
  NoUnlockedAccountError,
  ServiceUnavailableError,
} from '@hsm-signer/ethereum';
import { MessagingUnavailableError, NoRespondersError, RemoteServiceError, RequestTimeoutError } from '@hsm-signer/messaging';

/** Which app answers a subject, so an error can say what to look at. */
export function serviceOf(subject: string): string {
  if (subject.startsWith('hsm.v1.signer.')) return 'signer-service';
  if (subject.startsWith('hsm.v1.nonce.')) return 'nonce-service';
  if (subject.startsWith('hsm.v1.accounts.')) return 'key-discovery';
  return subject;
}

/**
 * Maps a failure of a NATS request to the JSON-RPC error a client gets. Nobody subscribed or no
 * answer within the timeout → -32000 "<service> is not available: …" (HTTP 503), naming the service
 * and subject; a service's own error → by its stable {@link ErrorCode}. Everything keeps `cause`.
 */
export function toClientError(error: unknown): JsonRpcError {
  if (error instanceof JsonRpcError) return error;
  if (error instanceof NoRespondersError) {
    return new ServiceUnavailableError(serviceOf(error.subject), `nothing answers on ${error.subject} (is it running?)`, { cause: error });
  }
  if (error instanceof RequestTimeoutError) {
    return new ServiceUnavailableError(serviceOf(error.subject), `no answer on ${error.subject} within ${error.timeoutMs} ms`, { cause: error });
  }
  if (error instanceof MessagingUnavailableError) return new ServiceUnavailableError('NATS', error.message, { cause: error });
  if (error instanceof RemoteServiceError) return fromRemote(error);
  return new InternalJsonRpcError(undefined, { cause: error });
}

function fromRemote(error: RemoteServiceError): JsonRpcError {
  const service = serviceOf(error.subject);
  switch (error.code) {
    case ErrorCode.UnknownAccount:
    case ErrorCode.KeyNotFound:
      return new NoUnlockedAccountError(undefined, { cause: error });
    case ErrorCode.UnsupportedTransaction:
      return new InvalidParamsError(error.message, { cause: error });
    case ErrorCode.BackendUnavailable:
      return new ServiceUnavailableError('signing backend', error.message, { cause: error });
    case ErrorCode.SigningFailed:
    case ErrorCode.SignatureMismatch:
      // Web3Signer answers a failed signature during a send with -32603 and HTTP 400 (research/rpc-signers.md §1.8).
      return new InternalJsonRpcError(`signing failed: ${error.message}`, { httpStatus: 400, cause: error });
    case ErrorCode.NonceConflict:
    case ErrorCode.RequestIdReused:
    case ErrorCode.RequestInFlight:
      return new JsonRpcError(JsonRpcErrorCode.Server, error.message, { httpStatus: 409, cause: error });
    case ErrorCode.NodeUnavailable:
      return new DownstreamUnavailableError(true, { cause: error });
    case ErrorCode.LedgerUnavailable:
      return new ServiceUnavailableError(service, error.message, { cause: error });
    default:
      return new InternalJsonRpcError(`${service}: ${error.message}`, { cause: error });
  }
}
