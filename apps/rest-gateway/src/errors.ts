import { JsonRpcError, NodeError, NoUnlockedAccountError } from '@hsm-signer/ethereum';
import { isDatabaseUnavailable } from '@hsm-signer/persistence';
import { ErrorCode } from '@hsm-signer/contracts';
import { RemoteServiceError } from '@hsm-signer/messaging';

/**
 * REST errors, ethconnect-compatible: the body is `{"error": "<message>", "code": "<code>"}`
 * (research/rest-gateway.md §2.9, FE errors/errors.go). Where ethconnect has a code for the same
 * condition we answer with its FFEC code and HTTP status, so a client written against ethconnect
 * keeps working; conditions ethconnect does not have get our own HSM codes (libs/contracts errors.ts).
 */
export const RestErrorCode = {
  /** 400: the body is neither JSON nor YAML (FFEC100063). */
  BodyUnparsable: 'FFEC100063',
  /** 413: the body is over the limit (FFEC100061). */
  BodyTooLarge: 'FFEC100061',
  /** 404: `from` is not an address (FFEC100097). */
  InvalidFrom: 'FFEC100097',
  /** 400: `from` missing on a transaction (FFEC100099). */
  MissingFrom: 'FFEC100099',
  /** 404: the {address} path segment is not an address (FFEC100096). */
  InvalidAddress: 'FFEC100096',
  /** 404: method or event not in the ABI (FFEC100095). */
  MethodNotFound: 'FFEC100095',
  /** 400: an ABI input is missing from body and query (FFEC100098). */
  MissingParameter: 'FFEC100098',
  /** 400: a value cannot be converted to its ABI type (FFEC100160 family). */
  InvalidParameter: 'FFEC100160',
  /** 400: more parameters than the ABI has inputs (FFEC100178). */
  TooManyParameters: 'FFEC100178',
  /** 400: null given for an ABI input (FFEC100163). */
  NullParameter: 'FFEC100163',
  /** 404: unknown ABI id (FFEC100127 on method routes; ethconnect answers 500 there, we answer 404). */
  AbiNotFound: 'FFEC100127',
  /** 404: unknown registered contract name (FFEC100125). */
  ContractNameNotFound: 'FFEC100125',
  /** 404: address not registered (FFEC100126). */
  ContractAddressNotFound: 'FFEC100126',
  /** 409: a friendly name already names another contract (FFEC100133). */
  NameConflict: 'FFEC100133',
  /** 400: the ABI upload is not usable (no/invalid abi or bytecode) (FFEC100111 family). */
  InvalidAbiUpload: 'FFEC100111',
  /** 500: eth_call reverted with Error(string) (FFEC100149). */
  CallReverted: 'FFEC100149',
  /** 500: eth_call failed otherwise (FFEC100148). */
  CallFailed: 'FFEC100148',
  /** 500: the transaction named by `transaction` does not call this method (FFEC100142). */
  TransactionMethodMismatch: 'FFEC100142',
  /** 500: sync send timed out waiting for the receipt (FFEC100107). */
  ReceiptTimeout: 'FFEC100107',
  /** 404: no reply stored under the id (FFEC100085). */
  ReceiptNotFound: 'FFEC100085',
  /** 400: a `/replies` query argument is invalid (FFEC100078). */
  InvalidReplyQuery: 'FFEC100078',
  /** 409: a request id already used (FFEC100219). */
  DuplicateRequestId: 'FFEC100219',
  /** 400: invalid `blocknumber` (FFEC100183). */
  InvalidBlockNumber: 'FFEC100183',
  /** 400: a webhook message without headers / type / from, or an unknown type (FFEC100193-100196). */
  InvalidMessage: 'FFEC100193',
  /** 400: `from` is an address, but no backend holds its key (ledger of key-discovery). */
  UnknownAccount: 'HSM10002',
  /** 400: the node refused the transaction (funds, gas, fees, revert on estimate): its message says why. */
  NodeRejected: 'HSM40002',
  /** 500: the transaction was sent but will not be mined (refused later, or its nonce taken by another). */
  NotMined: 'HSM40003',
  /** 409: the nonce ledger refused the request (e.g. a fixed nonce another transaction holds). */
  NonceConflict: 'HSM30001',
  /** 409: the request id's first send is still in progress: retry shortly. */
  RequestInFlight: 'HSM30005',
  /** 400: the request is refused by the send path (e.g. a transaction type the key cannot sign). */
  InvalidRequest: 'HSM10001',
  /** 405: event streams and subscriptions are not built in this gateway (ethconnect's own code when events are not configured). */
  EventsNotSupported: 'FFEC100207',
  /** 400: privacy parameters (Tessera / Orion) are not supported: refused rather than sent as a public transaction. */
  PrivacyNotSupported: 'HSM10003',
  /** 404: route not found. */
  NotFound: 'HSM10404',
  /** 503: a service this request needs (NATS, Postgres, the node) is not reachable right now: retry. */
  Unavailable: 'HSM40001',
  /** 500: anything unexpected; the logs have the cause. */
  Internal: 'HSM99999',
} as const;
export type RestErrorCode = (typeof RestErrorCode)[keyof typeof RestErrorCode];

/** An error with the HTTP status and code the REST API answers with. Thrown by any module; serialised in one place. */
export class RestError extends Error {
  override name = 'RestError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  toBody(): { error: string; code: string } {
    return { error: this.message, code: this.code };
  }
}

/**
 * The REST form of any error the send path or the node throws (the send path throws JsonRpcErrors
 * with causes, libs/transactions). Unavailable services (HTTP 502/503/504 on JSON-RPC) → 503 with
 * the reason, so a client knows to retry; the node's refusals → 400 with the node's own message;
 * anything else → 500 with a message and nothing internal (the logs have the cause).
 */
export function toRestError(error: unknown, context: { from?: string } = {}): RestError {
  if (error instanceof RestError) return error;
  if (error instanceof NoUnlockedAccountError) {
    return new RestError(400, RestErrorCode.UnknownAccount, `No signing key for ${context.from ?? 'the from address'} in any configured backend (key-discovery lists the accounts it found)`, { cause: error });
  }
  if (error instanceof NodeError) return new RestError(400, RestErrorCode.NodeRejected, error.message, { cause: error });
  if (error instanceof JsonRpcError) {
    if (error.httpStatus >= 502 && error.httpStatus <= 504) return new RestError(503, RestErrorCode.Unavailable, error.message, { cause: error });
    if (error.httpStatus === 409) {
      const code = error.cause instanceof RemoteServiceError ? error.cause.code : undefined;
      if (code === ErrorCode.RequestIdReused) return new RestError(409, RestErrorCode.DuplicateRequestId, `Request ID is not unique: ${error.message}`, { cause: error });
      if (code === ErrorCode.RequestInFlight) return new RestError(409, RestErrorCode.RequestInFlight, error.message, { cause: error });
      return new RestError(409, RestErrorCode.NonceConflict, error.message, { cause: error });
    }
    if (error.httpStatus >= 400 && error.httpStatus < 500) return new RestError(error.httpStatus, RestErrorCode.InvalidRequest, error.message, { cause: error });
    return new RestError(500, RestErrorCode.Internal, error.message, { cause: error });
  }
  if (isDatabaseUnavailable(error)) return new RestError(503, RestErrorCode.Unavailable, "The gateway's database is not reachable right now: retry shortly", { cause: error });
  return new RestError(500, RestErrorCode.Internal, 'Internal error (the gateway log has the cause)', { cause: error });
}
