import 'reflect-metadata';
import type { AddressInfo } from 'node:net';
import { Routes, type Account } from '@hsm-signer/contracts';
import { loadConfig, rpcGatewayConfig } from '@hsm-signer/config';
import { createLogger } from '@hsm-signer/logging';
import { sampleValue, samples } from '@hsm-signer/metrics';
import { serveFixture, signWithWallet, startAnvil, startNatsServer, type AnvilNode, type NatsServer } from '@hsm-signer/testing';
import { randomBytes } from 'node:crypto';
import { Wallet, type BaseWallet } from 'ethers';
import { connect, type NatsConnection } from 'nats';
import WebSocket from 'ws';
import { createRpcGateway, type RpcGateway } from './create-gateway';
import { LocalMethods } from './rpc/local-methods';

// GET /metrics of an in-process rpc-gateway against a real anvil and a private nats-server.
//
// FIXTURES — not the real services: NATS responders speaking the real wire contract for
// key-discovery (list/resolve), nonce-service (allocate/record) and signer-service (sign, with an
// in-memory ethers Wallet standing in for the signer-service contract, not a backend).

const rpc = (method: string, params: unknown[] = [], id: number | string = 1) => ({ jsonrpc: '2.0', id, method, params });

async function post(url: string, payload: unknown): Promise<{ status: number; body: any }> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof payload === 'string' ? payload : JSON.stringify(payload), signal: AbortSignal.timeout(15_000) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

async function scrape(url: string): Promise<string> {
  const res = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5_000) });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('text/plain');
  return res.text();
}

function startFixtures(nc: NatsConnection, anvil: AnvilNode, wallet: BaseWallet): Array<{ unsubscribe(): void }> {
  const address = wallet.address.toLowerCase();
  const account: Account = { address, backendId: 'fixture', keyId: 'k1', status: 'active' };
  let next: number | undefined;
  let ids = 0;
  return [
    serveFixture(nc, Routes.accountsList, () => ({ accounts: [account] })),
    serveFixture(nc, Routes.accountsResolve, (req) => ({ account: req.address === address ? account : null })),
    serveFixture(nc, Routes.nonceAllocate, async () => {
      next ??= Number(await anvil.rpc<string>('eth_getTransactionCount', [address, 'pending']));
      return { transactionId: `tx-${++ids}`, nonce: next++ };
    }),
    serveFixture(nc, Routes.nonceRecordOutcome, () => ({ ok: 1 as const })),
    serveFixture(nc, Routes.signerSignTransaction, ({ tx }) => signWithWallet(wallet, tx)),
  ];
}

describe('rpc-gateway GET /metrics (in-process, real anvil + nats-server, service FIXTURES)', () => {
  let anvil: AnvilNode;
  let nats: NatsServer;
  let nc: NatsConnection;
  const wallet = Wallet.createRandom();
  const stranger = Wallet.createRandom().address.toLowerCase();
  const gateways: RpcGateway[] = [];

  async function startGateway(env: Record<string, string> = {}): Promise<string> {
    const config = loadConfig(rpcGatewayConfig, { LOG_LEVEL: 'silent', NATS_URL: nats.url, ETH_NODE_URL: anvil.url, NATS_REQUEST_TIMEOUT_MS: '2000', ...env });
    const gateway = await createRpcGateway(config, createLogger('rpc-gateway-metrics-test', 'silent'));
    gateways.push(gateway);
    await gateway.app.listen(0, '127.0.0.1');
    return `http://127.0.0.1:${(gateway.app.getHttpServer().address() as AddressInfo).port}`;
  }

  beforeAll(async () => {
    [anvil, nats] = await Promise.all([startAnvil(), startNatsServer()]);
    await anvil.rpc('anvil_setBalance', [wallet.address, '0x' + (10n ** 20n).toString(16)]);
    nc = await connect({ servers: nats.url });
    startFixtures(nc, anvil, wallet);
    await nc.flush();
  }, 30_000);

  afterAll(async () => {
    for (const g of gateways) await g.app.close();
    await nc?.close();
    await Promise.all([anvil?.stop(), nats?.stop()]);
  });

  it('counts one eth_sendTransaction by method and outcome, with its duration and one observation per send stage', async () => {
    const url = await startGateway();
    const sent = await post(url, rpc('eth_sendTransaction', [{ from: wallet.address, to: stranger, value: '0x1' }]));
    expect(sent.body.result).toMatch(/^0x[0-9a-f]{64}$/);
    const text = await scrape(url);
    expect(sampleValue(text, 'hsm_rpc_requests_total', { method: 'eth_sendTransaction', outcome: 'ok' })).toBe(1);
    expect(sampleValue(text, 'hsm_rpc_requests_total', { method: 'eth_sendTransaction', outcome: 'error' })).toBe(0);
    expect(sampleValue(text, 'hsm_rpc_request_duration_seconds_count', { method: 'eth_sendTransaction' })).toBe(1);
    expect(sampleValue(text, 'hsm_rpc_request_duration_seconds_bucket', { method: 'eth_sendTransaction', le: '+Inf' })).toBe(1);
    for (const stage of ['estimate', 'allocate', 'sign', 'submit']) {
      expect(sampleValue(text, 'hsm_send_stage_duration_seconds_count', { stage })).toBe(1);
    }
    // The default Node metrics share the prefix.
    expect(sampleValue(text, 'hsm_process_cpu_seconds_total')).toBeGreaterThan(0);
  });

  it('counts pass-through, local errors by JSON-RPC code, bad bodies and invalid batch entries', async () => {
    const url = await startGateway();
    await post(url, rpc('eth_blockNumber'));
    await post(url, [rpc('eth_chainId', [], 1), rpc('eth_accounts', [], 2), { jsonrpc: '2.0', id: 3 }]);
    const unknown = await post(url, rpc('eth_sendTransaction', [{ from: stranger, to: stranger }]));
    expect(unknown.body.error.code).toBe(-32000);
    const bad = await post(url, '{not json');
    expect(bad.body.error.code).toBe(-32700);
    const text = await scrape(url);
    expect(sampleValue(text, 'hsm_rpc_requests_total', { method: 'passthrough', outcome: 'ok' })).toBe(2);
    expect(sampleValue(text, 'hsm_rpc_requests_total', { method: 'eth_accounts', outcome: 'ok' })).toBe(1);
    expect(sampleValue(text, 'hsm_rpc_requests_total', { method: 'eth_sendTransaction', outcome: 'error' })).toBe(1);
    expect(sampleValue(text, 'hsm_rpc_errors_total', { code: '-32000' })).toBe(1);
    expect(sampleValue(text, 'hsm_rpc_errors_total', { code: '-32700' })).toBe(1);
    expect(sampleValue(text, 'hsm_rpc_errors_total', { code: '-32600' })).toBe(1);
    // A failed send never reached a stage past resolving the account.
    expect(sampleValue(text, 'hsm_send_stage_duration_seconds_count', { stage: 'allocate' })).toBe(0);
  });

  it('client-chosen method names never become label values: 50 unknown methods all count as passthrough', async () => {
    const url = await startGateway();
    const names = Array.from({ length: 50 }, () => `x_${randomBytes(6).toString('hex')}`);
    for (const name of names.slice(0, 25)) await post(url, rpc(name));
    await post(url, names.slice(25).map((name, i) => rpc(name, [], i)));
    const text = await scrape(url);
    const methods = new Set(samples(text).filter((s) => s.name === 'hsm_rpc_requests_total').map((s) => s.labels['method']));
    expect([...methods].every((m) => m === 'passthrough' || LocalMethods.methods.has(m!))).toBe(true);
    expect(methods.size).toBe(LocalMethods.methods.size + 1);
    expect(sampleValue(text, 'hsm_rpc_requests_total', { method: 'passthrough', outcome: 'ok' })).toBe(50);
    for (const name of names) expect(text).not.toContain(name);
  });

  it('shows open WebSocket connections', async () => {
    const url = await startGateway();
    const ws = new WebSocket(url.replace('http', 'ws'));
    try {
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      });
      expect(sampleValue(await scrape(url), 'hsm_rpc_websocket_connections')).toBe(1);
    } finally {
      ws.close();
    }
  });

  it('METRICS_ENABLED=false: GET /metrics is a 404 and JSON-RPC works as before', async () => {
    const url = await startGateway({ METRICS_ENABLED: 'false' });
    expect((await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5_000) })).status).toBe(404);
    expect((await post(url, rpc('eth_accounts'))).body.result).toEqual([wallet.address.toLowerCase()]);
  });
});
