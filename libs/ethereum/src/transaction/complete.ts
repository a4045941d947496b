import type { UnsignedTransaction } from '@hsm-signer/contracts';
import { InvalidParamsError } from '../rpc/errors';
import { toQuantity } from './quantity';
import type { TransactionRequest, TransactionType } from './request';

/**
 * What the node told us, gathered before completion. Only the facts {@link factsNeeded} asks for
 * are fetched; the rest stay undefined.
 */
export interface NodeFacts {
  chainId: number;
  /** From the latest block. null: the block has no baseFeePerGas, so the chain predates EIP-1559. */
  baseFeePerGas?: bigint | null;
  /** The latest block's gas limit: an estimate times the multiplier is capped at it. */
  blockGasLimit?: bigint;
  /** eth_maxPriorityFeePerGas. */
  maxPriorityFeePerGas?: bigint;
  /** eth_gasPrice. */
  gasPrice?: bigint;
  /** eth_estimateGas for this transaction. */
  gasEstimate?: bigint;
}

export interface FactsNeeded {
  latestBlock: boolean;
  maxPriorityFeePerGas: boolean;
  gasPrice: boolean;
  estimateGas: boolean;
}

/** Everything of the unsigned transaction except the nonce, which is allocated afterwards. */
export type PreparedTransaction = Omit<UnsignedTransaction, 'nonce'>;

export interface CompletionOptions {
  /** eth_estimateGas × this, rounded up (1 = exact estimate). */
  gasMultiplier: number;
  /**
   * The transaction types the sender's key can sign (its backend's declared capabilities, carried on
   * the Account by key-discovery). Undefined: unknown, every type assumed.
   */
  transactionTypes?: readonly TransactionType[];
}

/**
 * Which node calls a request needs. `supports1559` is what the caller already knows about the chain
 * (cached from an earlier block); when it is unknown and the request does not fix the type, the
 * latest block decides.
 */
export function factsNeeded(req: TransactionRequest, known: { supports1559?: boolean } = {}, transactionTypes?: readonly TransactionType[]): FactsNeeded {
  const type = chooseType(req, known.supports1559, transactionTypes);
  const may2 = type === undefined || type === 2;
  const mayLegacy = type === undefined || type !== 2;
  return {
    latestBlock: type === undefined || (type === 2 && req.maxFeePerGas === undefined) || req.gas === undefined,
    maxPriorityFeePerGas: may2 && req.maxPriorityFeePerGas === undefined,
    gasPrice: mayLegacy && req.gasPrice === undefined,
    estimateGas: req.gas === undefined,
  };
}

/**
 * Turns a validated eth_sendTransaction request and the node's facts into the unsigned transaction
 * (without nonce). Rules (issue 2 scope 7; research/rpc-signers.md §1.5 for what the anchors do):
 * - explicit `type`, `gasPrice`, `gas` are honoured;
 * - `gasPrice` given → legacy (type 1 when an access list is given too);
 * - a 1559 fee field given → type 2;
 * - otherwise type 2 where the latest block has a base fee, else legacy (EIP-155: chainId is
 *   always set, pre-155 signing is never produced);
 * - type 2 fees: priority = given ?? node suggestion (capped at a given maxFeePerGas),
 *   maxFeePerGas = given ?? 2 × baseFee + priority (ethers' rule: survives six full blocks);
 * - a chainId given by the caller must equal the node's;
 * - the sender's key can sign only some types (Vault ethsign: legacy only, issue 4 scope 3): with
 *   no type fixed it gets legacy EIP-155 (type 1 with an access list), and a type it cannot sign —
 *   asked, or implied by fee fields — is refused with -32602 (before any nonce is allocated).
 */
export function completeTransaction(req: TransactionRequest, facts: NodeFacts, options: CompletionOptions): PreparedTransaction {
  if (req.chainId !== undefined && req.chainId !== facts.chainId) {
    throw new InvalidParamsError(`chainId ${toQuantity(req.chainId)} does not match the node's chain id ${toQuantity(facts.chainId)}`);
  }
  const type = chooseType(req, facts.baseFeePerGas === undefined ? undefined : facts.baseFeePerGas !== null, options.transactionTypes);
  if (type === undefined) throw new Error('completeTransaction: the latest block is needed to choose the transaction type');

  const base = {
    type,
    chainId: facts.chainId,
    to: req.to,
    value: toQuantity(req.value),
    data: req.data,
    gasLimit: toQuantity(gasLimit(req, facts, options)),
  };
  if (type === 2) {
    const { maxFeePerGas, maxPriorityFeePerGas } = eip1559Fees(req, facts);
    return { ...base, maxFeePerGas: toQuantity(maxFeePerGas), maxPriorityFeePerGas: toQuantity(maxPriorityFeePerGas), ...(req.accessList ? { accessList: req.accessList } : {}) };
  }
  const gasPrice = req.gasPrice ?? facts.gasPrice;
  if (gasPrice === undefined) throw new Error('completeTransaction: eth_gasPrice is needed for a legacy transaction');
  return type === 1 ? { ...base, gasPrice: toQuantity(gasPrice), accessList: req.accessList ?? [] } : { ...base, gasPrice: toQuantity(gasPrice) };
}

export function withNonce(prepared: PreparedTransaction, nonce: number): UnsignedTransaction {
  return { ...prepared, nonce };
}

/** The eth_estimateGas argument: the caller's own fields only (fees we computed are not passed). */
export function estimateGasRequest(req: TransactionRequest): Record<string, unknown> {
  const call: Record<string, unknown> = { from: req.from, value: toQuantity(req.value), data: req.data };
  if (req.to !== null) call['to'] = req.to;
  if (req.gasPrice !== undefined) call['gasPrice'] = toQuantity(req.gasPrice);
  if (req.maxFeePerGas !== undefined) call['maxFeePerGas'] = toQuantity(req.maxFeePerGas);
  if (req.maxPriorityFeePerGas !== undefined) call['maxPriorityFeePerGas'] = toQuantity(req.maxPriorityFeePerGas);
  if (req.accessList !== undefined) call['accessList'] = req.accessList;
  return call;
}

/** Multiplies an estimate, rounding up, capped at the block gas limit (never below the estimate). */
export function applyGasMultiplier(estimate: bigint, multiplier: number, blockGasLimit?: bigint): bigint {
  const perMille = BigInt(Math.round(multiplier * 1000));
  let gas = (estimate * perMille + 999n) / 1000n;
  if (blockGasLimit !== undefined && gas > blockGasLimit) gas = blockGasLimit > estimate ? blockGasLimit : estimate;
  return gas;
}

/** The type the request itself fixes (explicitly or through its fee fields), after checking conflicts. */
function requestedType(req: TransactionRequest): TransactionType | undefined {
  const has1559 = req.maxFeePerGas !== undefined || req.maxPriorityFeePerGas !== undefined;
  if (req.gasPrice !== undefined && has1559) throw new InvalidParamsError('both gasPrice and (maxFeePerGas or maxPriorityFeePerGas) specified');
  if (req.type !== undefined) {
    if (req.type !== 2 && has1559) throw new InvalidParamsError(`maxFeePerGas and maxPriorityFeePerGas need a type 0x2 transaction, not 0x${req.type}`);
    if (req.type === 2 && req.gasPrice !== undefined) throw new InvalidParamsError('gasPrice is not valid for a type 0x2 transaction (use maxFeePerGas)');
    if (req.type === 0 && req.accessList !== undefined && req.accessList.length > 0) {
      throw new InvalidParamsError('an accessList needs a type 0x1 or 0x2 transaction');
    }
    return req.type;
  }
  if (req.gasPrice !== undefined) return req.accessList !== undefined ? 1 : 0;
  if (has1559) return 2;
  return undefined;
}

/**
 * The type to build: the request's own, else the default for the chain (undefined while the chain is
 * unknown), else legacy when the key cannot sign type 2 whatever the chain. Refuses a type the key
 * cannot sign.
 */
export function chooseType(req: TransactionRequest, supports1559: boolean | undefined, transactionTypes?: readonly TransactionType[]): TransactionType | undefined {
  const legacyOnly = transactionTypes !== undefined && !transactionTypes.includes(2);
  const type = requestedType(req) ?? (legacyOnly ? defaultType(req, false) : supports1559 === undefined ? undefined : defaultType(req, supports1559));
  if (type !== undefined && transactionTypes !== undefined && !transactionTypes.includes(type)) {
    const can = transactionTypes.length ? transactionTypes.map((t) => `0x${t}`).join(', ') : 'none';
    const why = req.type !== undefined ? 'was asked' : type === 2 ? 'follows from maxFeePerGas / maxPriorityFeePerGas' : type === 1 ? 'follows from the accessList' : 'follows from the request';
    throw new InvalidParamsError(
      `transaction type 0x${type} ${why}, but the key of ${req.from} can only sign types ${can}` + (type === 2 ? ' (legacy: omit the type and fee fields, or give gasPrice)' : ''),
    );
  }
  return type;
}

function defaultType(req: TransactionRequest, supports1559: boolean): TransactionType {
  if (supports1559) return 2;
  return req.accessList !== undefined ? 1 : 0;
}

function gasLimit(req: TransactionRequest, facts: NodeFacts, options: CompletionOptions): bigint {
  if (req.gas !== undefined) return req.gas;
  if (facts.gasEstimate === undefined) throw new Error('completeTransaction: eth_estimateGas is needed when gas is absent');
  return applyGasMultiplier(facts.gasEstimate, options.gasMultiplier, facts.blockGasLimit);
}

function eip1559Fees(req: TransactionRequest, facts: NodeFacts): { maxFeePerGas: bigint; maxPriorityFeePerGas: bigint } {
  let priority = req.maxPriorityFeePerGas;
  if (priority === undefined) {
    if (facts.maxPriorityFeePerGas === undefined) throw new Error('completeTransaction: eth_maxPriorityFeePerGas is needed');
    priority = req.maxFeePerGas !== undefined && facts.maxPriorityFeePerGas > req.maxFeePerGas ? req.maxFeePerGas : facts.maxPriorityFeePerGas;
  }
  let maxFee = req.maxFeePerGas;
  if (maxFee === undefined) {
    if (facts.baseFeePerGas === null) {
      throw new InvalidParamsError("the node's latest block has no baseFeePerGas, so this chain does not accept EIP-1559 transactions; send type 0x0 or give gasPrice");
    }
    if (facts.baseFeePerGas === undefined) throw new Error('completeTransaction: the latest block is needed for maxFeePerGas');
    maxFee = 2n * facts.baseFeePerGas + priority;
  }
  if (priority > maxFee) throw new InvalidParamsError('maxPriorityFeePerGas is higher than maxFeePerGas');
  return { maxFeePerGas: maxFee, maxPriorityFeePerGas: priority };
}
