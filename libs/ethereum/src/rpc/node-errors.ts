import { JsonRpcError } from './errors';
import type { JsonRpcErrorObject } from './types';

/**
 * Errors the Ethereum node returned, classified in one place (viem's getNodeError habit,
 * research/style-and-performance.md §1.1). The same condition arrives worded differently by geth,
 * Besu and anvil (research/rpc-signers.md §7), so each class carries one static regex covering
 * all wordings; callers branch on the class, never on message text.
 *
 * A NodeError goes back to the client exactly as the node gave it: code, message and data are the
 * node's, and `httpStatus` is the node's HTTP status (issue 2, scope 7: "node errors returned as
 * the node gave them").
 *
 * Wordings: geth core/txpool/errors.go and core/error.go; anvil crates/anvil/src/eth/error.rs
 * (to_rpc_result); Besu as matched by Web3Signer (research/rpc-signers.md §1.6, §7).
 */
export class NodeError extends JsonRpcError {
  override name = 'NodeError';
  /** Matches the node's message; the base class matches nothing (see UnknownNodeError). */
  static nodeMessage = /$^/;
  /** The node's own error object, sent back verbatim. */
  readonly nodeError: JsonRpcErrorObject;

  constructor(nodeError: JsonRpcErrorObject, options: { httpStatus?: number } = {}) {
    super(nodeError.code, nodeError.message, { httpStatus: options.httpStatus ?? 200, data: nodeError.data });
    this.nodeError = nodeError;
  }

  override toJSON(): JsonRpcErrorObject {
    return this.nodeError;
  }
}

/** The account's nonce is already past this one (mined or replaced). geth -32000, Besu -32001, anvil -32003. */
export class NonceTooLowError extends NodeError {
  override name = 'NonceTooLowError';
  static override nodeMessage = /nonce too low/i;
}

/** A gap: the nonce is ahead of what the node accepts (Besu "Nonce too high", "too distant"). */
export class NonceTooHighError extends NodeError {
  override name = 'NonceTooHighError';
  static override nodeMessage = /nonce too high|nonce is too distant|nonce too far/i;
}

/**
 * The node already holds this exact transaction (same hash): geth "already known", anvil
 * "transaction already imported", Besu "Known transaction". For a transaction we just signed this
 * means it was submitted — a success, not a failure.
 */
export class TransactionAlreadyKnownError extends NodeError {
  override name = 'TransactionAlreadyKnownError';
  static override nodeMessage = /already known|already imported|known transaction/i;
}

/** Same nonce already pending with a higher price. */
export class ReplacementUnderpricedError extends NodeError {
  override name = 'ReplacementUnderpricedError';
  static override nodeMessage = /replacement transaction underpriced|insufficient gas price to replace/i;
}

/** Below the pool's minimum price (geth "transaction underpriced", Besu -32009). */
export class TransactionUnderpricedError extends NodeError {
  override name = 'TransactionUnderpricedError';
  static override nodeMessage = /transaction underpriced|gas price below configured minimum|gas price too low/i;
}

/** Balance below value + gas × price (geth, anvil "insufficient funds…", Besu -32004 "Upfront cost exceeds account balance"). */
export class InsufficientFundsError extends NodeError {
  override name = 'InsufficientFundsError';
  static override nodeMessage = /insufficient funds|upfront cost exceeds account balance/i;
}

/** The gas limit is below the transaction's intrinsic cost. */
export class IntrinsicGasTooLowError extends NodeError {
  override name = 'IntrinsicGasTooLowError';
  static override nodeMessage = /intrinsic gas too low|intrinsic gas exceeds gas limit|insufficient gas for floor data gas cost/i;
}

/** The gas limit is above the block gas limit (geth "exceeds block gas limit", anvil "intrinsic gas too high", Besu -32005). */
export class GasLimitExceededError extends NodeError {
  override name = 'GasLimitExceededError';
  static override nodeMessage = /exceeds block gas limit|gas limit reached|intrinsic gas too high|greater than the block gas limit/i;
}

/** maxFeePerGas (or a legacy gasPrice) below the block's base fee. */
export class FeeCapTooLowError extends NodeError {
  override name = 'FeeCapTooLowError';
  static override nodeMessage = /max fee per gas less than block base fee|fee cap less than block base fee|less than the current base ?fee|fee cap too low/i;
}

/** maxPriorityFeePerGas above maxFeePerGas. */
export class TipAboveFeeCapError extends NodeError {
  override name = 'TipAboveFeeCapError';
  static override nodeMessage =
    /max priority fee per gas higher than max fee per gas|tip higher than fee cap|max priority fee per gas cannot be greater than max fee per gas|`max_priority_fee_per_gas` greater than `max_fee_per_gas`/i;
}

/** The node's own cap on one transaction's total fee (geth --rpc.txfeecap, Besu "Transaction fee cap exceeded"). */
export class FeeCapExceededError extends NodeError {
  override name = 'FeeCapExceededError';
  static override nodeMessage = /exceeds the configured cap|fee cap exceeded/i;
}

/** The EVM reverted (estimate or call). geth and anvil use code 3 with the revert data in `data`. */
export class ExecutionRevertedError extends NodeError {
  override name = 'ExecutionRevertedError';
  static override nodeMessage = /execution reverted|reverted/i;
  static readonly nodeCode = 3;
}

/** Signed for another chain (anvil "invalid chain id for signer", "Incompatible EIP-155…", Besu "Wrong chainId"). */
export class ChainIdMismatchError extends NodeError {
  override name = 'ChainIdMismatchError';
  static override nodeMessage = /invalid chain id|wrong chain ?id|chain ?id not supported|incompatible eip-155|signed for another chain|chain id mismatch/i;
}

/** The chain (hardfork) does not accept this transaction type. */
export class TransactionTypeNotSupportedError extends NodeError {
  override name = 'TransactionTypeNotSupportedError';
  static override nodeMessage = /transaction type not supported|unknown transaction type|not supported by the current hardfork|not supported before the \w+ hardfork|eip-?1559 not supported/i;
}

/** Anything else the node said. Still returned to the client verbatim. */
export class UnknownNodeError extends NodeError {
  override name = 'UnknownNodeError';
}

type NodeErrorClass = (typeof NODE_ERROR_CLASSES)[number];

/**
 * Most specific first: "replacement transaction underpriced" must win over "transaction
 * underpriced", and "intrinsic gas too high" (a block-limit error in anvil) over intrinsic gas.
 */
const NODE_ERROR_CLASSES = [
  TransactionAlreadyKnownError,
  ReplacementUnderpricedError,
  NonceTooLowError,
  NonceTooHighError,
  TransactionUnderpricedError,
  InsufficientFundsError,
  GasLimitExceededError,
  IntrinsicGasTooLowError,
  TipAboveFeeCapError,
  FeeCapTooLowError,
  FeeCapExceededError,
  ChainIdMismatchError,
  TransactionTypeNotSupportedError,
  ExecutionRevertedError,
] as const;

/** Maps a JSON-RPC error object from the node to its typed class (UnknownNodeError when none matches). */
export function getNodeError(nodeError: JsonRpcErrorObject, options: { httpStatus?: number } = {}): NodeError {
  if (nodeError.code === ExecutionRevertedError.nodeCode) return new ExecutionRevertedError(nodeError, options);
  const Match: NodeErrorClass | undefined = NODE_ERROR_CLASSES.find((c) => c.nodeMessage.test(nodeError.message));
  return Match ? new Match(nodeError, options) : new UnknownNodeError(nodeError, options);
}
