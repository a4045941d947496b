import {
  ChainIdMismatchError,
  ExecutionRevertedError,
  FeeCapExceededError,
  FeeCapTooLowError,
  GasLimitExceededError,
  getNodeError,
  InsufficientFundsError,
  IntrinsicGasTooLowError,
  NodeError,
  NonceTooHighError,
  NonceTooLowError,
  ReplacementUnderpricedError,
  TipAboveFeeCapError,
  TransactionAlreadyKnownError,
  TransactionTypeNotSupportedError,
  TransactionUnderpricedError,
  UnknownNodeError,
} from './node-errors';

// Each row: a wording a real node sends (geth core/txpool/errors.go + core/error.go, anvil
// crates/anvil/src/eth/error.rs, Besu as in research/rpc-signers.md §7) → the class it must map to.
const cases: Array<[string, number, string, new (...args: never[]) => NodeError]> = [
  ['geth', -32000, 'nonce too low: address 0xf39F…, tx: 0 state: 3', NonceTooLowError],
  ['anvil', -32003, 'nonce too low', NonceTooLowError],
  ['besu', -32001, 'Nonce too low', NonceTooLowError],
  ['anvil', -32003, 'Nonce too high', NonceTooHighError],
  ['geth', -32000, 'nonce too high: address 0x…, tx: 9 state: 3', NonceTooHighError],
  ['besu', -32000, 'Transaction nonce is too distant from current sender nonce', NonceTooHighError],
  ['geth', -32000, 'already known', TransactionAlreadyKnownError],
  ['anvil', -32003, 'transaction already imported', TransactionAlreadyKnownError],
  ['besu', -32000, 'Known transaction', TransactionAlreadyKnownError],
  ['geth', -32000, 'replacement transaction underpriced', ReplacementUnderpricedError],
  ['anvil', -32003, 'replacement transaction underpriced', ReplacementUnderpricedError],
  ['besu', -32000, 'Replacement transaction underpriced', ReplacementUnderpricedError],
  ['geth', -32000, 'transaction underpriced: tip needed 1, tip permitted 0', TransactionUnderpricedError],
  ['besu', -32009, 'Gas price below configured minimum gas price', TransactionUnderpricedError],
  ['geth', -32000, 'insufficient funds for gas * price + value: address 0x… have 0 want 21000', InsufficientFundsError],
  ['anvil', -32003, 'Insufficient funds for gas * price + value', InsufficientFundsError],
  ['anvil', -32003, 'insufficient funds for transfer', InsufficientFundsError],
  ['besu', -32004, 'Upfront cost exceeds account balance', InsufficientFundsError],
  ['geth', -32000, 'intrinsic gas too low: have 20000, want 21000', IntrinsicGasTooLowError],
  ['anvil', -32000, 'intrinsic gas too low', IntrinsicGasTooLowError],
  ['besu', -32003, 'Intrinsic gas exceeds gas limit', IntrinsicGasTooLowError],
  ['geth', -32000, 'exceeds block gas limit', GasLimitExceededError],
  ['anvil', -32000, 'intrinsic gas too high -- CallerGasLimitMoreThanBlock', GasLimitExceededError],
  ['besu', -32005, 'Transaction gas limit exceeds block gas limit', GasLimitExceededError],
  ['geth', -32000, 'max fee per gas less than block base fee: address 0x…, maxFeePerGas: 1, baseFee: 7', FeeCapTooLowError],
  ['anvil', -32003, 'max fee per gas less than block base fee', FeeCapTooLowError],
  ['geth', -32000, 'max priority fee per gas higher than max fee per gas', TipAboveFeeCapError],
  ['anvil', -32602, 'Invalid input: `max_priority_fee_per_gas` greater than `max_fee_per_gas`', TipAboveFeeCapError],
  ['besu', -32000, 'max priority fee per gas cannot be greater than max fee per gas', TipAboveFeeCapError],
  ['geth', -32000, 'tx fee (1.50 ether) exceeds the configured cap (1.00 ether)', FeeCapExceededError],
  ['besu', -32000, 'Transaction fee cap exceeded', FeeCapExceededError],
  ['anvil', -32003, 'invalid chain id for signer', ChainIdMismatchError],
  ['anvil', -32003, 'Incompatible EIP-155 transaction, signed for another chain', ChainIdMismatchError],
  ['besu', -32000, 'Wrong chainId', ChainIdMismatchError],
  ['geth', -32000, 'transaction type not supported', TransactionTypeNotSupportedError],
  ['anvil', -32602, 'EIP-1559 style fee params (maxFeePerGas or maxPriorityFeePerGas) received but they are not supported by the current hardfork.', TransactionTypeNotSupportedError],
  ['besu', -32000, 'Execution reverted', ExecutionRevertedError],
];

describe('getNodeError', () => {
  it.each(cases)('%s %d "%s" → %p', (_node, code, message, Expected) => {
    const error = getNodeError({ code, message });
    expect(error).toBeInstanceOf(Expected);
    expect(error.name).toBe(Expected.name);
  });

  it('classifies code 3 as a revert whatever the message, and keeps the revert data verbatim', () => {
    const nodeError = { code: 3, message: 'execution reverted: Ownable: caller is not the owner', data: '0x08c379a0' + '00'.repeat(4) };
    const error = getNodeError(nodeError, { httpStatus: 200 });
    expect(error).toBeInstanceOf(ExecutionRevertedError);
    expect(error.toJSON()).toEqual(nodeError);
    expect(getNodeError({ code: 3, message: 'custom error' })).toBeInstanceOf(ExecutionRevertedError);
  });

  it('returns unknown wordings as UnknownNodeError with the node code, message and HTTP status intact', () => {
    const error = getNodeError({ code: -32601, message: 'Method not found', data: { method: 'foo_bar' } }, { httpStatus: 404 });
    expect(error).toBeInstanceOf(UnknownNodeError);
    expect(error.code).toBe(-32601);
    expect(error.httpStatus).toBe(404);
    expect(error.toJSON()).toEqual({ code: -32601, message: 'Method not found', data: { method: 'foo_bar' } });
  });

  it('does not mistake a replacement for a plain underpriced transaction', () => {
    expect(getNodeError({ code: -32000, message: 'replacement transaction underpriced' })).not.toBeInstanceOf(TransactionUnderpricedError);
  });
});
