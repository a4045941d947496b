import { AbiCoder, concat, type ConstructorFragment, type FunctionFragment } from 'ethers';
import { RestError, RestErrorCode } from '../errors';
import { methodLabel } from './names';
import { shortMessage } from './error-text';
import { functionSignature } from './signature';

function encodeArgs(fragment: FunctionFragment | ConstructorFragment, args: readonly unknown[]): string {
  try {
    return AbiCoder.defaultAbiCoder().encode(fragment.inputs, args);
  } catch (err) {
    // collectArgs output always encodes; this catches values built some other way.
    throw new RestError(400, RestErrorCode.InvalidParameter, `The parameters of method '${methodLabel(fragment)}' (${functionSignature(fragment)}) cannot be ABI-encoded: ${shortMessage(err)}`, { cause: err });
  }
}

/** Call data for a function: its 4-byte selector followed by the ABI-encoded arguments. */
export function encodeFunctionData(fragment: FunctionFragment, args: readonly unknown[]): string {
  return concat([fragment.selector, encodeArgs(fragment, args)]);
}

/**
 * Deploy data: the contract bytecode with the ABI-encoded constructor arguments appended
 * (ethconnect FE eth/txn.go NewContractDeployTxn, research/rest-gateway.md §2.3 "Deploy").
 * The bytecode may lack `0x` (solc's `evm.bytecode.object` has none).
 */
export function encodeDeployData(constructor: ConstructorFragment, bytecode: string, args: readonly unknown[]): string {
  const digits = bytecode.replace(/^0[xX]/, '');
  if (digits.includes('__')) {
    throw new RestError(400, RestErrorCode.InvalidAbiUpload, 'The contract bytecode has unlinked library placeholders (__$…$__): link the libraries before uploading it');
  }
  if (digits.length === 0 || digits.length % 2 !== 0 || !/^[0-9a-fA-F]+$/.test(digits)) {
    throw new RestError(400, RestErrorCode.InvalidAbiUpload, 'The contract bytecode is not valid hex: expected an even number of hex digits, 0x optional');
  }
  return concat([`0x${digits.toLowerCase()}`, encodeArgs(constructor, args)]);
}
