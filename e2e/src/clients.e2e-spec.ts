import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Contract, ContractFactory, JsonRpcProvider, Wallet, getAddress } from 'ethers';
import { createPublicClient, createWalletClient, defineChain, http, type Address, type Chain } from 'viem';
import { Web3 } from 'web3';
import { castBinary, waitFor } from '@hsm-signer/testing';
import { COUNTER_ABI, COUNTER_BYTECODE } from './support/counter';
import { call, result, waitForReceipt, type MinedReceipt } from './support/json-rpc';
import { sortedLower, useStack } from './support/stack';

const run = promisify(execFile);

/** key-discovery's poll interval for this stack. */
const POLL_INTERVAL_MS = 1_000;
/** Slack for pkcs11-tool, the poll itself, the accounts-changed event and a busy 2-core machine. */
const MARGIN_MS = 2_000;

interface NodeTransaction {
  hash: string;
  from: string;
  to: string | null;
  nonce: string;
  type: string;
  value: string;
  gas: string;
  v: string;
  chainId?: string;
}

// Acceptance of issue 2, "real, unmodified clients": ethers v6 (JsonRpcSigner), viem (JSON-RPC
// account), foundry's cast and web3.js 4, each pointed at the rpc-gateway as if it were a node. What
// reached the chain is always read back from anvil directly, never through the gateway under test.
// The same stack then shows key-discovery following the token (keys added and deleted at run time).
describe('real Ethereum clients through the rpc-gateway', () => {
  const stack = useStack({ keys: 3, discoveryPollMs: POLL_INTERVAL_MS });
  let provider: JsonRpcProvider;
  /** Accounts: [0] ethers single sends + deploy, [1] viem / cast / web3, [2] the 20 concurrent sends. */
  let hsm: string[];
  let chainId: number;
  const recipient = Wallet.createRandom().address;

  const onChain = (hash: string) => stack().anvil.rpc<NodeTransaction>('eth_getTransactionByHash', [hash]);
  const receiptOnChain = (hash: string) => stack().anvil.rpc<MinedReceipt>('eth_getTransactionReceipt', [hash]);

  beforeAll(async () => {
    // cacheTimeout -1: ethers otherwise answers identical reads within 250 ms from its cache.
    provider = new JsonRpcProvider(stack().rpcUrl, undefined, { cacheTimeout: -1 });
    hsm = stack().addresses.map((a) => getAddress(a));
    chainId = Number(await stack().anvil.rpc<string>('eth_chainId'));
  });
  afterAll(() => provider?.destroy());

  describe('ethers v6 JsonRpcProvider / JsonRpcSigner', () => {
    let contractAddress: string;

    it('listAccounts() returns exactly the keys on the SoftHSM2 token', async () => {
      const listed = (await provider.listAccounts()).map((signer) => signer.address);
      // What the token itself holds, read with pkcs11-tool, not what the stack was told to create.
      const onToken = (await stack().tokenKeys()).map((k) => k.address);
      expect(onToken).toHaveLength(3);
      expect(sortedLower(listed)).toEqual(sortedLower(onToken));
      expect(sortedLower(listed)).toEqual(sortedLower(hsm));
    });

    it('getSigner(addr).sendTransaction({to, value}) mines on anvil with the HSM address as from', async () => {
      const signer = await provider.getSigner(hsm[0]);
      const before = BigInt(await stack().anvil.rpc<string>('eth_getBalance', [recipient, 'latest']));
      const tx = await signer.sendTransaction({ to: recipient, value: 12_345n });
      const receipt = await tx.wait();
      expect(receipt?.status).toBe(1);

      const mined = await onChain(tx.hash);
      expect(getAddress(mined.from)).toBe(hsm[0]);
      expect(getAddress(mined.to!)).toBe(recipient);
      expect(BigInt(mined.value)).toBe(12_345n);
      expect(BigInt(await stack().anvil.rpc<string>('eth_getBalance', [recipient, 'latest']))).toBe(before + 12_345n);
    });

    it('ContractFactory deploy through the signer (no gas given, > 90,000 gas) succeeds', async () => {
      const signer = await provider.getSigner(hsm[0]);
      const contract = (await new ContractFactory(COUNTER_ABI, COUNTER_BYTECODE, signer).deploy(5n, 'e2e')) as Contract;
      const deployTx = contract.deploymentTransaction()!;
      const receipt = await deployTx.wait();
      expect(receipt?.status).toBe(1);
      contractAddress = await contract.getAddress();

      const direct = await receiptOnChain(deployTx.hash);
      expect(direct.status).toBe('0x1');
      expect(BigInt(direct.gasUsed)).toBeGreaterThan(90_000n);
      expect(getAddress(direct.from)).toBe(hsm[0]);
      expect(getAddress(direct.contractAddress!)).toBe(contractAddress);
      expect((await stack().anvil.rpc<string>('eth_getCode', [contractAddress, 'latest'])).length).toBeGreaterThan(2);
    });

    it('then a state-changing call and a view call through the gateway', async () => {
      const signer = await provider.getSigner(hsm[0]);
      const contract = new Contract(contractAddress, COUNTER_ABI, signer);
      const tx = await contract.getFunction('increment')(3n);
      const receipt = await tx.wait();
      expect(receipt.status).toBe(1);
      expect(receipt.logs).toHaveLength(1);
      expect(getAddress((await onChain(tx.hash)).from)).toBe(hsm[0]);

      expect(await contract.getFunction('count')()).toBe(8n);
      expect(await contract.getFunction('lastCaller')()).toBe(hsm[0]);
      expect(await contract.getFunction('label')()).toBe('e2e');
    });
  });

  describe('viem wallet client with a JSON-RPC account', () => {
    let chain: Chain;
    beforeAll(() => {
      chain = defineChain({
        id: chainId,
        name: 'anvil via hsm-signer',
        nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
        rpcUrls: { default: { http: [stack().rpcUrl] } },
      });
    });
    const clients = () => ({
      wallet: createWalletClient({ account: hsm[1] as Address, chain, transport: http(stack().rpcUrl) }),
      // viem polls every 4 s by default; automine answers in milliseconds.
      reader: createPublicClient({ chain, transport: http(stack().rpcUrl), pollingInterval: 100 }),
    });

    it('an EIP-1559 send mines as type 2', async () => {
      const { wallet, reader } = clients();
      const hash = await wallet.sendTransaction({ to: recipient as Address, value: 1_000n });
      const receipt = await reader.waitForTransactionReceipt({ hash, timeout: 30_000 });
      expect(receipt.status).toBe('success');
      expect(receipt.type).toBe('eip1559');

      const mined = await onChain(hash);
      expect(mined.type).toBe('0x2');
      expect(getAddress(mined.from)).toBe(hsm[1]);
      expect(Number(mined.chainId)).toBe(chainId);
    });

    it("a type: 'legacy' send mines as type 0 with an EIP-155 v", async () => {
      const { wallet, reader } = clients();
      const hash = await wallet.sendTransaction({ to: recipient as Address, value: 1_001n, type: 'legacy' });
      const receipt = await reader.waitForTransactionReceipt({ hash, timeout: 30_000 });
      expect(receipt.status).toBe('success');
      expect(receipt.type).toBe('legacy');

      const mined = await onChain(hash);
      expect(mined.type).toBe('0x0');
      expect(getAddress(mined.from)).toBe(hsm[1]);
      // EIP-155: v = chainId * 2 + 35 + recovery id (a pre-EIP-155 signature would have 27 / 28).
      expect([chainId * 2 + 35, chainId * 2 + 36]).toContain(Number(mined.v));
    });
  });

  describe("foundry's cast", () => {
    it('cast send --unlocked --from <hsm address> … --rpc-url <gateway> succeeds', async () => {
      const { stdout } = await run(
        castBinary(),
        ['send', '--unlocked', '--from', hsm[1], recipient, '--value', '1002', '--rpc-url', stack().rpcUrl, '--json'],
        { timeout: 60_000, env: { ...process.env, ETH_RPC_URL: undefined, ETH_FROM: undefined } },
      );
      const receipt = JSON.parse(stdout) as MinedReceipt;
      expect(receipt.status).toBe('0x1');
      const mined = await onChain(receipt.transactionHash);
      expect(getAddress(mined.from)).toBe(hsm[1]);
      expect(BigInt(mined.value)).toBe(1_002n);
    });
  });

  describe('web3.js 4', () => {
    it('eth.sendTransaction from an HSM account mines', async () => {
      const web3 = new Web3(stack().rpcUrl);
      web3.eth.transactionPollingInterval = 100;
      const receipt = await web3.eth.sendTransaction({ from: hsm[1], to: recipient, value: 1_003n });
      expect(receipt.status).toBe(1n);
      const mined = await onChain(String(receipt.transactionHash));
      expect(getAddress(mined.from)).toBe(hsm[1]);
      expect(BigInt(mined.value)).toBe(1_003n);
    });
  });

  describe('concurrency', () => {
    it('20 concurrent ethers sends from one account all succeed with 20 contiguous nonces', async () => {
      const from = hsm[2];
      const signer = await provider.getSigner(from);
      const start = Number(await stack().anvil.rpc<string>('eth_getTransactionCount', [from, 'latest']));

      const sent = await Promise.all(Array.from({ length: 20 }, (_, i) => signer.sendTransaction({ to: recipient, value: BigInt(2_000 + i) })));
      const receipts = await Promise.all(sent.map((tx) => tx.wait()));
      expect(receipts.map((r) => r?.status)).toEqual(Array(20).fill(1));
      expect(new Set(sent.map((tx) => tx.hash)).size).toBe(20);

      const mined = await Promise.all(sent.map((tx) => onChain(tx.hash)));
      for (const tx of mined) expect(getAddress(tx.from)).toBe(from);
      const nonces = mined.map((tx) => Number(tx.nonce)).sort((a, b) => a - b);
      expect(nonces).toEqual(Array.from({ length: 20 }, (_, i) => start + i));
      expect(Number(await result<string>(stack().anvil.url, 'eth_getTransactionCount', [from, 'latest']))).toBe(start + 20);
    });
  });

  // Last in this file: it changes the token. key-discovery follows the token while the stack runs: a
  // key generated on it appears in eth_accounts within one poll interval and can sign at once; a
  // deleted key disappears and can no longer be used.
  describe('keys added to and deleted from the token while the stack runs', () => {
    const label = `late-key-${Date.now().toString(36)}`;
    let added: string;

    const accounts = async () => sortedLower(await result<string[]>(stack().rpcUrl, 'eth_accounts'));

    it('a key added to the token appears in eth_accounts within one poll interval', async () => {
      const initial = await accounts();
      expect(initial).toEqual(sortedLower(stack().addresses));

      await stack().token.addKey(label);
      const started = Date.now();
      // The address as the token itself reports it (pkcs11-tool reads CKA_EC_POINT).
      const key = (await stack().tokenKeys()).find((k) => k.label === label);
      expect(key).toBeDefined();
      added = getAddress(key!.address);
      expect(initial).not.toContain(added.toLowerCase());

      await waitFor('the new key in eth_accounts', async () => (await accounts()).includes(added.toLowerCase()), POLL_INTERVAL_MS + MARGIN_MS + 5_000, 50);
      const elapsed = Date.now() - started;
      console.log(`added key listed after ${elapsed} ms (poll interval ${POLL_INTERVAL_MS} ms)`);
      expect(elapsed).toBeLessThan(POLL_INTERVAL_MS + MARGIN_MS);
      expect(await accounts()).toEqual(sortedLower([...initial, added]));
    });

    it('the new key signs at once: a send from it mines with it as from', async () => {
      await result(stack().anvil.url, 'anvil_setBalance', [added, '0xde0b6b3a7640000']);
      const { body } = await call<string>(stack().rpcUrl, 'eth_sendTransaction', [{ from: added, to: Wallet.createRandom().address, value: '0x1' }]);
      expect(body.error).toBeUndefined();
      const receipt = await waitForReceipt(stack().anvil.url, body.result!);
      expect(receipt.status).toBe('0x1');
      expect(getAddress(receipt.from)).toBe(added);
    });

    it('a key deleted from the token disappears from eth_accounts within one poll interval and is refused', async () => {
      await stack().token.deleteKey(label);
      const started = Date.now();
      await waitFor('the deleted key gone from eth_accounts', async () => !(await accounts()).includes(added.toLowerCase()), POLL_INTERVAL_MS + MARGIN_MS + 5_000, 50);
      const elapsed = Date.now() - started;
      console.log(`deleted key gone after ${elapsed} ms (poll interval ${POLL_INTERVAL_MS} ms)`);
      expect(elapsed).toBeLessThan(POLL_INTERVAL_MS + MARGIN_MS);
      expect(await accounts()).toEqual(sortedLower(stack().addresses));

      const { body } = await call(stack().rpcUrl, 'eth_sendTransaction', [{ from: added, to: Wallet.createRandom().address, value: '0x1' }]);
      expect(body.error).toMatchObject({ code: -32000, message: 'No unlocked account matches the Sender' });
    });
  });
});
