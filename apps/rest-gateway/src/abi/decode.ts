import { AbiCoder, isHexString, type FunctionFragment, type ParamType } from 'ethers';
import { RestError, RestErrorCode } from '../errors';
import { shortMessage } from './error-text';
import { formatValue, type DecodedValues, type DecodeFailure } from './format-value';
import { inputName, outputName } from './names';
import { functionSignature } from './signature';

type Namer = (param: ParamType, index: number) => string;

/** ethconnect's failure object (FE txn.go addErrorToRetval, research/rest-gateway.md §3.2). */
export function decodeFailure(data: string, error: string): DecodeFailure {
  return isHexString(data) ? { rlp: data.slice(2).toLowerCase(), raw: data, error } : { raw: data, error };
}

/**
 * Decodes ABI-encoded `data` as `params` into an object keyed by name. Failure is returned, not thrown,
 * as ethconnect embeds it in a 200 answer (FE txn.go ProcessRLPBytes: "Does not throw errors").
 */
export function decodeParams(params: readonly ParamType[], data: string, name: Namer, what: string): DecodedValues | DecodeFailure {
  const types = `(${params.map((p) => p.format('sighash')).join(',')})`;
  if (!isHexString(data)) return decodeFailure(data, `Failed to decode ${what} as ${types}: the data is not 0x-prefixed hex`);
  try {
    const values = AbiCoder.defaultAbiCoder().decode(params, data);
    return Object.fromEntries(params.map((p, i) => [name(p, i), formatValue(p, values[i])]));
  } catch (err) {
    return decodeFailure(data, `Failed to decode ${what} as ${types}: ${shortMessage(err)}`);
  }
}

/**
 * The JSON answer to a call (research/rest-gateway.md §2.3 "Call response", §3.2): outputs keyed by name,
 * unnamed ones `output`, `output1`, … . `null` when the function declares no outputs or the node returned
 * no data: ethconnect answers a literal `null` body then (FE eth/send.go Call returns nil for "0x").
 */
export function formatOutputs(fragment: FunctionFragment, data: string): DecodedValues | DecodeFailure | null {
  if (fragment.outputs.length === 0 || data === '' || data === '0x') return null;
  return decodeParams(fragment.outputs, data, outputName, `the return data of '${fragment.name}'`);
}

/**
 * `inputArgs` of a transaction lookup (research/rest-gateway.md §2.4, FE eth/txn.go DecodeInputs): the
 * transaction input must start with the method's selector, else 500 FFEC100142. Keys are input names
 * (unnamed `input`, `input1`, … as the caller sent them); ethconnect keys unnamed ones `output…` here
 * because it reuses its output decoder, a quirk we do not copy.
 */
export function decodeInputArgs(fragment: FunctionFragment, input: string): DecodedValues | DecodeFailure {
  const selector = isHexString(input) && input.length >= 10 ? input.slice(0, 10).toLowerCase() : undefined;
  if (selector !== fragment.selector) {
    throw new RestError(
      500,
      RestErrorCode.TransactionMethodMismatch,
      `The transaction does not call method '${functionSignature(fragment)}': its input starts with ${selector ?? 'no 4-byte selector'}, the method's selector is ${fragment.selector}`,
    );
  }
  return decodeParams(fragment.inputs, `0x${input.slice(10)}`, inputName, `the input of '${fragment.name}'`);
}
