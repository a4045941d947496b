import { parseUnsignedTransaction } from '@hsm-signer/contracts';
import { InvalidParamsError } from '../rpc/errors';
import { applyGasMultiplier, completeTransaction, estimateGasRequest, factsNeeded, withNonce, type NodeFacts } from './complete';
import { parseTransactionRequest } from './request';

const FROM = '0x' + 'ab'.repeat(20);
const TO = '0x' + 'cd'.repeat(20);
const GWEI = 1_000_000_000n;
const london: NodeFacts = { chainId: 31337, baseFeePerGas: 7n * GWEI, blockGasLimit: 30_000_000n, maxPriorityFeePerGas: GWEI, gasPrice: 8n * GWEI, gasEstimate: 21_000n };
const preLondon: NodeFacts = { ...london, baseFeePerGas: null };
const opts = { gasMultiplier: 1.2 };
const req = (fields: Record<string, unknown> = {}) => parseTransactionRequest({ from: FROM, to: TO, ...fields });

describe('completeTransaction', () => {
  it('builds type 2 on a chain with a base fee: priority from the node, maxFee = 2·baseFee + priority, gas = estimate × multiplier', () => {
    const tx = completeTransaction(req({ value: '0x1' }), london, opts);
    expect(tx).toEqual({
      type: 2,
      chainId: 31337,
      to: TO,
      value: '0x1',
      data: '0x',
      gasLimit: '0x6270', // 25,200
      maxFeePerGas: '0x' + (15n * GWEI).toString(16),
      maxPriorityFeePerGas: '0x' + GWEI.toString(16),
    });
    // What leaves for signer-service must satisfy the wire contract.
    expect(() => parseUnsignedTransaction(withNonce(tx, 3))).not.toThrow();
  });

  it('builds legacy EIP-155 (type 0, chainId set) where the chain has no base fee', () => {
    const tx = completeTransaction(req(), preLondon, opts);
    expect(tx).toMatchObject({ type: 0, chainId: 31337, gasPrice: '0x' + (8n * GWEI).toString(16) });
    expect(tx.maxFeePerGas).toBeUndefined();
  });

  it('builds type 1 on a legacy chain when an access list is given', () => {
    const accessList = [{ address: TO, storageKeys: [] }];
    expect(completeTransaction(req({ accessList }), preLondon, opts)).toMatchObject({ type: 1, accessList });
  });

  it('honours an explicit gasPrice: legacy even on a 1559 chain, type 1 with an access list', () => {
    expect(completeTransaction(req({ gasPrice: '0x64' }), london, opts)).toMatchObject({ type: 0, gasPrice: '0x64' });
    expect(completeTransaction(req({ gasPrice: '0x64', accessList: [] }), london, opts)).toMatchObject({ type: 1, gasPrice: '0x64', accessList: [] });
  });

  it('honours an explicit legacy type on a 1559 chain (viem type: "legacy")', () => {
    expect(completeTransaction(req({ type: '0x0' }), london, opts)).toMatchObject({ type: 0, gasPrice: '0x' + (8n * GWEI).toString(16) });
  });

  it('honours explicit gas and 1559 fees without touching them', () => {
    const tx = completeTransaction(req({ gas: '0x5208', maxFeePerGas: '0x10', maxPriorityFeePerGas: '0x2' }), { chainId: 1 }, opts);
    expect(tx).toMatchObject({ type: 2, gasLimit: '0x5208', maxFeePerGas: '0x10', maxPriorityFeePerGas: '0x2', chainId: 1 });
  });

  it('caps the suggested priority fee at a given maxFeePerGas, and derives maxFee from a given priority', () => {
    expect(completeTransaction(req({ maxFeePerGas: '0x5' }), london, opts)).toMatchObject({ maxFeePerGas: '0x5', maxPriorityFeePerGas: '0x5' });
    expect(completeTransaction(req({ maxPriorityFeePerGas: '0x1' }), london, opts)).toMatchObject({ maxFeePerGas: '0x' + (14n * GWEI + 1n).toString(16), maxPriorityFeePerGas: '0x1' });
  });

  it('refuses priority > maxFee, conflicting fee fields and type/fee mismatches with -32602', () => {
    expect(() => completeTransaction(req({ maxFeePerGas: '0x1', maxPriorityFeePerGas: '0x2' }), london, opts)).toThrow(/higher than maxFeePerGas/);
    expect(() => completeTransaction(req({ gasPrice: '0x1', maxFeePerGas: '0x2' }), london, opts)).toThrow(/both gasPrice and/);
    expect(() => completeTransaction(req({ type: '0x0', maxFeePerGas: '0x2' }), london, opts)).toThrow(/need a type 0x2/);
    expect(() => completeTransaction(req({ type: '0x2', gasPrice: '0x2' }), london, opts)).toThrow(/gasPrice is not valid/);
    expect(() => completeTransaction(req({ type: '0x0', accessList: [{ address: TO, storageKeys: [] }] }), london, opts)).toThrow(/accessList needs/);
    expect(() => completeTransaction(req({ type: '0x2' }), preLondon, opts)).toThrow(InvalidParamsError);
    expect(() => completeTransaction(req({ type: '0x2' }), preLondon, opts)).toThrow(/does not accept EIP-1559/);
  });

  it("refuses a chainId that is not the node's", () => {
    expect(() => completeTransaction(req({ chainId: '0x1' }), london, opts)).toThrow(InvalidParamsError);
    expect(() => completeTransaction(req({ chainId: '0x1' }), london, opts)).toThrow("chainId 0x1 does not match the node's chain id 0x7a69");
    expect(completeTransaction(req({ chainId: '0x7a69' }), london, opts).chainId).toBe(31337);
  });

  it('keeps contract creation as to: null', () => {
    const tx = completeTransaction(parseTransactionRequest({ from: FROM, data: '0x6080' }), london, opts);
    expect(tx.to).toBeNull();
    expect(tx.data).toBe('0x6080');
  });
});

describe('applyGasMultiplier', () => {
  it('rounds up and caps at the block gas limit, never below the estimate', () => {
    expect(applyGasMultiplier(21_000n, 1)).toBe(21_000n);
    expect(applyGasMultiplier(100_001n, 1.2)).toBe(120_002n); // 120001.2 → 120002
    expect(applyGasMultiplier(29_000_000n, 1.2, 30_000_000n)).toBe(30_000_000n);
    expect(applyGasMultiplier(31_000_000n, 1.2, 30_000_000n)).toBe(31_000_000n);
  });
});

describe('factsNeeded', () => {
  it('asks for everything when nothing is known or given', () => {
    expect(factsNeeded(req())).toEqual({ latestBlock: true, maxPriorityFeePerGas: true, gasPrice: true, estimateGas: true });
  });
  it('uses what is known about the chain to skip calls', () => {
    expect(factsNeeded(req({ gas: '0x5208' }), { supports1559: false })).toEqual({ latestBlock: false, maxPriorityFeePerGas: false, gasPrice: true, estimateGas: false });
    expect(factsNeeded(req({ gas: '0x5208' }), { supports1559: true })).toEqual({ latestBlock: true, maxPriorityFeePerGas: true, gasPrice: false, estimateGas: false });
  });
  it('needs no node call at all for a fully specified transaction', () => {
    expect(factsNeeded(req({ gas: '0x5208', maxFeePerGas: '0x2', maxPriorityFeePerGas: '0x1' }))).toEqual({
      latestBlock: false,
      maxPriorityFeePerGas: false,
      gasPrice: false,
      estimateGas: false,
    });
    expect(factsNeeded(req({ gas: '0x5208', gasPrice: '0x2' }))).toEqual({ latestBlock: false, maxPriorityFeePerGas: false, gasPrice: false, estimateGas: false });
  });
});

describe('estimateGasRequest', () => {
  it("passes only the caller's own fields", () => {
    expect(estimateGasRequest(req({ value: '0x1', gasPrice: '0x2' }))).toEqual({ from: FROM, to: TO, value: '0x1', data: '0x', gasPrice: '0x2' });
    expect(estimateGasRequest(parseTransactionRequest({ from: FROM, data: '0x60' }))).toEqual({ from: FROM, value: '0x0', data: '0x60' });
  });
});

describe('completion for a key that signs only some types (issue 4: Vault ethsign is legacy-only)', () => {
  const legacyOnly = { ...opts, transactionTypes: [0] as const };

  it('defaults to legacy EIP-155 on a 1559 chain when the key cannot sign type 2', () => {
    const tx = completeTransaction(req({ value: '0x1' }), london, legacyOnly);
    expect(tx).toEqual({ type: 0, chainId: 31337, to: TO, value: '0x1', data: '0x', gasLimit: '0x6270', gasPrice: '0x' + (8n * GWEI).toString(16) });
    expect(() => parseUnsignedTransaction(withNonce(tx, 0))).not.toThrow();
    // Without the restriction the same request on the same chain is type 2.
    expect(completeTransaction(req({ value: '0x1' }), london, opts).type).toBe(2);
    expect(completeTransaction(req(), london, { ...opts, transactionTypes: [0, 1, 2] }).type).toBe(2);
  });

  it('needs no block for the type and no 1559 fee facts for such a key', () => {
    expect(factsNeeded(req({ gas: '0x5208' }), {}, [0])).toEqual({ latestBlock: false, maxPriorityFeePerGas: false, gasPrice: true, estimateGas: false });
    expect(factsNeeded(req({ gas: '0x5208' }), {})).toMatchObject({ latestBlock: true, maxPriorityFeePerGas: true });
  });

  it('refuses an explicit type 2 with -32602 naming the types the key can sign', () => {
    const attempt = () => completeTransaction(req({ type: '0x2' }), london, legacyOnly);
    expect(attempt).toThrow(InvalidParamsError);
    expect(attempt).toThrow(/type 0x2 was asked, but the key of 0x(ab){20} can only sign types 0x0 \(legacy/);
    expect(() => factsNeeded(req({ type: '0x2' }), {}, [0])).toThrow(InvalidParamsError);
    try {
      attempt();
    } catch (error) {
      expect((error as InvalidParamsError).code).toBe(-32602);
    }
  });

  it('refuses type 2 implied by 1559 fee fields', () => {
    expect(() => completeTransaction(req({ maxFeePerGas: '0x1' }), london, legacyOnly)).toThrow(/type 0x2 follows from maxFeePerGas/);
  });

  it('type 1 (asked, or from an access list with no type) is refused when the key cannot sign it, and built when it can', () => {
    const accessList = [{ address: TO, storageKeys: [] }];
    expect(() => completeTransaction(req({ type: '0x1' }), london, legacyOnly)).toThrow(/type 0x1 was asked.*can only sign types 0x0/);
    expect(() => completeTransaction(req({ accessList }), london, legacyOnly)).toThrow(/type 0x1 follows from the accessList/);
    expect(completeTransaction(req({ accessList }), london, { ...opts, transactionTypes: [0, 1] })).toMatchObject({ type: 1, accessList, gasPrice: '0x' + (8n * GWEI).toString(16) });
  });

  it('an explicit legacy request or gasPrice still works for the key', () => {
    expect(completeTransaction(req({ type: '0x0' }), london, legacyOnly)).toMatchObject({ type: 0 });
    expect(completeTransaction(req({ gasPrice: '0x7' }), london, legacyOnly)).toMatchObject({ type: 0, gasPrice: '0x7' });
  });
});
