import 'reflect-metadata';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Routes } from '@hsm-signer/contracts';
import { loadConfig, rpcGatewayConfig } from '@hsm-signer/config';
import { createLogger } from '@hsm-signer/logging';
import { serveFixture, startAnvil, startNatsServer, type AnvilNode, type NatsServer } from '@hsm-signer/testing';
import { connect, type NatsConnection } from 'nats';
import WebSocket from 'ws';
import { createRpcGateway, type RpcGateway } from '../create-gateway';

// RPC_CORS_ORIGINS, RPC_VHOSTS and RPC_WS_ORIGINS on the real gateway, in-process, against a real
// anvil and a private nats-server. FIXTURE — not key-discovery: a NATS responder for the account
// list (the gateway reads it at start); every request here is eth_chainId, passed through to anvil.

const ACCOUNT = '0x00000000000000000000000000000000000000a1';
const CHAIN_ID = { jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] };
const TIMEOUT_MS = 5_000;

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/**
 * One HTTP request with node:http, which (unlike fetch) lets a test set the Host header. Browsers'
 * headers (Origin, Access-Control-Request-*) are set by hand: these tests are the browser.
 */
function call(url: string, options: { method?: string; headers?: Record<string, string>; body?: unknown } = {}): Promise<Reply> {
  const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
  return new Promise<Reply>((resolve, reject) => {
    const req = httpRequest(
      url,
      {
        method: options.method ?? 'POST',
        headers: { ...(payload ? { 'content-type': 'application/json' } : {}), ...options.headers },
        timeout: TIMEOUT_MS,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text ? JSON.parse(text) : undefined }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end(payload);
  });
}

const post = (url: string, headers: Record<string, string> = {}) => call(url, { body: CHAIN_ID, headers });
const preflight = (url: string, origin: string, requestHeaders = 'content-type') =>
  call(url, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': requestHeaders } });

const corsHeaders = (headers: IncomingHttpHeaders) => Object.keys(headers).filter((h) => h.startsWith('access-control-'));

type WsOutcome = { opened: true; chainId: string } | { opened: false; status: number; body: any }; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Opens a WebSocket like a browser would (Origin) or a server-side client (none); asks eth_chainId when it opens. */
function openWs(url: string, options: WebSocket.ClientOptions = {}): Promise<WsOutcome> {
  return new Promise<WsOutcome>((resolve, reject) => {
    const ws = new WebSocket(url.replace('http', 'ws'), { handshakeTimeout: TIMEOUT_MS, ...options });
    const timer = setTimeout(() => (ws.terminate(), reject(new Error('WebSocket outcome timed out'))), TIMEOUT_MS);
    const done = (outcome: WsOutcome) => (clearTimeout(timer), resolve(outcome));
    ws.on('open', () => ws.send(JSON.stringify(CHAIN_ID)));
    ws.on('message', (data) => {
      ws.close();
      done({ opened: true, chainId: (JSON.parse(String(data)) as { result: string }).result });
    });
    ws.on('unexpected-response', (_req, res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      res.on('end', () => done({ opened: false, status: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined }));
    });
    ws.on('error', (error) => (clearTimeout(timer), reject(error)));
  });
}

describe('rpc-gateway Host and Origin checks (in-process, real anvil + nats-server, account-list FIXTURE)', () => {
  let anvil: AnvilNode;
  let nats: NatsServer;
  let nc: NatsConnection;
  const gateways: RpcGateway[] = [];
  let chainId: string;

  async function startGateway(env: Record<string, string>): Promise<{ url: string; port: number }> {
    const config = loadConfig(rpcGatewayConfig, { LOG_LEVEL: 'silent', NATS_URL: nats.url, ETH_NODE_URL: anvil.url, NATS_REQUEST_TIMEOUT_MS: '1500', ...env });
    const gateway = await createRpcGateway(config, createLogger('rpc-gateway-access-test', 'silent'));
    gateways.push(gateway);
    await gateway.app.listen(0, '127.0.0.1');
    const { port } = gateway.app.getHttpServer().address() as AddressInfo;
    return { url: `http://127.0.0.1:${port}/`, port };
  }

  beforeAll(async () => {
    [anvil, nats] = await Promise.all([startAnvil(), startNatsServer()]);
    nc = await connect({ servers: nats.url });
    serveFixture(nc, Routes.accountsList, () => ({ accounts: [{ address: ACCOUNT, backendId: 'fixture', keyId: 'k1', status: 'active' as const }] }));
    await nc.flush();
    chainId = await anvil.rpc<string>('eth_chainId');
  }, 30_000);

  afterAll(async () => {
    for (const gateway of gateways) await gateway.app.close();
    await nc?.close();
    await Promise.all([anvil?.stop(), nats?.stop()]);
  });

  describe('defaults (no RPC_CORS_ORIGINS, RPC_VHOSTS=*, RPC_WS_ORIGINS unset)', () => {
    let url: string;
    let port: number;
    beforeAll(async () => ({ url, port } = await startGateway({})), 20_000);

    it('a request without Origin is answered as before: 200, no CORS headers, no Vary', async () => {
      const reply = await post(url);
      expect(reply.status).toBe(200);
      expect(reply.body).toEqual({ jsonrpc: '2.0', id: 1, result: chainId });
      expect(corsHeaders(reply.headers)).toEqual([]);
      expect(reply.headers.vary).toBeUndefined();
    });

    it('any Host is accepted', async () => {
      expect((await post(url, { host: `rpc.example.com:${port}` })).status).toBe(200);
      expect((await post(url, { host: 'hsm-rpc-gateway.default.svc.cluster.local' })).status).toBe(200);
    });

    it('a browser page (any Origin) gets 403 without CORS headers, with a JSON-RPC error naming RPC_CORS_ORIGINS', async () => {
      const reply = await post(url, { origin: 'http://localhost:3000', 'content-type': 'text/plain' });
      expect(reply.status).toBe(403);
      expect(corsHeaders(reply.headers)).toEqual([]);
      expect(reply.headers['content-type']).toBe('application/json');
      expect(reply.body).toEqual({
        jsonrpc: '2.0',
        id: null,
        error: { code: -32000, message: 'Origin "http://localhost:3000" is not allowed: add it to RPC_CORS_ORIGINS (comma-separated origins, * for any)' },
      });
      const pre = await preflight(url, 'http://localhost:3000');
      expect(pre.status).toBe(403);
      expect(corsHeaders(pre.headers)).toEqual([]);
    });

    it('WebSocket: no Origin opens; a browser Origin is refused with 403 (RPC_WS_ORIGINS follows RPC_CORS_ORIGINS)', async () => {
      expect(await openWs(url)).toEqual({ opened: true, chainId });
      const refused = await openWs(url, { origin: 'http://localhost:3000' });
      expect(refused).toMatchObject({ opened: false, status: 403 });
      expect((refused as { body: { error: { message: string } } }).body.error.message).toContain('RPC_WS_ORIGINS (unset: RPC_CORS_ORIGINS applies)');
    });
  });

  describe('RPC_CORS_ORIGINS=https://app.example.com,http://localhost:3000, RPC_VHOSTS=localhost,rpc.example.com, RPC_WS_ORIGINS=https://wallet.example.com', () => {
    let url: string;
    let port: number;
    beforeAll(
      async () =>
        ({ url, port } = await startGateway({
          RPC_CORS_ORIGINS: 'https://app.example.com, http://localhost:3000',
          RPC_VHOSTS: 'localhost,rpc.example.com',
          RPC_WS_ORIGINS: 'https://wallet.example.com',
        })),
      20_000,
    );

    it('a preflight from an allowed origin: 204 with that origin, methods, our headers plus the asked ones, max-age', async () => {
      const reply = await preflight(url, 'https://app.example.com', 'Content-Type, X-Request-Id, X-Dapp-Version');
      expect(reply.status).toBe(204);
      expect(reply.headers['access-control-allow-origin']).toBe('https://app.example.com');
      expect(reply.headers['access-control-allow-methods']).toBe('POST, GET, OPTIONS');
      expect(reply.headers['access-control-allow-headers']).toBe('content-type, x-request-id, x-dapp-version');
      expect(reply.headers['access-control-max-age']).toBe('600');
      expect(reply.headers.vary).toContain('Origin');
      expect(reply.body).toBeUndefined();
    });

    it('a preflight from another origin: 403, no CORS headers (the browser blocks the call)', async () => {
      const reply = await preflight(url, 'https://evil.example');
      expect(reply.status).toBe(403);
      expect(corsHeaders(reply.headers)).toEqual([]);
      expect(reply.body.error.message).toContain('RPC_CORS_ORIGINS');
    });

    it('POST from an allowed origin is answered with Access-Control-Allow-Origin and Vary: Origin', async () => {
      const reply = await post(url, { origin: 'http://localhost:3000', 'x-request-id': 'r-1' });
      expect(reply.status).toBe(200);
      expect(reply.body.result).toBe(chainId);
      expect(reply.headers['access-control-allow-origin']).toBe('http://localhost:3000');
      expect(reply.headers.vary).toBe('Origin');
      expect(reply.headers['access-control-expose-headers']).toBeUndefined();
    });

    it('POST from another origin is refused before it is handled (a text/plain "simple" request cannot send)', async () => {
      const reply = await call(url, {
        body: { jsonrpc: '2.0', id: 7, method: 'eth_sendTransaction', params: [{ from: ACCOUNT, to: ACCOUNT }] },
        headers: { origin: 'http://localhost:3001', 'content-type': 'text/plain' },
      });
      expect(reply.status).toBe(403);
      expect(corsHeaders(reply.headers)).toEqual([]);
      expect(reply.body.error).toEqual({ code: -32000, message: 'Origin "http://localhost:3001" is not allowed: add it to RPC_CORS_ORIGINS (comma-separated origins, * for any)' });
    });

    it('a request without Origin still gets no CORS headers', async () => {
      const reply = await post(url);
      expect(reply.status).toBe(200);
      expect(corsHeaders(reply.headers)).toEqual([]);
    });

    it('GET /health (the Express path) carries the CORS headers too', async () => {
      const reply = await call(`${url}health`, { method: 'GET', headers: { origin: 'https://app.example.com' } });
      expect(reply.status).toBe(200);
      expect(reply.headers['access-control-allow-origin']).toBe('https://app.example.com');
    });

    it('Host: listed names (any port) and IP addresses pass; another name gets 403 naming RPC_VHOSTS', async () => {
      expect((await post(url, { host: `localhost:${port}` })).status).toBe(200);
      expect((await post(url, { host: 'RPC.example.com' })).status).toBe(200);
      expect((await post(url)).status).toBe(200); // Host: 127.0.0.1:<port>
      const reply = await post(url, { host: `evil.example:${port}` });
      expect(reply.status).toBe(403);
      expect(reply.headers['content-type']).toBe('application/json');
      expect(reply.body).toEqual({
        jsonrpc: '2.0',
        id: null,
        error: { code: -32000, message: `Host "evil.example:${port}" is not allowed: add it to RPC_VHOSTS (comma-separated host names, * for any)` },
      });
      expect((await call(`${url}health`, { method: 'GET', headers: { host: 'evil.example' } })).status).toBe(403);
    });

    it('WebSocket: the RPC_WS_ORIGINS origin and clients without Origin open; another origin or Host is refused with 403', async () => {
      expect(await openWs(url, { origin: 'https://wallet.example.com' })).toEqual({ opened: true, chainId });
      expect(await openWs(url)).toEqual({ opened: true, chainId });
      const origin = await openWs(url, { origin: 'https://app.example.com' });
      expect(origin).toMatchObject({ opened: false, status: 403 });
      expect((origin as { body: { error: { message: string } } }).body.error.message).toBe(
        'Origin "https://app.example.com" is not allowed: add it to RPC_WS_ORIGINS (comma-separated origins, * for any)',
      );
      const host = await openWs(url, { headers: { host: 'evil.example' } });
      expect(host).toMatchObject({ opened: false, status: 403 });
      expect((host as { body: { error: { message: string } } }).body.error.message).toContain('RPC_VHOSTS');
    });
  });

  describe('RPC_CORS_ORIGINS=*', () => {
    let url: string;
    beforeAll(async () => ({ url } = await startGateway({ RPC_CORS_ORIGINS: '*' })), 20_000);

    it('answers every origin with Access-Control-Allow-Origin: *, over HTTP and WebSocket', async () => {
      const pre = await preflight(url, 'https://anything.example');
      expect(pre.status).toBe(204);
      expect(pre.headers['access-control-allow-origin']).toBe('*');
      const reply = await post(url, { origin: 'https://anything.example' });
      expect(reply.status).toBe(200);
      expect(reply.headers['access-control-allow-origin']).toBe('*');
      expect(reply.headers.vary).toBe('Origin');
      expect(await openWs(url, { origin: 'https://anything.example' })).toEqual({ opened: true, chainId });
    });
  });
});
