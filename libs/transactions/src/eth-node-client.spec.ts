import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  ChainIdMismatchError,
  DownstreamResponseError,
  DownstreamTimeoutError,
  DownstreamUnavailableError,
  ExecutionRevertedError,
  InsufficientFundsError,
  NonceTooLowError,
  ReplacementUnderpricedError,
  TransactionAlreadyKnownError,
  UnknownNodeError,
} from '@hsm-signer/ethereum';
import { ANVIL_DEV_KEY, freePort, startAnvil, type AnvilNode } from '@hsm-signer/testing';
import { Wallet } from 'ethers';
import { EthNodeClient } from './eth-node-client';

// EthNodeClient against a real anvil: the classifier must recognise anvil's real wordings, and the
// transport errors must be told apart. Small local HTTP servers stand in for a hung or broken node.

function httpServer(handler: (body: string, headers: IncomingHttpHeaders, res: import('node:http').ServerResponse) => void): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => handler(body, req.headers, res));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })));
}

describe('EthNodeClient', () => {
  let anvil: AnvilNode;
  let client: EthNodeClient;
  const dev = new Wallet(ANVIL_DEV_KEY);
  const to = Wallet.createRandom().address;

  beforeAll(async () => {
    anvil = await startAnvil({ noMining: true });
    client = new EthNodeClient({ url: anvil.url, timeoutMs: 5_000 });
  });
  afterAll(async () => {
    await anvil?.stop();
  });

  const sign = (fields: Record<string, unknown>) => dev.signTransaction({ type: 2, chainId: anvil.chainId, to, gasLimit: 21_000n, maxFeePerGas: 10n ** 10n, maxPriorityFeePerGas: 10n ** 9n, ...fields });

  it('returns results and runs batches in one round trip, each call with its own outcome', async () => {
    expect(await client.request('eth_chainId')).toBe('0x' + anvil.chainId.toString(16));
    const [chainId, missing, balance] = await client.batch([{ method: 'eth_chainId' }, { method: 'hsm_nope' }, { method: 'eth_getBalance', params: [dev.address, 'latest'] }]);
    expect(chainId).toEqual({ ok: true, result: '0x7a69' });
    expect(missing.ok).toBe(false);
    expect(!missing.ok && missing.error).toBeInstanceOf(UnknownNodeError);
    expect(!missing.ok && missing.error.code).toBe(-32601);
    expect(balance.ok && BigInt(balance.result as string)).toBeGreaterThan(0n);
  });

  it("classifies anvil's own wordings: already imported, replacement underpriced, nonce too low", async () => {
    const nonce = Number(await client.request<string>('eth_getTransactionCount', [dev.address, 'pending']));
    const raw = await sign({ nonce });
    const hash = await client.request<string>('eth_sendRawTransaction', [raw]);
    expect(hash).toMatch(/^0x[0-9a-f]{64}$/);

    const again = client.request('eth_sendRawTransaction', [raw]);
    await expect(again).rejects.toBeInstanceOf(TransactionAlreadyKnownError);
    await expect(again).rejects.toMatchObject({ code: -32003, message: 'transaction already imported' });

    await expect(client.request('eth_sendRawTransaction', [await sign({ nonce, value: 1n })])).rejects.toBeInstanceOf(ReplacementUnderpricedError);

    await anvil.rpc('evm_mine');
    await expect(client.request('eth_sendRawTransaction', [await sign({ nonce, value: 2n })])).rejects.toBeInstanceOf(NonceTooLowError);
  });

  it('classifies insufficient funds, a foreign chain id and a revert on estimate (code 3, data kept)', async () => {
    const poor = Wallet.createRandom();
    const broke = await poor.signTransaction({ type: 2, chainId: anvil.chainId, nonce: 0, to, value: 1n, gasLimit: 21_000n, maxFeePerGas: 10n ** 10n, maxPriorityFeePerGas: 1n });
    await expect(client.request('eth_sendRawTransaction', [broke])).rejects.toBeInstanceOf(InsufficientFundsError);

    const nonce = Number(await client.request<string>('eth_getTransactionCount', [dev.address, 'pending']));
    await expect(client.request('eth_sendRawTransaction', [await sign({ nonce, chainId: 1 })])).rejects.toBeInstanceOf(ChainIdMismatchError);

    const revert = client.request('eth_estimateGas', [{ from: dev.address, data: '0x63deadbeef6000526004601cfd' }]);
    await expect(revert).rejects.toBeInstanceOf(ExecutionRevertedError);
    await expect(revert).rejects.toMatchObject({ code: 3, data: '0xdeadbeef' });
  });

  it('nothing listening → DownstreamUnavailableError that knows nothing was sent (HTTP 504)', async () => {
    const down = new EthNodeClient({ url: `http://127.0.0.1:${await freePort()}`, timeoutMs: 2_000 });
    const error = await down.request('eth_chainId').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DownstreamUnavailableError);
    expect(error).toMatchObject({ requestSent: false, httpStatus: 504, message: 'Failed to connect to downstream node' });
  });

  it('a node that does not answer in time → DownstreamTimeoutError after timeoutMs', async () => {
    const { server, url } = await httpServer(() => undefined);
    try {
      const started = Date.now();
      const error = await new EthNodeClient({ url, timeoutMs: 300 }).request('eth_chainId').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DownstreamTimeoutError);
      expect(error).toMatchObject({ message: 'Connection to downstream node timed out', httpStatus: 504 });
      expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it('an HTML error page → DownstreamResponseError (502); post() relays it untouched; URL credentials become Basic auth', async () => {
    let seen: IncomingHttpHeaders = {};
    const { server, url } = await httpServer((_body, headers, res) => {
      seen = headers;
      res.writeHead(502, { 'content-type': 'text/html' }).end('<html>bad gateway</html>');
    });
    try {
      const withAuth = url.replace('http://', 'http://user:p%40ss@');
      const c = new EthNodeClient({ url: withAuth, timeoutMs: 2_000 });
      await expect(c.request('eth_chainId')).rejects.toBeInstanceOf(DownstreamResponseError);
      expect(seen['authorization']).toBe(`Basic ${Buffer.from('user:p@ss').toString('base64')}`);
      expect(await c.post('{}')).toEqual({ status: 502, body: '<html>bad gateway</html>', contentType: 'text/html' });
    } finally {
      server.close();
    }
  });
});
