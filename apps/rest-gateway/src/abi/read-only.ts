import { FunctionFragment, type Fragment } from 'ethers';

/**
 * Whether a POST is answered with an `eth_call` instead of a transaction: functions marked `view`
 * or `pure` (or `constant: true` in pre-0.5 ABIs, which ethers reads as `view`).
 * ethconnect FE rest2eth.go:445-472 (`abiMethod.IsConstant()`), research/rest-gateway.md §2.3 item 6.
 */
export function isReadOnly(fragment: Fragment): boolean {
  return FunctionFragment.isFragment(fragment) && fragment.constant;
}
