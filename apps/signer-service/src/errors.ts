/**
 * Maps connector and post-processing errors to the stable codes clients see (libs/contracts ErrorCode).
 * Messages say what failed and for which backend / key; they never carry key material or secrets.
 */
import { BackendError } from '@hsm-signer/backends';
import { ErrorCode } from '@hsm-signer/contracts';
import { InvalidPublicKeyError, InvalidTransactionError, MalformedSignatureError, RecoveryIdNotFoundError, SenderMismatchError } from '@hsm-signer/ethereum';
import { ServiceError } from '@hsm-signer/messaging';

export function toServiceError(error: unknown): unknown {
  if (error instanceof ServiceError) return error;
  if (error instanceof BackendError) return new ServiceError(error.code, error.message, { cause: error });
  if (error instanceof RecoveryIdNotFoundError || error instanceof SenderMismatchError) {
    return new ServiceError(ErrorCode.SignatureMismatch, `signature check failed: ${error.message}`, { cause: error });
  }
  if (error instanceof MalformedSignatureError || error instanceof InvalidPublicKeyError) {
    return new ServiceError(ErrorCode.SigningFailed, `backend returned an unusable signature or key: ${error.message}`, { cause: error });
  }
  if (error instanceof InvalidTransactionError) return new ServiceError(ErrorCode.InvalidRequest, error.message, { cause: error });
  return error;
}
