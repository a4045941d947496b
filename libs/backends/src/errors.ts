import { ErrorCode } from '@hsm-signer/contracts';

/**
 * Errors a connector throws on purpose. Each carries the stable ErrorCode signer-service answers
 * with; messages name the backend and the reason, never a PIN, password or token.
 */
export abstract class BackendError extends Error {
  abstract readonly code: ErrorCode;
  constructor(
    readonly backendId: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * The backend cannot be reached or used right now (not connected, token gone, login failed).
 * Triggers a reconnect with backoff unless `retryable` is false: a wrong PIN is not retried on its
 * own, because HSMs (AWS CloudHSM among them) lock an account after repeated failed logins.
 */
export class BackendUnavailableError extends BackendError {
  override readonly name = 'BackendUnavailableError';
  readonly code = ErrorCode.BackendUnavailable;
  readonly retryable: boolean;
  constructor(backendId: string, readonly reason: string, options?: ErrorOptions & { retryable?: boolean }) {
    super(backendId, `backend ${backendId} is unavailable: ${reason}`, options);
    this.retryable = options?.retryable ?? true;
  }
}

/** No backend with this id is configured. */
export class UnknownBackendError extends BackendError {
  override readonly name = 'UnknownBackendError';
  readonly code = ErrorCode.BackendUnavailable;
  constructor(backendId: string) {
    super(backendId, `no backend is configured with id "${backendId}"`);
  }
}

/** The backend does not hold (or no longer holds) the key. */
export class KeyNotFoundError extends BackendError {
  override readonly name = 'KeyNotFoundError';
  readonly code = ErrorCode.KeyNotFound;
  constructor(backendId: string, readonly keyId: string) {
    super(backendId, `backend ${backendId} holds no signing key "${keyId}"`);
  }
}

/** The backend refused or failed to sign. */
export class BackendSigningError extends BackendError {
  override readonly name = 'BackendSigningError';
  readonly code = ErrorCode.SigningFailed;
  constructor(backendId: string, message: string, options?: ErrorOptions) {
    super(backendId, message, options);
  }
}

/** The input to sign is not a 32-byte digest (HSMs sign other lengths silently: research/backend-apis.md §E.7.4). */
export class InvalidDigestError extends BackendError {
  override readonly name = 'InvalidDigestError';
  readonly code = ErrorCode.SigningFailed;
  constructor(backendId: string, length: number) {
    super(backendId, `refusing to sign ${length} bytes: a digest must be exactly 32 bytes`);
  }
}

/** The backend cannot do what was asked (e.g. a type 2 transaction on a legacy-only backend). */
export class UnsupportedOperationError extends BackendError {
  override readonly name = 'UnsupportedOperationError';
  readonly code = ErrorCode.UnsupportedTransaction;
  constructor(backendId: string, message: string) {
    super(backendId, message);
  }
}
