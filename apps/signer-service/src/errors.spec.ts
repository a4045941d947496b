import { BackendSigningError, BackendUnavailableError, InvalidDigestError, KeyNotFoundError, UnknownBackendError, UnsupportedOperationError } from '@hsm-signer/backends';
import { ErrorCode } from '@hsm-signer/contracts';
import { InvalidPublicKeyError, InvalidTransactionError, MalformedSignatureError, RecoveryIdNotFoundError, SenderMismatchError } from '@hsm-signer/ethereum';
import { ServiceError } from '@hsm-signer/messaging';
import { toServiceError } from './errors';

describe('toServiceError', () => {
  it.each([
    [new BackendUnavailableError('hsm', 'login failed: CKR_PIN_INCORRECT'), ErrorCode.BackendUnavailable],
    [new UnknownBackendError('azure'), ErrorCode.BackendUnavailable],
    [new KeyNotFoundError('hsm', '01'), ErrorCode.KeyNotFound],
    [new BackendSigningError('hsm', 'PKCS#11 signing failed: C_Sign: CKR_FUNCTION_FAILED'), ErrorCode.SigningFailed],
    [new InvalidDigestError('hsm', 31), ErrorCode.SigningFailed],
    [new UnsupportedOperationError('vault', 'type 2 is not supported'), ErrorCode.UnsupportedTransaction],
    [new RecoveryIdNotFoundError('0x' + '11'.repeat(20)), ErrorCode.SignatureMismatch],
    [new SenderMismatchError('0x' + '11'.repeat(20), '0x' + '22'.repeat(20)), ErrorCode.SignatureMismatch],
    [new MalformedSignatureError('expected a 64-byte r||s signature, got 63 bytes'), ErrorCode.SigningFailed],
    [new InvalidPublicKeyError('public key is not a point on secp256k1'), ErrorCode.SigningFailed],
    [new InvalidTransactionError('a type 2 transaction needs maxFeePerGas and maxPriorityFeePerGas'), ErrorCode.InvalidRequest],
  ])('%s → its stable code', (error, code) => {
    const mapped = toServiceError(error);
    expect(mapped).toBeInstanceOf(ServiceError);
    expect((mapped as ServiceError).code).toBe(code);
    expect((mapped as ServiceError).message).toContain(error.message.split(':')[0]);
  });

  it('passes ServiceErrors through and leaves unexpected errors alone (they become HSM99999 in handleRpc)', () => {
    const service = new ServiceError(ErrorCode.KeyNotFound, 'x');
    expect(toServiceError(service)).toBe(service);
    const unexpected = new TypeError('boom');
    expect(toServiceError(unexpected)).toBe(unexpected);
  });
});
