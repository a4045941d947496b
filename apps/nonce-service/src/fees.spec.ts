import { bumpTransaction, feeCap, gapFillTransaction, raise, unsignedFromFields } from './fees';

const GWEI = 1_000_000_000n;
const type2 = unsignedFromFields(1, 7, 2, { to: '0x' + '11'.repeat(20), value: '0x1', data: '0x', gasLimit: '0x5208', maxFeePerGas: '0x' + (10n * GWEI).toString(16), maxPriorityFeePerGas: '0x' + GWEI.toString(16) });
const policy = { percent: 10, multiplier: 10 };

describe('fee bumps', () => {
  it('raises by at least the percentage, and strictly', () => {
    expect(raise(100n, 10)).toBe(110n);
    expect(raise(101n, 10)).toBe(112n); // ceil(111.1)
    expect(raise(1n, 10)).toBe(2n);
    expect(raise(0n, 10)).toBe(1n);
    expect(raise(1000n, 12.5)).toBe(1125n);
  });

  it('bumps both the fee cap and the tip of a type-2 transaction by ≥ 10% and clears twice the base fee', () => {
    const quiet = bumpTransaction(type2, { baseFeePerGas: GWEI, priorityFee: GWEI }, policy, 10n * GWEI);
    expect(quiet).toEqual({ kind: 'bumped', tx: { ...type2, maxFeePerGas: '0x' + (11n * GWEI).toString(16), maxPriorityFeePerGas: '0x' + ((11n * GWEI) / 10n).toString(16) } });
    const busy = bumpTransaction(type2, { baseFeePerGas: 30n * GWEI, priorityFee: 2n * GWEI }, policy, 10n * GWEI);
    expect(busy.kind === 'bumped' && BigInt(busy.tx.maxFeePerGas ?? 0)).toBe(62n * GWEI);
    expect(busy.kind === 'bumped' && BigInt(busy.tx.maxPriorityFeePerGas ?? 0)).toBe(2n * GWEI);
    expect(busy.kind === 'bumped' && busy.tx.nonce).toBe(7);
  });

  it('stops at the configured cap (absolute or a multiple of the first fee)', () => {
    expect(feeCap({ ...policy, maxFeePerGasWei: 5n }, 100n)).toBe(5n);
    expect(feeCap({ percent: 10, multiplier: 2.5 }, 100n)).toBe(250n);
    // The base fee asks for 202 gwei; the cap is 100 gwei: clamp to the cap (still ≥ +10%).
    const clamped = bumpTransaction(type2, { baseFeePerGas: 100n * GWEI, priorityFee: GWEI }, policy, 10n * GWEI);
    expect(clamped.kind === 'bumped' && BigInt(clamped.tx.maxFeePerGas ?? 0)).toBe(100n * GWEI);
    // A cap below the minimum bump: no replacement.
    expect(bumpTransaction(type2, { baseFeePerGas: GWEI, priorityFee: GWEI }, { ...policy, maxFeePerGasWei: 10n * GWEI }, 10n * GWEI)).toMatchObject({ kind: 'capped', cap: 10n * GWEI });
  });

  it('bumps a legacy gas price', () => {
    const legacy = unsignedFromFields(1, 0, 0, { to: null, value: '0x0', data: '0x60', gasLimit: '0x10000', gasPrice: '0x64' });
    expect(bumpTransaction(legacy, { baseFeePerGas: null, priorityFee: 50n }, policy, 100n)).toEqual({ kind: 'bumped', tx: { ...legacy, gasPrice: '0x6e' } });
  });

  it('builds a zero-value self-transfer at current fees for a gap', () => {
    expect(gapFillTransaction(5, '0xaa', 3, { baseFeePerGas: 10n, priorityFee: 2n })).toEqual({
      type: 2, chainId: 5, nonce: 3, to: '0xaa', value: '0x0', data: '0x', gasLimit: '0x5208', maxPriorityFeePerGas: '0x2', maxFeePerGas: '0x16',
    });
    expect(gapFillTransaction(5, '0xaa', 3, { baseFeePerGas: null, priorityFee: 7n })).toMatchObject({ type: 0, gasPrice: '0x7' });
  });
});
