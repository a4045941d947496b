import type { UnsignedTransaction } from '@hsm-signer/contracts';

/**
 * Fee arithmetic for replacements and gap fills: pure, unit-tested without a node.
 * A replacement must raise BOTH the fee cap and the tip by at least the pool's price bump (geth 10%,
 * strictly greater: research/nonce-and-lifecycle.md §6.1), and should clear the current base fee.
 */

export interface BumpPolicy {
  /** ≥ this many percent over the previous attempt, on every fee field. */
  percent: number;
  /** Absolute ceiling per gas (wei), if configured. */
  maxFeePerGasWei?: bigint;
  /** Otherwise the first attempt's fee times this. */
  multiplier: number;
}

export interface MarketFees {
  /** Base fee of the latest block (null on a chain without EIP-1559). */
  baseFeePerGas: bigint | null;
  /** The node's suggested tip (eth_maxPriorityFeePerGas) or gas price (legacy). */
  priorityFee: bigint;
}

export type BumpResult = { kind: 'bumped'; tx: UnsignedTransaction } | { kind: 'capped'; cap: bigint; wanted: bigint };

const q = (v: bigint) => '0x' + v.toString(16);
const big = (v: unknown, fallback = 0n) => (typeof v === 'string' && v.length > 2 ? BigInt(v) : fallback);

/** At least `percent` more, and strictly more (ceil, +1 when rounding gave nothing). */
export function raise(value: bigint, percent: number): bigint {
  const bumped = (value * BigInt(100 * 100 + Math.round(percent * 100)) + 9_999n) / 10_000n;
  return bumped > value ? bumped : value + 1n;
}

/** The ceiling a replacement may reach. */
export function feeCap(policy: BumpPolicy, originalFee: bigint): bigint {
  if (policy.maxFeePerGasWei !== undefined) return policy.maxFeePerGasWei;
  return (originalFee * BigInt(Math.round(policy.multiplier * 1000))) / 1000n;
}

/**
 * The next attempt of `current` (same nonce, same payload) with bumped fees. `originalFee` is the
 * first attempt's fee cap (or gas price), the base of the multiplier cap.
 */
export function bumpTransaction(current: UnsignedTransaction, market: MarketFees, policy: BumpPolicy, originalFee: bigint): BumpResult {
  if (current.type === 2) {
    const oldCap = big(current.maxFeePerGas);
    const oldTip = big(current.maxPriorityFeePerGas);
    let tip = raise(oldTip, policy.percent);
    if (market.priorityFee > tip) tip = market.priorityFee;
    let maxFee = raise(oldCap, policy.percent);
    // Clear the next base fee (it can rise 12.5% per block) with the new tip on top.
    const floor = market.baseFeePerGas === null ? 0n : market.baseFeePerGas * 2n + tip;
    if (floor > maxFee) maxFee = floor;
    const cap = feeCap(policy, originalFee);
    if (maxFee > cap) {
      // Still a valid bump when the cap leaves room for the minimum bump.
      if (cap >= raise(oldCap, policy.percent)) maxFee = cap;
      else return { kind: 'capped', cap, wanted: maxFee };
    }
    if (tip > maxFee) tip = maxFee;
    if (tip < raise(oldTip, policy.percent)) return { kind: 'capped', cap, wanted: raise(oldTip, policy.percent) };
    return { kind: 'bumped', tx: { ...current, maxFeePerGas: q(maxFee), maxPriorityFeePerGas: q(tip) } };
  }
  const oldPrice = big(current.gasPrice);
  let price = raise(oldPrice, policy.percent);
  const floor = market.baseFeePerGas === null ? market.priorityFee : market.baseFeePerGas * 2n + market.priorityFee;
  if (floor > price) price = floor;
  const cap = feeCap(policy, originalFee);
  if (price > cap) {
    if (cap >= raise(oldPrice, policy.percent)) price = cap;
    else return { kind: 'capped', cap, wanted: price };
  }
  return { kind: 'bumped', tx: { ...current, gasPrice: q(price) } };
}

/** The zero-value self-transfer that fills a hole at `nonce` (research §6.2 "nonce gap"), at current fees. */
export function gapFillTransaction(chainId: number, address: string, nonce: number, market: MarketFees): UnsignedTransaction {
  const base = { chainId, nonce, to: address, value: '0x0', data: '0x', gasLimit: q(21_000n) };
  if (market.baseFeePerGas === null) return { ...base, type: 0, gasPrice: q(market.priorityFee) };
  return { ...base, type: 2, maxPriorityFeePerGas: q(market.priorityFee), maxFeePerGas: q(market.baseFeePerGas * 2n + market.priorityFee) };
}

/** An unsigned transaction from the ledger's stored fields (as decoded from the raw transaction). */
export function unsignedFromFields(chainId: number, nonce: number, type: number, fields: Record<string, unknown>): UnsignedTransaction {
  const tx: UnsignedTransaction = {
    type: type === 2 ? 2 : type === 1 ? 1 : 0,
    chainId,
    nonce,
    to: (fields['to'] as string | null) ?? null,
    value: String(fields['value'] ?? '0x0'),
    data: String(fields['data'] ?? '0x'),
    gasLimit: String(fields['gasLimit']),
  };
  if (type === 2) {
    tx.maxFeePerGas = String(fields['maxFeePerGas']);
    tx.maxPriorityFeePerGas = String(fields['maxPriorityFeePerGas']);
  } else {
    tx.gasPrice = String(fields['gasPrice']);
  }
  if (Array.isArray(fields['accessList'])) tx.accessList = fields['accessList'] as UnsignedTransaction['accessList'];
  return tx;
}

/** The fee cap (type 2) or gas price of stored fields. */
export function feeOf(fields: Record<string, unknown> | null | undefined): bigint {
  if (!fields) return 0n;
  return big(fields['maxFeePerGas'] ?? fields['gasPrice']);
}
