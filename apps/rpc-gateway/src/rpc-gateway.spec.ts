import 'reflect-metadata';
import type { AddressInfo } from 'node:net';
import { Events, Routes, type Account, type RecordOutcomeRequest, type Route, type UnsignedTransaction } from '@hsm-signer/contracts';
import { loadConfig, rpcGatewayConfig } from '@hsm-signer/config';
import { createLogger } from '@hsm-signer/logging';
import { castBinary, freePort, serveFixture, signWithWallet, startAnvil, waitFor, startNatsServer, type AnvilNode, type NatsServer } from '@hsm-signer/testing';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { JsonRpcProvider, Wallet, type BaseWallet } from 'ethers';
import { createWalletClient, http } from 'viem';
import { anvil as anvilChain } from 'viem/chains';
import { connect, JSONCodec, type NatsConnection, type Subscription } from 'nats';
import { createRpcGateway, type RpcGateway } from './create-gateway';

// Integration test of the rpc-gateway in-process against a real anvil and a private nats-server.
//
// FIXTURES — not the real services: small NATS responders that speak the real wire contract
// (libs/contracts Routes, Nest's request/reply envelope) for key-discovery (account list/resolve),
// nonce-service (allocate/record) and signer-service (sign-transaction). The signer fixture signs
// with in-memory ethers Wallets: it stands in for the signer-service contract, it is not a backend.
// The real services are exercised end to end in e2e/.

const codec = JSONCodec<unknown>();
const NATS_TIMEOUT_MS = 1_500;

interface Fixtures {
  wallets: Map<string, BaseWallet>;
  allocations: Array<{ chainId: number; address: string; requestId?: string; fixedNonce?: number; nonce: number }>;
  outcomes: RecordOutcomeRequest[];
  signed: UnsignedTransaction[];
  subs: Map<string, Subscription>;
}

/** Answers one route (and its batched form) like a Nest @MessagePattern handler would (libs/testing serveFixture). */
function serve<Req, Rep>(nc: NatsConnection, route: Route<Req, Rep>, handler: (req: Req) => Rep | Promise<Rep> | 'never-answer'): Subscription {
  return serveFixture(nc, route, handler) as Subscription;
}

function startFixtures(nc: NatsConnection, anvil: AnvilNode, wallets: BaseWallet[]): Fixtures {
  const f: Fixtures = { wallets: new Map(wallets.map((w) => [w.address.toLowerCase(), w])), allocations: [], outcomes: [], signed: [], subs: new Map() };
  const account = (address: string): Account => ({ address, backendId: 'fixture', keyId: address.slice(2, 10), status: 'active' });
  const next = new Map<string, number>();
  const starts = new Map<string, Promise<number>>();
  const byRequestId = new Map<string, { transactionId: string; nonce: number }>();
  const hashes = new Map<string, string>();

  f.subs.set('list', serve(nc, Routes.accountsList, () => ({ accounts: [...f.wallets.keys()].map(account) })));
  f.subs.set('resolve', serve(nc, Routes.accountsResolve, ({ address }) => ({ account: f.wallets.has(address) ? account(address) : null })));
  f.subs.set(
    'allocate',
    serve(nc, Routes.nonceAllocate, async (req) => {
      if (req.requestId && byRequestId.has(req.requestId)) {
        const first = byRequestId.get(req.requestId)!;
        return { ...first, ...(hashes.has(first.transactionId) ? { existingHash: hashes.get(first.transactionId) } : {}) };
      }
      const key = `${req.chainId}:${req.address}`;
      // Serialised per account like the real nonce-service: concurrent first requests share one read.
      if (!starts.has(key)) starts.set(key, anvil.rpc<string>('eth_getTransactionCount', [req.address, 'pending']).then(Number));
      const start = await starts.get(key)!;
      if (!next.has(key)) next.set(key, start);
      let nonce: number;
      if (req.fixedNonce !== undefined) {
        nonce = req.fixedNonce;
        next.set(key, Math.max(next.get(key)!, nonce + 1));
      } else {
        nonce = next.get(key)!;
        next.set(key, nonce + 1);
      }
      const transactionId = `tx-${f.allocations.length + 1}`;
      f.allocations.push({ ...req, nonce });
      if (req.requestId) byRequestId.set(req.requestId, { transactionId, nonce });
      return { transactionId, nonce };
    }),
  );
  f.subs.set(
    'record',
    serve(nc, Routes.nonceRecordOutcome, (req) => {
      f.outcomes.push(req);
      if (req.outcome === 'submitted' && req.hash) hashes.set(req.transactionId, req.hash);
      return { ok: 1 as const };
    }),
  );
  f.subs.set('sign', serve(nc, Routes.signerSignTransaction, (req) => fixtureSign(f, req.from, req.tx)));
  return f;
}

async function fixtureSign(f: Fixtures, from: string, tx: UnsignedTransaction) {
  const wallet = f.wallets.get(from);
  if (!wallet) throw new Error(`fixture signer has no key for ${from}`);
  f.signed.push(tx);
  return signWithWallet(wallet, tx);
}

interface Exchange {
  status: number;
  text: string;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  elapsedMs: number;
}

async function post(url: string, payload: unknown, headers: Record<string, string> = {}): Promise<Exchange> {
  const started = Date.now();
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof payload === 'string' ? payload : JSON.stringify(payload),
  });
  const text = await res.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  return { status: res.status, text, body, elapsedMs: Date.now() - started };
}

const rpc = (method: string, params: unknown[] = [], id: number | string = 1) => ({ jsonrpc: '2.0', id, method, params });

async function waitForReceipt(anvil: AnvilNode, hash: string) {
  for (let i = 0; i < 100; i++) {
    const receipt = await anvil.rpc<{ status: string; from: string; contractAddress: string | null } | null>('eth_getTransactionReceipt', [hash]);
    if (receipt) return receipt;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no receipt for ${hash}`);
}

async function startGateway(env: Record<string, string>): Promise<{ gateway: RpcGateway; url: string }> {
  const config = loadConfig(rpcGatewayConfig, { LOG_LEVEL: 'silent', NATS_REQUEST_TIMEOUT_MS: String(NATS_TIMEOUT_MS), ...env });
  const gateway = await createRpcGateway(config, createLogger('rpc-gateway-test', 'silent'));
  await gateway.app.listen(0, '127.0.0.1');
  const { port } = gateway.app.getHttpServer().address() as AddressInfo;
  return { gateway, url: `http://127.0.0.1:${port}` };
}

describe('rpc-gateway (in-process, real anvil + private nats-server, service FIXTURES)', () => {
  let anvil: AnvilNode;
  let nats: NatsServer;
  let nc: NatsConnection;
  let fixtures: Fixtures;
  let gateway: RpcGateway;
  let url: string;
  const alice = Wallet.createRandom();
  const bob = Wallet.createRandom();
  const stranger = Wallet.createRandom().address.toLowerCase();

  beforeAll(async () => {
    [anvil, nats] = await Promise.all([startAnvil(), startNatsServer()]);
    for (const w of [alice, bob]) await anvil.rpc('anvil_setBalance', [w.address, '0x' + (10n ** 20n).toString(16)]);
    nc = await connect({ servers: nats.url });
    fixtures = startFixtures(nc, anvil, [alice, bob]);
    await nc.flush(); // the fixtures' subscriptions are on the server before the gateway's first request
    ({ gateway, url } = await startGateway({ NATS_URL: nats.url, ETH_NODE_URL: anvil.url }));
  }, 30_000);

  afterAll(async () => {
    await gateway?.app.close();
    await nc?.close();
    await Promise.all([anvil?.stop(), nats?.stop()]);
  });

  const send = (tx: Record<string, unknown>, headers: Record<string, string> = {}) => post(url, rpc('eth_sendTransaction', [tx]), headers);

  describe('intercepted methods', () => {
    it("eth_accounts and personal_listAccounts list the fixture accounts, lower-case and sorted, never the node's own", async () => {
      const expected = [...fixtures.wallets.keys()].sort();
      expect(expected).toEqual([alice.address, bob.address].map((a) => a.toLowerCase()).sort());
      const nodeAccounts = (await anvil.rpc<string[]>('eth_accounts')).map((a) => a.toLowerCase());
      expect(nodeAccounts.length).toBeGreaterThan(0);
      for (const method of ['eth_accounts', 'personal_listAccounts']) {
        const { status, body } = await post(url, rpc(method, [], 'acc'));
        expect(status).toBe(200);
        expect(body).toEqual({ jsonrpc: '2.0', id: 'acc', result: expected });
      }
    });

    it('eth_sendTransaction with nothing but from/to/value: type 2, estimated gas, mined from the fixture key', async () => {
      const { status, body } = await send({ from: alice.address, to: stranger, value: '0x2a' });
      expect(status).toBe(200);
      const receipt = await waitForReceipt(anvil, body.result);
      expect(receipt.status).toBe('0x1');
      expect(receipt.from).toBe(alice.address.toLowerCase());
      const tx = await anvil.rpc<{ type: string; gas: string; maxFeePerGas: string }>('eth_getTransactionByHash', [body.result]);
      expect(tx.type).toBe('0x2');
      expect(BigInt(tx.gas)).toBe(25_200n); // 21,000 × 1.2
      const outcome = fixtures.outcomes.at(-1)!;
      expect(outcome).toMatchObject({ outcome: 'submitted', hash: body.result });
      expect(outcome.raw).toMatch(/^0x02/);
    });

    it('type 0x0 gives a legacy EIP-155 transaction; gasPrice gives legacy; gasPrice + accessList gives type 1', async () => {
      const legacy = await send({ from: alice.address, to: stranger, value: '0x1', type: '0x0' });
      expect(legacy.status).toBe(200);
      await waitForReceipt(anvil, legacy.body.result);
      const tx0 = await anvil.rpc<{ type: string; v: string; chainId: string }>('eth_getTransactionByHash', [legacy.body.result]);
      expect(tx0.type).toBe('0x0');
      expect([BigInt(anvil.chainId) * 2n + 35n, BigInt(anvil.chainId) * 2n + 36n]).toContain(BigInt(tx0.v));

      const priced = await send({ from: alice.address, to: stranger, gasPrice: '0x' + (5n * 10n ** 9n).toString(16) });
      await waitForReceipt(anvil, priced.body.result);
      expect((await anvil.rpc<{ type: string; gasPrice: string }>('eth_getTransactionByHash', [priced.body.result])).type).toBe('0x0');

      const withList = await send({ from: alice.address, to: stranger, gasPrice: '0x' + (5n * 10n ** 9n).toString(16), accessList: [{ address: stranger, storageKeys: [] }] });
      await waitForReceipt(anvil, withList.body.result);
      expect((await anvil.rpc<{ type: string }>('eth_getTransactionByHash', [withList.body.result])).type).toBe('0x1');
    });

    it('honours an explicit nonce (passed to nonce-service as fixedNonce) and explicit gas', async () => {
      const pending = Number(await anvil.rpc<string>('eth_getTransactionCount', [bob.address, 'pending']));
      const { body } = await send({ from: bob.address, to: stranger, nonce: '0x' + pending.toString(16), gas: '0x5208' });
      await waitForReceipt(anvil, body.result);
      expect(fixtures.allocations.at(-1)).toMatchObject({ address: bob.address.toLowerCase(), fixedNonce: pending, nonce: pending });
      const tx = await anvil.rpc<{ nonce: string; gas: string }>('eth_getTransactionByHash', [body.result]);
      expect([Number(tx.nonce), tx.gas]).toEqual([pending, '0x5208']);
    });

    it('a repeated X-Request-Id returns the first hash and signs nothing new', async () => {
      const first = await send({ from: bob.address, to: stranger, value: '0x3' }, { 'x-request-id': 'order-17' });
      const signedBefore = fixtures.signed.length;
      const again = await send({ from: bob.address, to: stranger, value: '0x3' }, { 'x-request-id': 'order-17' });
      expect(again.body.result).toBe(first.body.result);
      expect(fixtures.signed.length).toBe(signedBefore);
      expect(fixtures.allocations.filter((a) => a.requestId === 'order-17')).toHaveLength(1);
    });
  });

  describe('real clients (ethers JsonRpcSigner, viem JSON-RPC account, cast --unlocked)', () => {
    it('ethers: listAccounts and getSigner().sendTransaction', async () => {
      const provider = new JsonRpcProvider(url, undefined, { staticNetwork: true, pollingInterval: 50 });
      try {
        const listed = (await provider.listAccounts()).map((s) => s.address.toLowerCase());
        expect(listed).toEqual([...fixtures.wallets.keys()].sort());
        const signer = await provider.getSigner(alice.address);
        const response = await signer.sendTransaction({ to: stranger, value: 12n });
        const receipt = await response.wait();
        expect(receipt?.status).toBe(1);
        expect(receipt?.from).toBe(alice.address);
      } finally {
        provider.destroy();
      }
    });

    it('ethers: 20 concurrent sends from one account (one JSON-RPC batch) all mine with 20 contiguous nonces', async () => {
      const carol = Wallet.createRandom();
      await anvil.rpc('anvil_setBalance', [carol.address, '0x' + (10n ** 20n).toString(16)]);
      fixtures.wallets.set(carol.address.toLowerCase(), carol);
      // As key-discovery does when a key appears: the gateway's account cache follows the event.
      nc.publish(Events.accountsChanged.subject, codec.encode({ pattern: Events.accountsChanged.subject, data: { added: [carol.address.toLowerCase()], removed: [], at: new Date().toISOString() } }));
      await waitFor('carol in eth_accounts', async () => ((await post(url, rpc('eth_accounts'))).body.result as string[]).includes(carol.address.toLowerCase()) || undefined, 5_000, 20);
      const provider = new JsonRpcProvider(url, undefined, { staticNetwork: true, pollingInterval: 50 });
      try {
        const signer = await provider.getSigner(carol.address);
        const sent = await Promise.all(Array.from({ length: 20 }, (_, i) => signer.sendTransaction({ to: stranger, value: BigInt(100 + i) })));
        const receipts = await Promise.all(sent.map((tx) => tx.wait(1, 30_000)));
        expect(receipts.map((r) => r?.status)).toEqual(Array(20).fill(1));
        const nonces = (await Promise.all(sent.map((tx) => provider.getTransaction(tx.hash)))).map((tx) => tx!.nonce).sort((a, b) => a - b);
        expect(nonces).toEqual(Array.from({ length: 20 }, (_, i) => i));
      } finally {
        provider.destroy();
      }
    });

    it('viem: an EIP-1559 send mines as type 2, a legacy one as type 0', async () => {
      const client = createWalletClient({ account: bob.address as `0x${string}`, chain: anvilChain, transport: http(url) });
      const h2 = await client.sendTransaction({ to: stranger as `0x${string}`, value: 1n });
      const h0 = await client.sendTransaction({ to: stranger as `0x${string}`, value: 1n, type: 'legacy' });
      for (const [hash, type] of [[h2, '0x2'], [h0, '0x0']] as const) {
        await waitForReceipt(anvil, hash);
        expect((await anvil.rpc<{ type: string }>('eth_getTransactionByHash', [hash])).type).toBe(type);
      }
    });

    it('cast send --unlocked', async () => {
      // Asynchronous: the gateway runs in this process and must keep answering while cast waits.
      const { stdout } = await promisify(execFile)(castBinary(), ['send', '--unlocked', '--from', alice.address, stranger, '--value', '3', '--rpc-url', url, '--json'], {
        encoding: 'utf8',
        timeout: 60_000,
        env: { ...process.env, ETH_RPC_URL: undefined, ETH_FROM: undefined },
      });
      const receipt = JSON.parse(stdout) as { status: string; from: string };
      expect(receipt.status).toBe('0x1');
      expect(receipt.from).toBe(alice.address.toLowerCase());
    }, 60_000); // cast starts a process and polls for the receipt: well over jest's 5 s default on a loaded machine
  });

  describe('pass-through: byte for byte what the node answers', () => {
    async function both(payload: unknown) {
      const [viaGateway, direct] = await Promise.all([post(url, payload), post(anvil.url, payload)]);
      expect(viaGateway.status).toBe(direct.status);
      expect(viaGateway.text).toBe(direct.text);
      return direct;
    }

    it('eth_getBalance, eth_blockNumber, eth_call', async () => {
      expect((await both(rpc('eth_getBalance', [alice.address, 'latest'], 7))).body.result).toMatch(/^0x[0-9a-f]+$/);
      expect(Number((await both(rpc('eth_blockNumber', [], 'bn'))).body.result)).toBeGreaterThan(0);
      // The identity precompile (0x…04) echoes its input.
      expect((await both(rpc('eth_call', [{ to: '0x0000000000000000000000000000000000000004', data: '0xc0ffee' }, 'latest'], 8))).body.result).toBe('0xc0ffee');
    });

    it('eth_getLogs (a log emitted by a deploy through the gateway)', async () => {
      // Init code PUSH1 0 PUSH1 0 LOG0 STOP: emits one empty log from the new contract's address.
      const { body } = await send({ from: alice.address, data: '0x60006000a000' });
      const receipt = await waitForReceipt(anvil, body.result);
      const logs = (await both(rpc('eth_getLogs', [{ address: receipt.contractAddress, fromBlock: '0x0', toBlock: 'latest' }], 9))).body.result;
      expect(logs).toHaveLength(1);
    });

    it("an unknown method gets the node's own error", async () => {
      const direct = await both(rpc('hsm_noSuchMethod', [1], 10));
      expect(direct.body.error.code).toBe(-32601);
    });
  });

  describe('batch', () => {
    it('answers intercepted entries locally, forwards the rest as one batch, keeps order and ids', async () => {
      const chainId = await anvil.rpc<string>('eth_chainId');
      const { status, body } = await post(url, [
        rpc('eth_accounts', [], 'a'),
        rpc('eth_blockNumber', [], 1),
        rpc('eth_sendTransaction', [{ from: bob.address, to: stranger, value: '0x7' }], 'send'),
        { jsonrpc: '2.0', method: 'eth_chainId', params: [] }, // notification: no answer
        rpc('eth_chainId', [], 1), // a reused id still gets its own answer
        rpc('hsm_noSuchMethod', [], null as unknown as number),
        { jsonrpc: '1.0', id: 'bad', method: 'x' },
        rpc('eth_sendTransaction', [{ to: stranger }], 'nofrom'),
      ]);
      expect(status).toBe(200);
      expect(body.map((r: { id: unknown }) => r.id)).toEqual(['a', 1, 'send', 1, null, 'bad', 'nofrom']);
      expect(body[0].result).toEqual([...fixtures.wallets.keys()].sort());
      expect(body[1].result).toMatch(/^0x[0-9a-f]+$/);
      expect(body[3].result).toBe(chainId);
      expect(body[4].error.code).toBe(-32601);
      expect(body[5].error.code).toBe(-32600);
      expect(body[6].error.code).toBe(-32602);
      expect((await waitForReceipt(anvil, body[2].result)).status).toBe('0x1');
    });

    it('an empty batch is -32600 with HTTP 400', async () => {
      const { status, body } = await post(url, []);
      expect(status).toBe(400);
      expect(body.error.code).toBe(-32600);
    });
  });

  describe('errors (research/rpc-signers.md §1.8)', () => {
    it('a body that is not JSON → HTTP 400, -32700, id null', async () => {
      const { status, body } = await post(url, '{"jsonrpc":"2.0","id":1,"method":');
      expect(status).toBe(400);
      expect(body).toEqual({ jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Parse error' } });
    });

    it('a body over RPC_BODY_LIMIT_BYTES → HTTP 413 with a JSON-RPC error', async () => {
      const { status, body } = await post(url, JSON.stringify(rpc('eth_call', [{ data: '0x' + '00'.repeat(3 * 1024 * 1024) }])));
      expect(status).toBe(413);
      expect(body.error.code).toBe(-32600);
      expect(body.error.message).toMatch(/exceeds the limit of 5242880 bytes/);
    });

    it('missing from → HTTP 200 (as geth), -32602; nothing allocated', async () => {
      const before = fixtures.allocations.length;
      const { status, body } = await send({ to: stranger, value: '0x1' });
      expect(status).toBe(200);
      expect(body.error).toEqual({ code: -32602, message: "Invalid params: missing 'from'" });
      expect(fixtures.allocations.length).toBe(before);
    });

    it('unknown from → HTTP 200 (as geth), -32000 "No unlocked account matches the Sender"', async () => {
      const { status, body } = await send({ from: stranger, to: alice.address, value: '0x1' });
      expect(status).toBe(200);
      expect(body.error).toEqual({ code: -32000, message: 'No unlocked account matches the Sender' });
    });

    it('a NaN quantity and a foreign chainId → -32602', async () => {
      expect((await send({ from: alice.address, to: stranger, value: 'NaN' })).body.error).toMatchObject({ code: -32602, message: expect.stringMatching(/value/) });
      expect((await send({ from: alice.address, to: stranger, chainId: '0x1' })).body.error).toMatchObject({ code: -32602, message: expect.stringMatching(/chain id/) });
    });

    it("insufficient funds → the node's error as the node gives it; the allocation is recorded rejected", async () => {
      // anvil's estimate does not check the balance, so the node refuses at eth_sendRawTransaction.
      // Its answer for the same condition, from an (impersonated, empty) account it signs for itself:
      const empty = Wallet.createRandom().address;
      await anvil.rpc('anvil_impersonateAccount', [empty]);
      const direct = await post(anvil.url, rpc('eth_sendTransaction', [{ from: empty, to: stranger, value: '0x1', gas: '0x5208' }]));
      await anvil.rpc('anvil_stopImpersonatingAccount', [empty]);
      expect(direct.body.error.message).toMatch(/insufficient funds/i);

      const { status, body } = await send({ from: alice.address, to: stranger, value: '0x' + (10n ** 24n).toString(16) });
      expect(status).toBe(direct.status);
      expect(body.error).toEqual(direct.body.error);
      expect(fixtures.outcomes.at(-1)).toMatchObject({ outcome: 'rejected', error: direct.body.error.message });
    });

    it("a revert on estimate → the node's revert error verbatim (code 3 + data), and no nonce taken", async () => {
      // Init code that reverts with 4 bytes of data: PUSH4 0xdeadbeef PUSH1 0 MSTORE PUSH1 4 PUSH1 28 REVERT
      const data = '0x63deadbeef6000526004601cfd';
      const before = fixtures.allocations.length;
      const direct = await post(anvil.url, rpc('eth_estimateGas', [{ from: alice.address, data }]));
      const { body } = await send({ from: alice.address, data });
      expect(direct.body.error.code).toBe(3);
      expect(body.error).toEqual(direct.body.error);
      expect(fixtures.allocations.length).toBe(before);
    });

    it('signer-service not subscribed → -32000 naming signer-service at once; the nonce is recorded abandoned', async () => {
      fixtures.subs.get('sign')!.unsubscribe();
      await nc.flush(); // the UNSUB is on the server before the send
      try {
        const { status, body, elapsedMs } = await send({ from: alice.address, to: stranger, value: '0x1' });
        expect(status).toBe(503);
        expect(body.error.code).toBe(-32000);
        expect(body.error.message).toBe('signer-service is not available: nothing answers on hsm.v1.signer.sign-transaction-batch (is it running?)');
        expect(elapsedMs).toBeLessThan(NATS_TIMEOUT_MS);
        expect(fixtures.outcomes.at(-1)).toMatchObject({ outcome: 'abandoned' });
      } finally {
        fixtures.subs.set('sign', serve(nc, Routes.signerSignTransaction, (req) => fixtureSign(fixtures, req.from, req.tx)));
        await nc.flush();
      }
    });

    it('signer-service that never answers → -32000 within NATS_REQUEST_TIMEOUT_MS, no hang', async () => {
      fixtures.subs.get('sign')!.unsubscribe();
      const silent = serve(nc, Routes.signerSignTransaction, () => 'never-answer' as const);
      await nc.flush();
      try {
        const { status, body, elapsedMs } = await send({ from: alice.address, to: stranger, value: '0x1' });
        expect(status).toBe(503);
        expect(body.error.message).toBe(`signer-service is not available: no answer on hsm.v1.signer.sign-transaction-batch within ${NATS_TIMEOUT_MS} ms`);
        expect(elapsedMs).toBeGreaterThanOrEqual(NATS_TIMEOUT_MS - 50);
        expect(elapsedMs).toBeLessThan(NATS_TIMEOUT_MS + 1_500);
      } finally {
        silent.unsubscribe();
        fixtures.subs.set('sign', serve(nc, Routes.signerSignTransaction, (req) => fixtureSign(fixtures, req.from, req.tx)));
        await nc.flush();
      }
    });
  });

  describe('health and an unreachable node', () => {
    it('GET /health is 200 with NATS connected and the node reachable', async () => {
      const res = await fetch(`${url}/health`);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ status: 'ok', nats: 'connected', node: 'reachable' });
    });

    it('refuses to start when CHAIN_ID is set and the node is on another chain', async () => {
      await expect(startGateway({ NATS_URL: nats.url, ETH_NODE_URL: anvil.url, CHAIN_ID: '1' })).rejects.toThrow(
        'the node is on chain 31337, but this gateway is configured for chain 1 (CHAIN_ID)',
      );
    });

    it('node unreachable → HTTP 504, -32000 "Failed to connect to downstream node" for sends and pass-through; /health 503', async () => {
      const dead = await startGateway({ NATS_URL: nats.url, ETH_NODE_URL: `http://127.0.0.1:${await freePort()}` });
      try {
        for (const payload of [rpc('eth_blockNumber', [], 5), rpc('eth_sendTransaction', [{ from: alice.address, to: stranger }], 6)]) {
          const { status, body, elapsedMs } = await post(dead.url, payload);
          expect(status).toBe(504);
          expect(body).toEqual({ jsonrpc: '2.0', id: payload.id, error: { code: -32000, message: 'Failed to connect to downstream node' } });
          expect(elapsedMs).toBeLessThan(2_000);
        }
        const batch = await post(dead.url, [rpc('eth_blockNumber', [], 1), rpc('eth_accounts', [], 2)]);
        expect(batch.status).toBe(200);
        expect(batch.body[0].error.message).toBe('Failed to connect to downstream node');
        expect(batch.body[1].result).toEqual([...fixtures.wallets.keys()].sort());
        const health = await fetch(`${dead.url}/health`);
        expect(health.status).toBe(503);
        expect(await health.json()).toMatchObject({ nats: 'connected', node: 'unreachable' });
      } finally {
        await dead.gateway.app.close();
      }
    });
  });
});
