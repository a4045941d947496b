/** Named errors of signature post-processing. Callers branch on the class; messages never carry key material. */

/** The backend's bytes are not a well-formed ECDSA signature (bad DER, wrong length, r or s out of range). */
export class MalformedSignatureError extends Error {
  override readonly name = 'MalformedSignatureError';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/** A public key could not be parsed or is not a valid secp256k1 point. */
export class InvalidPublicKeyError extends Error {
  override readonly name = 'InvalidPublicKeyError';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/**
 * Neither recovery id 0 nor 1 recovers the expected public key: the signature was made by another
 * key, over another digest, or its bytes were corrupted (research/backend-apis.md §E.4 — fail hard).
 */
export class RecoveryIdNotFoundError extends Error {
  override readonly name = 'RecoveryIdNotFoundError';
  constructor(readonly expectedAddress: string, options?: ErrorOptions) {
    super(`signature does not recover to ${expectedAddress} with recovery id 0 or 1`, options);
  }
}

/** The unsigned transaction cannot be built (missing fee fields for its type, bad access list…). */
export class InvalidTransactionError extends Error {
  override readonly name = 'InvalidTransactionError';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/** A signed transaction's sender is not the expected address. */
export class SenderMismatchError extends Error {
  override readonly name = 'SenderMismatchError';
  constructor(
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`signed transaction recovers to ${actual}, expected ${expected}`);
  }
}
