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
