import {
  DownstreamTimeoutError,
  DownstreamUnavailableError,
  InternalJsonRpcError,
  InvalidParamsError,
  NoUnlockedAccountError,
  ServiceUnavailableError,
  toJsonRpcError,
} from './errors';

describe('JSON-RPC errors (research/rpc-signers.md §1.8)', () => {
  it.each([
    [new NoUnlockedAccountError('0x12'), -32000, 'No unlocked account matches the Sender', 400],
    [new DownstreamUnavailableError(false), -32000, 'Failed to connect to downstream node', 504],
    [new DownstreamTimeoutError(1000), -32000, 'Connection to downstream node timed out', 504],
    [new InvalidParamsError("missing 'from'"), -32602, "Invalid params: missing 'from'", 400],
    [new ServiceUnavailableError('signer-service', 'no responders'), -32000, 'signer-service is not available: no responders', 503],
  ])('%p → code %d, message, HTTP %d', (error, code, message, status) => {
    expect(error.toJSON()).toEqual({ code, message });
    expect(error.httpStatus).toBe(status);
  });

  it('hides unexpected errors behind -32603 but keeps them as cause', () => {
    const boom = new Error('db password is hunter2');
    const mapped = toJsonRpcError(boom);
    expect(mapped).toBeInstanceOf(InternalJsonRpcError);
    expect(mapped.toJSON()).toEqual({ code: -32603, message: 'Internal error' });
    expect(mapped.cause).toBe(boom);
  });
});
