import { ErrorCode } from '@hsm-signer/contracts';
import { InternalJsonRpcError, InvalidParamsError, NoUnlockedAccountError, ServiceUnavailableError } from '@hsm-signer/ethereum';
import { MessagingUnavailableError, NoRespondersError, RemoteServiceError, RequestTimeoutError } from '@hsm-signer/messaging';
import { serviceOf, toClientError } from './service-errors';

describe('toClientError (NATS and remote failures → JSON-RPC)', () => {
  it('names the service that did not answer', () => {
    const none = toClientError(new NoRespondersError('hsm.v1.nonce.allocate'));
    expect(none).toBeInstanceOf(ServiceUnavailableError);
    expect(none.toJSON()).toEqual({ code: -32000, message: 'nonce-service is not available: nothing answers on hsm.v1.nonce.allocate (is it running?)' });
    expect(none.httpStatus).toBe(503);
    expect(toClientError(new RequestTimeoutError('hsm.v1.accounts.resolve', 900)).message).toBe('key-discovery is not available: no answer on hsm.v1.accounts.resolve within 900 ms');
    expect(toClientError(new MessagingUnavailableError('NATS connection is closed')).message).toBe('NATS is not available: NATS connection is closed');
  });

  it.each([
    [ErrorCode.UnknownAccount, NoUnlockedAccountError, -32000, 400],
    [ErrorCode.KeyNotFound, NoUnlockedAccountError, -32000, 400],
    [ErrorCode.UnsupportedTransaction, InvalidParamsError, -32602, 400],
    [ErrorCode.BackendUnavailable, ServiceUnavailableError, -32000, 503],
    [ErrorCode.SigningFailed, InternalJsonRpcError, -32603, 400],
    [ErrorCode.SignatureMismatch, InternalJsonRpcError, -32603, 400],
    [ErrorCode.Internal, InternalJsonRpcError, -32603, 500],
    [ErrorCode.LedgerUnavailable, ServiceUnavailableError, -32000, 503],
  ])('remote %s → %p code %d HTTP %d', (code, Expected, rpcCode, status) => {
    const cause = new RemoteServiceError('hsm.v1.signer.sign-transaction', code, 'detail');
    const mapped = toClientError(cause);
    expect(mapped).toBeInstanceOf(Expected);
    expect(mapped.code).toBe(rpcCode);
    expect(mapped.httpStatus).toBe(status);
    expect(mapped.cause).toBe(cause);
  });

  it('maps subjects to services', () => {
    expect(serviceOf('hsm.v1.signer.list-keys')).toBe('signer-service');
    expect(serviceOf('hsm.v1.nonce.record-outcome')).toBe('nonce-service');
    expect(serviceOf('hsm.v1.accounts.list')).toBe('key-discovery');
  });
});
