import { JsonRpcProvider, Wallet, getAddress } from 'ethers';
import { createWalletClient, http } from 'viem';
import { counterDeployData, counterInterface } from './support/counter';
import { call, looksLikeStackTrace, post, result, waitForReceipt, type HttpExchange, type RpcResponse } from './support/json-rpc';
import { sortedLower, useStack } from './support/stack';

interface NodeTransaction {
  from: string;
  gas: string;
  nonce: string;
}

// Acceptance of issue 2: pass-through (single and batch) and the error set of
// shared/research/rpc-signers.md §1.8 / §7, asserted with raw HTTP so status codes and bodies are
// exact. The node's answers are always fetched from anvil directly and compared.
describe('rpc-gateway pass-through and errors (raw JSON-RPC over HTTP)', () => {
  const stack = useStack({ keys: 2 });
  let hsm: string[];
  let gateway: string;
  let node: string;
  let counter: string;
  const stranger = Wallet.createRandom().address;

  /** The same request body to the gateway and to anvil; both answers with their HTTP status. */
  async function both(payload: unknown) {
    const [viaGateway, direct] = await Promise.all([post(gateway, payload), post(node, payload)]);
    return { viaGateway, direct };
  }

  function expectSameAnswer(viaGateway: HttpExchange, direct: HttpExchange) {
    expect({ status: viaGateway.status, body: viaGateway.body }).toEqual({ status: direct.status, body: direct.body });
  }

  async function sendAndMine(tx: Record<string, unknown>) {
    const { status, body } = await call<string>(gateway, 'eth_sendTransaction', [tx]);
    if (body.error) throw new Error(`eth_sendTransaction → HTTP ${status} ${JSON.stringify(body.error)}`);
    return { hash: body.result!, receipt: await waitForReceipt(node, body.result!) };
  }

  beforeAll(async () => {
    gateway = stack().rpcUrl;
    node = stack().anvil.url;
    hsm = stack().addresses.map((a) => getAddress(a));
    // A deploy with no gas given: the gateway must estimate it (a node default of 21,000 would fail).
    const deploy = await sendAndMine({ from: hsm[0], data: counterDeployData(1n, 'pass-through') });
    counter = getAddress(deploy.receipt.contractAddress!);
    await sendAndMine({ from: hsm[0], to: counter, data: counterInterface.encodeFunctionData('increment', [2n]) });
  });

  describe('eth_sendTransaction completion', () => {
    it('estimates gas when none is given: a raw deploy needing > 90,000 gas mines', async () => {
      const { hash, receipt } = await sendAndMine({ from: hsm[1], data: counterDeployData(7n, 'raw deploy') });
      expect(receipt.status).toBe('0x1');
      expect(BigInt(receipt.gasUsed)).toBeGreaterThan(90_000n);
      const tx = await result<NodeTransaction>(node, 'eth_getTransactionByHash', [hash]);
      expect(getAddress(tx.from)).toBe(hsm[1]);
      expect(BigInt(tx.gas)).toBeGreaterThanOrEqual(BigInt(receipt.gasUsed));
    });

    it('honours an explicit gasPrice (legacy, EIP-155) and an explicit gas limit', async () => {
      const { hash, receipt } = await sendAndMine({ from: hsm[0], to: stranger, value: '0x5', gasPrice: '0x77359400', gas: '0x6000' });
      expect(receipt.status).toBe('0x1');
      const tx = await result<NodeTransaction & { type: string; gasPrice: string; v: string }>(node, 'eth_getTransactionByHash', [hash]);
      expect(tx.type).toBe('0x0');
      expect(BigInt(tx.gasPrice)).toBe(2_000_000_000n);
      expect(BigInt(tx.gas)).toBe(0x6000n);
      const chainId = Number(await result<string>(node, 'eth_chainId'));
      expect([chainId * 2 + 35, chainId * 2 + 36]).toContain(Number(tx.v));
    });

    it('honours an explicit nonce, and the next automatic send follows it', async () => {
      const next = Number(await result<string>(node, 'eth_getTransactionCount', [hsm[0], 'pending']));
      const fixed = await sendAndMine({ from: hsm[0], to: stranger, value: '0x6', nonce: `0x${next.toString(16)}` });
      expect(fixed.receipt.status).toBe('0x1');
      expect(Number((await result<NodeTransaction>(node, 'eth_getTransactionByHash', [fixed.hash])).nonce)).toBe(next);

      const automatic = await sendAndMine({ from: hsm[0], to: stranger, value: '0x7' });
      expect(automatic.receipt.status).toBe('0x1');
      expect(Number((await result<NodeTransaction>(node, 'eth_getTransactionByHash', [automatic.hash])).nonce)).toBe(next + 1);
    });
  });

  describe('pass-through: the node answers, byte for byte', () => {
    it('eth_getBalance equals anvil', async () => {
      const { viaGateway, direct } = await both({ jsonrpc: '2.0', id: 11, method: 'eth_getBalance', params: [hsm[0], 'latest'] });
      expect((direct.body as RpcResponse).result).toMatch(/^0x[0-9a-f]+$/);
      expectSameAnswer(viaGateway, direct);
    });

    it('eth_call equals anvil', async () => {
      const data = counterInterface.encodeFunctionData('count');
      const { viaGateway, direct } = await both({ jsonrpc: '2.0', id: 'call', method: 'eth_call', params: [{ to: counter, data }, 'latest'] });
      expect(BigInt((direct.body as RpcResponse<string>).result!)).toBe(3n);
      expectSameAnswer(viaGateway, direct);
    });

    it('eth_getLogs equals anvil', async () => {
      const { viaGateway, direct } = await both({
        jsonrpc: '2.0',
        id: 12,
        method: 'eth_getLogs',
        params: [{ address: counter, fromBlock: '0x0', toBlock: 'latest' }],
      });
      expect((direct.body as RpcResponse<unknown[]>).result).toHaveLength(1);
      expectSameAnswer(viaGateway, direct);
    });

    it('eth_blockNumber equals anvil', async () => {
      const { viaGateway, direct } = await both({ jsonrpc: '2.0', id: 13, method: 'eth_blockNumber', params: [] });
      expect(Number((direct.body as RpcResponse<string>).result)).toBeGreaterThan(0);
      expectSameAnswer(viaGateway, direct);
    });

    it("an unknown method returns the node's own error", async () => {
      const { viaGateway, direct } = await both({ jsonrpc: '2.0', id: 14, method: 'hsm_noSuchMethod', params: [1] });
      expect((direct.body as RpcResponse).error?.code).toBe(-32601);
      expectSameAnswer(viaGateway, direct);
    });

    it('a batch mixing eth_accounts, eth_sendTransaction and pass-through methods keeps order and ids', async () => {
      const chainId = await result<string>(node, 'eth_chainId');
      const batch = [
        { jsonrpc: '2.0', id: 'b-accounts', method: 'eth_accounts', params: [] },
        { jsonrpc: '2.0', id: 2, method: 'eth_blockNumber', params: [] },
        { jsonrpc: '2.0', id: 'b-send', method: 'eth_sendTransaction', params: [{ from: hsm[1], to: stranger, value: '0x2a' }] },
        { jsonrpc: '2.0', id: 4, method: 'eth_chainId', params: [] },
        { jsonrpc: '2.0', id: 5, method: 'hsm_noSuchMethod', params: [] },
      ];
      const { status, body } = await post<RpcResponse[]>(gateway, batch);
      expect(status).toBe(200);
      expect(Array.isArray(body)).toBe(true);
      expect(body.map((r) => r.id)).toEqual(['b-accounts', 2, 'b-send', 4, 5]);
      expect(body.every((r) => r.jsonrpc === '2.0')).toBe(true);

      expect(sortedLower(body[0].result as string[])).toEqual(sortedLower(hsm));
      expect(body[1].result).toMatch(/^0x[0-9a-f]+$/);
      expect(body[3].result).toBe(chainId);
      expect(body[4].error?.code).toBe(-32601);

      const hash = body[2].result as string;
      expect(hash).toMatch(/^0x[0-9a-f]{64}$/);
      const receipt = await waitForReceipt(node, hash);
      expect(receipt.status).toBe('0x1');
      expect(getAddress(receipt.from)).toBe(hsm[1]);
    });

    it("eth_accounts and personal_listAccounts list the HSM keys and never the node's own dev accounts", async () => {
      const nodeAccounts = await result<string[]>(node, 'eth_accounts');
      expect(nodeAccounts.length).toBeGreaterThan(0);
      for (const method of ['eth_accounts', 'personal_listAccounts']) {
        const listed = await result<string[]>(gateway, method);
        expect(sortedLower(listed)).toEqual(sortedLower(hsm));
        expect(sortedLower(listed).filter((a) => sortedLower(nodeAccounts).includes(a))).toEqual([]);
      }
    });
  });

  describe('errors (shared/research/rpc-signers.md §1.8)', () => {
    it('a body that is not JSON → HTTP 400, -32700', async () => {
      const { status, body } = await post<RpcResponse>(gateway, '{"jsonrpc":"2.0","id":1,"method":');
      expect(status).toBe(400);
      // JSON-RPC 2.0 §5: the id could not be read, so it is null (present, not missing).
      expect(body).toEqual({ jsonrpc: '2.0', id: null, error: { code: -32700, message: expect.stringMatching(/^Parse error/) } });
    });

    it('eth_sendTransaction without from → -32602, nothing sent', async () => {
      const blockBefore = await result<string>(node, 'eth_blockNumber');
      const { status, body } = await call(gateway, 'eth_sendTransaction', [{ to: stranger, value: '0x1' }]);
      expect(body.result).toBeUndefined();
      expect(body.error?.code).toBe(-32602);
      // HTTP 200 as geth and anvil answer: on a 400 ethers and viem drop the code and message (below).
      expect(status).toBe(200);
      expect(looksLikeStackTrace(body.error!.message)).toBe(false);
      expect(await result<string>(node, 'eth_blockNumber')).toBe(blockBefore);
    });

    it('an unknown from → -32000 "No unlocked account matches the Sender"', async () => {
      const { status, body } = await call(gateway, 'eth_sendTransaction', [{ from: stranger, to: hsm[0], value: '0x1' }]);
      expect(body.error).toMatchObject({ code: -32000, message: 'No unlocked account matches the Sender' });
      expect(status).toBe(200);
    });

    it('ethers and viem show the gateway\'s own error for an unknown from (not a bare HTTP failure)', async () => {
      const provider = new JsonRpcProvider(gateway, undefined, { staticNetwork: true, batchMaxCount: 1 });
      try {
        const viaEthers = await provider.send('eth_sendTransaction', [{ from: stranger, to: hsm[0], value: '0x1' }]).catch((e: unknown) => e);
        expect(viaEthers).toMatchObject({ error: { code: -32000, message: 'No unlocked account matches the Sender' } });
        expect((viaEthers as { code?: string }).code).not.toBe('SERVER_ERROR');
      } finally {
        provider.destroy();
      }
      const wallet = createWalletClient({ transport: http(gateway, { retryCount: 0 }) });
      const viaViem = await wallet.sendTransaction({ account: stranger as `0x${string}`, to: hsm[0] as `0x${string}`, value: 1n, chain: null }).catch((e: unknown) => e);
      expect(String((viaViem as Error).message)).toContain('No unlocked account matches the Sender');
      expect(String((viaViem as Error).message)).not.toContain('HTTP request failed');
    });

    it("the node's own dev account is unknown too: the gateway never lets the node sign", async () => {
      const [devAccount] = await result<string[]>(node, 'eth_accounts');
      const nonceBefore = await result<string>(node, 'eth_getTransactionCount', [devAccount, 'latest']);
      const { body } = await call(gateway, 'eth_sendTransaction', [{ from: devAccount, to: stranger, value: '0x1' }]);
      expect(body.error).toMatchObject({ code: -32000, message: 'No unlocked account matches the Sender' });
      expect(await result<string>(node, 'eth_getTransactionCount', [devAccount, 'latest'])).toBe(nonceBefore);
    });

    it("value above the balance → the node's insufficient-funds error, as the node gives it", async () => {
      // anvil's own answer for the same condition, from an account it signs for itself (impersonated,
      // empty): { code: -32003, message: 'Insufficient funds for gas * price + value' }.
      const empty = Wallet.createRandom().address;
      await result(node, 'anvil_impersonateAccount', [empty]);
      const nodeAnswer = await call(node, 'eth_sendTransaction', [{ from: empty, to: stranger, value: '0x1', gas: '0x5208' }]);
      await result(node, 'anvil_stopImpersonatingAccount', [empty]);
      expect(nodeAnswer.body.error?.message).toMatch(/insufficient funds/i);

      const balance = BigInt(await result<string>(node, 'eth_getBalance', [hsm[1], 'latest']));
      const tooMuch = `0x${(balance + 10n ** 18n).toString(16)}`;
      const { body } = await call(gateway, 'eth_sendTransaction', [{ from: hsm[1], to: stranger, value: tooMuch }]);
      expect(body.result).toBeUndefined();
      expect(body.error).toMatchObject({ code: nodeAnswer.body.error!.code, message: nodeAnswer.body.error!.message });
    });

    it("a call that reverts on estimate → the node's revert error, verbatim", async () => {
      const tx = { from: hsm[1], to: counter, data: counterInterface.encodeFunctionData('fail') };
      const nodeAnswer = await call(node, 'eth_estimateGas', [tx]);
      expect(nodeAnswer.body.error?.message).toMatch(/Counter: always fails/);

      const { body } = await call(gateway, 'eth_sendTransaction', [tx]);
      expect(body.result).toBeUndefined();
      expect(body.error).toEqual(nodeAnswer.body.error);
    });

    // Last in this file: it stops the node for good.
    it('node unreachable → HTTP 504, -32000 "Failed to connect to downstream node" (send and pass-through)', async () => {
      await stack().anvil.stop();
      const send = await call(gateway, 'eth_sendTransaction', [{ from: hsm[0], to: stranger, value: '0x1' }], 30_000);
      expect(send.status).toBe(504);
      expect(send.body.error).toMatchObject({ code: -32000, message: 'Failed to connect to downstream node' });

      const read = await call(gateway, 'eth_blockNumber', [], 30_000);
      expect(read.status).toBe(504);
      expect(read.body.error).toMatchObject({ code: -32000, message: 'Failed to connect to downstream node' });
      // No hang: a refused connection is answered at once, not after the node timeout.
      expect(send.elapsedMs).toBeLessThan(5_000);
      expect(read.elapsedMs).toBeLessThan(5_000);
    });
  });
});
