import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { JsonRpcProvider, Transaction, Wallet, getAddress, hashMessage, recoverAddress, verifyMessage, verifyTypedData } from 'ethers';
import { createPublicClient, createWalletClient, defineChain, http, recoverMessageAddress, recoverTypedDataAddress, type Address, type Chain, type Hex } from 'viem';
import { Web3 } from 'web3';
import { castBinary, MAIL_MESSAGE, MAIL_TYPES } from '@hsm-signer/testing';
import { call, waitForReceipt } from './support/json-rpc';
import { useStack } from './support/stack';

const run = promisify(execFile);

// The signing methods through the whole stack (anvil, SoftHSM2, NATS, Postgres, the five services)
// with real, unmodified clients: ethers v6 JsonRpcSigner, viem's wallet client with a JSON-RPC
// account, web3.js 4 and foundry's cast. Every signature is checked by recovery with the clients'
// own verifiers (never through the gateway); signed transactions are broadcast and read back from
// anvil directly.

const domain = { name: 'Ether Mail', version: '1', chainId: 31337, verifyingContract: '0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC' as Address };
const types = MAIL_TYPES;
const mail = MAIL_MESSAGE;

describe('signing methods through the rpc-gateway with real clients', () => {
  const stack = useStack({ keys: 2 });
  let provider: JsonRpcProvider;
  let hsm: string[];
  let chain: Chain;
  const recipient = Wallet.createRandom().address;
  const pendingNonce = async (address: string) => Number(await stack().anvil.rpc<string>('eth_getTransactionCount', [address, 'pending']));

  beforeAll(async () => {
    provider = new JsonRpcProvider(stack().rpcUrl, undefined, { cacheTimeout: -1 });
    provider.pollingInterval = 100;
    hsm = stack().addresses.map((a) => getAddress(a));
    const chainId = Number(await stack().anvil.rpc<string>('eth_chainId'));
    expect(chainId).toBe(domain.chainId);
    chain = defineChain({ id: chainId, name: 'anvil via hsm-signer', nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 }, rpcUrls: { default: { http: [stack().rpcUrl] } } });
  });
  afterAll(() => provider?.destroy());

  describe('ethers v6 JsonRpcSigner', () => {
    it('signMessage (personal_sign) recovers to the HSM address with verifyMessage', async () => {
      const signer = await provider.getSigner(hsm[0]);
      const signature = await signer.signMessage('hello from the HSM');
      expect(signature).toMatch(/^0x[0-9a-f]{128}(1b|1c)$/);
      expect(verifyMessage('hello from the HSM', signature)).toBe(hsm[0]);
      const bytes = new Uint8Array([0, 1, 2, 0xff]);
      expect(verifyMessage(bytes, await signer.signMessage(bytes))).toBe(hsm[0]);
    });

    it('_legacySignMessage (eth_sign) recovers to the HSM address', async () => {
      const signer = await provider.getSigner(hsm[0]);
      expect(verifyMessage('legacy', await signer._legacySignMessage('legacy'))).toBe(hsm[0]);
    });

    it('signTypedData (eth_signTypedData_v4) recovers to the HSM address with verifyTypedData', async () => {
      const signer = await provider.getSigner(hsm[1]);
      const signature = await signer.signTypedData(domain, types, mail);
      expect(verifyTypedData(domain, types, mail, signature)).toBe(hsm[1]);
    });

    it('signTransaction with a nonce: the raw transaction is from the HSM address, and eth_sendRawTransaction through the gateway mines it', async () => {
      const signer = await provider.getSigner(hsm[0]);
      const nonce = await pendingNonce(hsm[0]);
      // No gas, no fees: the gateway completes them as for eth_sendTransaction.
      const raw = await signer.signTransaction({ to: recipient, value: 4_242n, nonce });
      const tx = Transaction.from(raw);
      expect(tx.from).toBe(hsm[0]);
      expect(tx.nonce).toBe(nonce);
      expect(tx.type).toBe(2);
      expect(tx.chainId).toBe(31337n);
      expect(tx.to).toBe(recipient);
      expect(tx.gasLimit).toBeGreaterThanOrEqual(21_000n);
      // Signing broadcast nothing.
      expect(await stack().anvil.rpc('eth_getTransactionByHash', [tx.hash])).toBeNull();

      const { body } = await call<string>(stack().rpcUrl, 'eth_sendRawTransaction', [raw]);
      expect(body.result).toBe(tx.hash);
      const receipt = await waitForReceipt(stack().anvil.url, tx.hash!);
      expect(receipt.status).toBe('0x1');
      expect(getAddress(receipt.from)).toBe(hsm[0]);
      expect(BigInt(await stack().anvil.rpc<string>('eth_getBalance', [recipient, 'latest']))).toBe(4_242n);
    });
  });

  describe('viem wallet client with a JSON-RPC account', () => {
    const clients = () => ({
      wallet: createWalletClient({ account: hsm[1] as Address, chain, transport: http(stack().rpcUrl) }),
      reader: createPublicClient({ chain, transport: http(stack().rpcUrl), pollingInterval: 100 }),
    });

    it('signMessage recovers to the HSM address (viem recoverMessageAddress)', async () => {
      const { wallet } = clients();
      const signature = await wallet.signMessage({ message: 'viem says hi' });
      expect(await recoverMessageAddress({ message: 'viem says hi', signature })).toBe(hsm[1]);
      const raw = await wallet.signMessage({ message: { raw: '0xdeadbeef' } });
      expect(await recoverMessageAddress({ message: { raw: '0xdeadbeef' }, signature: raw })).toBe(hsm[1]);
    });

    it('signTypedData recovers to the HSM address (viem recoverTypedDataAddress and ethers verifyTypedData)', async () => {
      const { wallet } = clients();
      const signature = await wallet.signTypedData({ domain, types, primaryType: 'Mail', message: mail });
      expect(await recoverTypedDataAddress({ domain, types, primaryType: 'Mail', message: mail, signature })).toBe(hsm[1]);
      expect(verifyTypedData(domain, types, mail, signature)).toBe(hsm[1]);
    });

    it('signTransaction (legacy, with a nonce) → sendRawTransaction mines with the HSM address as from', async () => {
      const { wallet, reader } = clients();
      const nonce = await pendingNonce(hsm[1]);
      const serialized = await wallet.signTransaction({ to: recipient as Address, value: 1_000n, nonce, type: 'legacy', gas: 21_000n, gasPrice: 2_000_000_000n });
      const tx = Transaction.from(serialized);
      expect(tx.from).toBe(hsm[1]);
      expect(tx.type).toBe(0);
      expect(tx.nonce).toBe(nonce);
      expect(tx.gasPrice).toBe(2_000_000_000n);
      const hash = await wallet.sendRawTransaction({ serializedTransaction: serialized as Hex });
      const receipt = await reader.waitForTransactionReceipt({ hash, timeout: 30_000 });
      expect(receipt.status).toBe('success');
      expect(getAddress(receipt.from)).toBe(hsm[1]);
    });
  });

  describe('web3.js 4', () => {
    it('eth.sign and eth.personal.sign recover to the HSM address', async () => {
      const web3 = new Web3(stack().rpcUrl);
      const signed = await web3.eth.sign(web3.utils.utf8ToHex('web3 eth_sign'), hsm[0]);
      expect(verifyMessage('web3 eth_sign', signed as string)).toBe(hsm[0]);
      const personal = await web3.eth.personal.sign('web3 personal_sign', hsm[1], '');
      expect(verifyMessage('web3 personal_sign', personal)).toBe(hsm[1]);
    });
  });

  describe("foundry's cast", () => {
    const env = { ...process.env, ETH_RPC_URL: undefined, ETH_FROM: undefined };

    it('cast mktx --ethsign (eth_signTransaction) → cast publish mines; cast rpc personal_sign verifies with cast wallet verify', async () => {
      const { stdout: raw } = await run(castBinary(), ['mktx', '--ethsign', '--from', hsm[0], recipient, '--value', '7', '--rpc-url', stack().rpcUrl], { timeout: 60_000, env });
      const tx = Transaction.from(raw.trim());
      expect(tx.from).toBe(hsm[0]);
      const { stdout: published } = await run(castBinary(), ['publish', raw.trim(), '--rpc-url', stack().rpcUrl, '--async'], { timeout: 60_000, env });
      expect(published.trim()).toBe(tx.hash);
      expect(getAddress((await waitForReceipt(stack().anvil.url, tx.hash!)).from)).toBe(hsm[0]);

      const message = '0x' + Buffer.from('cast was here').toString('hex');
      const { stdout: sig } = await run(castBinary(), ['rpc', 'personal_sign', message, hsm[1], '--rpc-url', stack().rpcUrl], { timeout: 30_000, env });
      const signature = JSON.parse(sig) as string;
      await run(castBinary(), ['wallet', 'verify', '--address', hsm[1], 'cast was here', signature], { timeout: 30_000, env }); // exits non-zero when it does not verify
      expect(recoverAddress(hashMessage('cast was here'), signature)).toBe(hsm[1]);
    });
  });

  describe('errors', () => {
    const stranger = Wallet.createRandom().address;

    it.each([
      ['eth_sign', [stranger, '0x01']],
      ['personal_sign', ['0x01', stranger]],
      ['eth_signTypedData_v4', [stranger, { types, primaryType: 'Mail', domain, message: mail }]],
      ['eth_signTransaction', [{ from: stranger, to: recipient, nonce: '0x0' }]],
    ])('%s for an account the gateway does not hold: -32000 "No unlocked account matches the Sender" (anvil would have signed with its own dev key)', async (method, params) => {
      const { status, body } = await call(stack().rpcUrl, method, params);
      expect(status).toBe(200);
      expect(body.error).toEqual({ code: -32000, message: 'No unlocked account matches the Sender' });
    });

    it("an anvil dev account is not ours either: the node's own keys never sign", async () => {
      const [devAccount] = await stack().anvil.rpc<string[]>('eth_accounts');
      const { body } = await call(stack().rpcUrl, 'personal_sign', ['0x01', devAccount]);
      expect(body.error).toEqual({ code: -32000, message: 'No unlocked account matches the Sender' });
    });

    it('bad typed data: -32602 naming the field; ethers surfaces it', async () => {
      const bad = { types, primaryType: 'Mail', domain, message: { ...mail, to: { name: 'Bob', wallet: 'bob' } } };
      const { status, body } = await call(stack().rpcUrl, 'eth_signTypedData_v4', [hsm[0], JSON.stringify(bad)]);
      expect(status).toBe(200); // as geth: a JSON-RPC error is HTTP 200 (json-rpc-handler.ts jsonRpcErrorStatus)
      expect(body.error).toEqual({ code: -32602, message: 'Invalid params: typed data cannot be encoded (EIP-712): typedData.message.to.wallet is not a valid address: invalid address ("bob")' });

      const unknownPrimary = await call(stack().rpcUrl, 'eth_signTypedData_v4', [hsm[0], { ...bad, message: mail, primaryType: 'Letter' }]);
      expect(unknownPrimary.body.error?.message).toBe('Invalid params: typedData.primaryType "Letter" is not defined in typedData.types (EIP712Domain aside)');
      // ethers (which would refuse such data before sending it) sees the gateway's message too.
      await expect(provider.send('eth_signTypedData_v4', [hsm[0].toLowerCase(), JSON.stringify(bad)])).rejects.toThrow(/typedData\.message\.to\.wallet is not a valid address/);
    });

    it('eth_signTransaction without a nonce: -32602 explaining that only eth_sendTransaction gets a nonce from the gateway', async () => {
      const before = await pendingNonce(hsm[0]);
      const { status, body } = await call(stack().rpcUrl, 'eth_signTransaction', [{ from: hsm[0], to: recipient, value: '0x1' }]);
      expect(status).toBe(200); // as geth: a JSON-RPC error is HTTP 200 (json-rpc-handler.ts jsonRpcErrorStatus)
      expect(body.error?.code).toBe(-32602);
      expect(body.error?.message).toContain('the gateway assigns nonces only to transactions it sends itself (eth_sendTransaction)');
      expect(await pendingNonce(hsm[0])).toBe(before); // nothing was sent
    });
  });
});
