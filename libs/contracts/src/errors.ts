/**
 * Stable error codes shared by every service (FireFly-signer style: one catalogue, asserted on in
 * tests). A code travels over NATS in {@link WireError}; gateways map it to JSON-RPC / HTTP.
 */
export const ErrorCode = {
  /** A request payload failed validation. */
  InvalidRequest: 'HSM10001',
  /** `from` names no key known to key-discovery. */
  UnknownAccount: 'HSM10002',
  /** The account exists but its backend cannot sign now (down, stale, credentials). */
  BackendUnavailable: 'HSM20001',
  /** The backend no longer holds the referenced key. */
  KeyNotFound: 'HSM20002',
  /** The backend refused or failed to sign. */
  SigningFailed: 'HSM20003',
  /** The signature did not recover to the expected sender. */
  SignatureMismatch: 'HSM20004',
  /** The backend cannot sign this kind of transaction (e.g. type 2 on a legacy-only backend). */
  UnsupportedTransaction: 'HSM20005',
  /** The nonce ledger refused the request (e.g. idempotency key reused with another payload). */
  NonceConflict: 'HSM30001',
  /** A client request id was already used with another payload, account or chain: refused, the first request keeps it. */
  RequestIdReused: 'HSM30004',
  /** A repeat of a request id whose first send is still in progress: retry shortly (its hash, or a free id, follows). */
  RequestInFlight: 'HSM30005',
  /** A referenced ledger transaction does not exist. */
  TransactionNotFound: 'HSM30002',
  /** The nonce ledger's database cannot be reached right now (down, restarting): retry shortly. */
  LedgerUnavailable: 'HSM30003',
  /** The Ethereum node could not be reached. */
  NodeUnavailable: 'HSM40001',
  /** Anything unexpected. The message says what; the logs have the cause. */
  Internal: 'HSM99999',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** The error body a NATS responder returns instead of a reply. */
export interface WireError {
  code: ErrorCode;
  message: string;
}

export function isWireError(value: unknown): value is WireError {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as WireError).code === 'string' &&
    typeof (value as WireError).message === 'string'
  );
}
