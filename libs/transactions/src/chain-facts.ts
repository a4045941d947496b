import { parseQuantity, UnknownNodeError, type NodeFacts } from '@hsm-signer/ethereum';
import type { EthNodeClient } from './eth-node-client';

/** Used when the node has no eth_maxPriorityFeePerGas (ethers v6 uses the same 1 gwei default). */
export const FALLBACK_PRIORITY_FEE = 1_000_000_000n;

/**
 * The per-block facts completion needs: the same for every transaction of one block. A fee the node
 * would not give comes with its error instead, thrown only to a send that needs it.
 */
export interface ChainFacts extends Pick<NodeFacts, 'blockGasLimit' | 'maxPriorityFeePerGas' | 'gasPrice'> {
  baseFeePerGas: bigint | null;
  maxPriorityFeePerGasError?: Error;
  gasPriceError?: Error;
}

/**
 * The latest block's base fee and gas limit, the node's priority fee and its gas price, read in one
 * batch and shared by every send for `maxAgeMs` (FEE_CACHE_MS); concurrent sends share one read
 * (single flight). A failed read is not kept: the next send asks again.
 *
 * Why a short cache is safe: completion sets maxFeePerGas = 2 × baseFee + priority (ethers' rule),
 * which survives six full blocks of base-fee rises (12.5 % each, EIP-1559), so facts up to about a
 * block old still price a transaction that gets mined. viem caches block reads for its
 * `cacheTime` (the polling interval, 4 s by default) for the same reason.
 */
export class ChainFactsCache {
  private current?: { facts: ChainFacts; at: number };
  private inflight?: Promise<ChainFacts>;

  constructor(
    private readonly node: Pick<EthNodeClient, 'batch'>,
    private readonly maxAgeMs: number,
  ) {}

  /** Whether the chain has EIP-1559 base fees, when known from an earlier read. */
  get supports1559(): boolean | undefined {
    return this.current ? this.current.facts.baseFeePerGas !== null : undefined;
  }

  get(): Promise<ChainFacts> {
    if (this.current && performance.now() - this.current.at < this.maxAgeMs) return Promise.resolve(this.current.facts);
    this.inflight ??= this.read().finally(() => (this.inflight = undefined));
    return this.inflight;
  }

  private async read(): Promise<ChainFacts> {
    const [block, priority, gasPrice] = await this.node.batch([
      { method: 'eth_getBlockByNumber', params: ['latest', false] },
      { method: 'eth_maxPriorityFeePerGas', params: [] },
      { method: 'eth_gasPrice', params: [] },
    ]);
    if (!block.ok) throw block.error;
    const latest = block.result as { baseFeePerGas?: unknown; gasLimit?: unknown } | null;
    const facts: ChainFacts = {
      baseFeePerGas: latest && latest.baseFeePerGas !== undefined && latest.baseFeePerGas !== null ? parseQuantity(latest.baseFeePerGas, 'baseFeePerGas') : null,
    };
    if (latest?.gasLimit !== undefined) facts.blockGasLimit = parseQuantity(latest.gasLimit, 'gasLimit');
    if (priority.ok) facts.maxPriorityFeePerGas = parseQuantity(priority.result, 'eth_maxPriorityFeePerGas result');
    // Older nodes lack eth_maxPriorityFeePerGas: ethers' default tip, as ethers does.
    else if (priority.error instanceof UnknownNodeError) facts.maxPriorityFeePerGas = FALLBACK_PRIORITY_FEE;
    else facts.maxPriorityFeePerGasError = priority.error;
    if (gasPrice.ok) facts.gasPrice = parseQuantity(gasPrice.result, 'eth_gasPrice result');
    else facts.gasPriceError = gasPrice.error;
    this.current = { facts, at: performance.now() };
    return facts;
  }
}
