import { DownstreamTimeoutError, DownstreamUnavailableError, InternalJsonRpcError, InvalidParamsError, JsonRpcError, NoUnlockedAccountError, ServiceUnavailableError } from '@hsm-signer/ethereum';
import pino from 'pino';
import { JsonRpcHandler, jsonRpcErrorStatus } from './json-rpc-handler';
import { LocalMethods } from './local-methods';

// The adapter's own logic with its two ports replaced: a recorded upstream `post` and a LocalMethods
// over a fixed account list and a send function. The real node and services are in rpc-gateway.spec.ts.

function setup(upstream: (body: string) => Promise<{ status: number; body: string; contentType: string }>) {
  const posted: string[] = [];
  const sends: Array<{ tx: unknown; requestId?: string }> = [];
  const local = new LocalMethods(
    { list: async () => [{ address: '0x' + '0a'.repeat(20), backendId: 'b', keyId: 'k', status: 'active' as const }] },
    {
      sendTransaction: async (tx: unknown, options: { requestId?: string } = {}) => {
        sends.push({ tx, requestId: options.requestId });
        if ((tx as { from?: string }).from === undefined) throw new InvalidParamsError("missing 'from'");
        return '0x' + 'ee'.repeat(32);
      },
    },
  );
  const handler = new JsonRpcHandler({ post: (body) => (posted.push(body), upstream(body)) }, local, { maxBatchSize: 3, logger: pino({ level: 'silent' }) });
  return { handler, posted, sends };
}

describe('JsonRpcHandler', () => {
  it('relays a single pass-through request untouched: same bytes up, same status, body and content type down', async () => {
    const { handler, posted } = setup(async () => ({ status: 429, body: 'slow down', contentType: 'text/plain' }));
    const body = '{"jsonrpc":"2.0","id":7,"method":"eth_getBalance","params":["0x00","latest"]}';
    expect(await handler.handle(body)).toEqual({ status: 429, body: 'slow down', contentType: 'text/plain' });
    expect(posted).toEqual([body]);
  });

  it('answers intercepted methods without the node; a client error is HTTP 200 as from geth', async () => {
    const { handler, posted, sends } = setup(async () => {
      throw new Error('must not be called');
    });
    const accounts = await handler.handle('{"jsonrpc":"2.0","id":"a","method":"eth_accounts"}');
    expect(JSON.parse(accounts.body)).toEqual({ jsonrpc: '2.0', id: 'a', result: ['0x' + '0a'.repeat(20)] });
    const noFrom = await handler.handle('{"jsonrpc":"2.0","id":2,"method":"eth_sendTransaction","params":[{}]}', { requestId: 'r1' });
    expect(noFrom.status).toBe(200);
    expect(JSON.parse(noFrom.body).error).toEqual({ code: -32602, message: "Invalid params: missing 'from'" });
    expect(sends[0].requestId).toBe('r1');
    const noParams = await handler.handle('{"jsonrpc":"2.0","id":3,"method":"eth_sendTransaction"}');
    expect(JSON.parse(noParams.body).error.code).toBe(-32602);
    expect(posted).toEqual([]);
  });

  it('answers a single notification with 204 and no body', async () => {
    const { handler } = setup(async () => ({ status: 200, body: '', contentType: 'application/json' }));
    expect(await handler.handle('{"jsonrpc":"2.0","method":"eth_accounts"}')).toEqual({ status: 204, body: '', contentType: 'application/json' });
  });

  it('maps an upstream timeout of a single request to 504 with the request id', async () => {
    const { handler } = setup(async () => {
      throw new DownstreamTimeoutError(10);
    });
    const reply = await handler.handle('{"jsonrpc":"2.0","id":"t","method":"eth_blockNumber"}');
    expect(reply.status).toBe(504);
    expect(JSON.parse(reply.body)).toEqual({ jsonrpc: '2.0', id: 't', error: { code: -32000, message: 'Connection to downstream node timed out' } });
  });

  it('gives each send in a batch its own idempotency key and refuses batches over the limit', async () => {
    const { handler, sends } = setup(async () => ({ status: 200, body: '[]', contentType: 'application/json' }));
    const tx = { from: '0x' + '0a'.repeat(20) };
    const reply = await handler.handle(
      JSON.stringify([
        { jsonrpc: '2.0', id: 1, method: 'eth_sendTransaction', params: [tx] },
        { jsonrpc: '2.0', id: 2, method: 'eth_sendTransaction', params: [tx] },
      ]),
      { requestId: 'order' },
    );
    expect(reply.status).toBe(200);
    expect(sends.map((s) => s.requestId).sort()).toEqual(['order:1', 'order:2']);
    const tooMany = await handler.handle(JSON.stringify(Array.from({ length: 4 }, (_, i) => ({ jsonrpc: '2.0', id: i, method: 'eth_chainId' }))));
    expect(tooMany.status).toBe(400);
    expect(JSON.parse(tooMany.body).error.message).toBe('Invalid Request: batch of 4 requests exceeds the limit of 3');
  });

  it('keeps 502/503/504 ("not available right now") and answers every other error with 200', () => {
    expect(jsonRpcErrorStatus(new InvalidParamsError('x'))).toBe(200);
    expect(jsonRpcErrorStatus(new NoUnlockedAccountError('0x' + '0b'.repeat(20)))).toBe(200);
    expect(jsonRpcErrorStatus(new InternalJsonRpcError('x'))).toBe(200);
    expect(jsonRpcErrorStatus(new JsonRpcError(-32000, 'conflict', { httpStatus: 409 }))).toBe(200);
    expect(jsonRpcErrorStatus(new ServiceUnavailableError('nonce-service', 'down'))).toBe(503);
    expect(jsonRpcErrorStatus(new DownstreamTimeoutError(10))).toBe(504);
    expect(jsonRpcErrorStatus(new DownstreamUnavailableError(false))).toBe(504);
  });
});
