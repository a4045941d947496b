import { FunctionFragment, type ConstructorFragment, type ParamType } from 'ethers';

/**
 * The key under which an ABI input is read from the body/query and echoed back in `inputArgs`.
 * Unnamed inputs are `input`, `input1`, `input2`, … by their *position* in the input list (not by a
 * count of the unnamed ones): `f(uint256 a, uint256)` reads its second input from `input1`.
 * ethconnect FE rest2eth.go:420-441 (`if i != 0 { argName += strconv.Itoa(i) }`), research/rest-gateway.md §2.3 item 5, §2.5.
 */
export function inputName(param: ParamType, index: number): string {
  return param.name || (index === 0 ? 'input' : `input${index}`);
}

/**
 * The key of a decoded output: unnamed outputs are `output`, `output1`, … by position, matching the
 * generated swagger. ethconnect FE txn.go genOutput, research/rest-gateway.md §3.2, §2.5.
 */
export function outputName(param: ParamType, index: number): string {
  return param.name || (index === 0 ? 'output' : `output${index}`);
}

/**
 * The key of a tuple component. ethconnect (go-ethereum) refuses ABIs with unnamed struct fields, so
 * it has no rule; we key an unnamed component by its position ("0", "1", …) so such ABIs still work.
 */
export function componentName(param: ParamType, index: number): string {
  return param.name || String(index);
}

/** The method name used in messages; a constructor has no name in the ABI. */
export function methodLabel(fragment: FunctionFragment | ConstructorFragment): string {
  return FunctionFragment.isFragment(fragment) ? fragment.name : 'constructor';
}
