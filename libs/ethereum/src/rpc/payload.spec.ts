import { InvalidRequestError, ParseError } from './errors';
import { parseJsonRpcPayload } from './payload';

describe('parseJsonRpcPayload', () => {
  it('rejects a body that is not JSON with -32700 and HTTP 400', () => {
    expect(() => parseJsonRpcPayload('{"jsonrpc":')).toThrow(ParseError);
    try {
      parseJsonRpcPayload('not json');
    } catch (error) {
      expect((error as ParseError).code).toBe(-32700);
      expect((error as ParseError).httpStatus).toBe(400);
      expect((error as ParseError).toJSON()).toEqual({ code: -32700, message: 'Parse error' });
    }
  });

  it('parses a single request, keeping id type and notification-ness', () => {
    expect(parseJsonRpcPayload('{"jsonrpc":"2.0","id":"a","method":"eth_chainId"}')).toEqual({
      kind: 'single',
      request: { jsonrpc: '2.0', id: 'a', method: 'eth_chainId' },
    });
    const p = parseJsonRpcPayload('{"jsonrpc":"2.0","method":"eth_chainId","params":[]}');
    expect(p.kind === 'single' && p.request.id).toBeUndefined();
  });

  it('rejects a single non-request with -32600', () => {
    expect(() => parseJsonRpcPayload('{"jsonrpc":"1.0","id":1,"method":"x"}')).toThrow(InvalidRequestError);
    expect(() => parseJsonRpcPayload('{"jsonrpc":"2.0","id":1}')).toThrow(/method/);
    expect(() => parseJsonRpcPayload('{"jsonrpc":"2.0","id":1,"method":"x","params":5}')).toThrow(/params/);
    expect(() => parseJsonRpcPayload('42')).toThrow(InvalidRequestError);
  });

  it('rejects an empty batch and an oversized batch', () => {
    expect(() => parseJsonRpcPayload('[]')).toThrow(/empty batch/);
    expect(() => parseJsonRpcPayload('[{"jsonrpc":"2.0","id":1,"method":"a"},{"jsonrpc":"2.0","id":2,"method":"b"}]', { maxBatchSize: 1 })).toThrow(/limit of 1/);
  });

  it('keeps valid batch entries and turns invalid ones into per-entry errors', () => {
    const p = parseJsonRpcPayload('[{"jsonrpc":"2.0","id":1,"method":"a"}, 5, {"jsonrpc":"2.0","id":"x"}]');
    expect(p.kind).toBe('batch');
    if (p.kind !== 'batch') return;
    expect(p.entries[0]).toEqual({ ok: true, request: { jsonrpc: '2.0', id: 1, method: 'a' } });
    expect(p.entries[1]).toMatchObject({ ok: false, id: null });
    expect(p.entries[2]).toMatchObject({ ok: false, id: 'x' });
    expect(p.entries[2].ok === false && p.entries[2].error.code).toBe(-32600);
  });
});
