import { ConstructorFragment, type ErrorFragment, type EventFragment, type FunctionFragment } from 'ethers';

/**
 * The canonical signature, e.g. "transfer(address,uint256)", used as swagger summaries
 * (research/rest-gateway.md §2.5: "Method summary = signature"). A constructor has no name in the
 * ABI; it is shown as "constructor(uint256)".
 */
export function functionSignature(fragment: FunctionFragment | EventFragment | ErrorFragment | ConstructorFragment): string {
  if (ConstructorFragment.isFragment(fragment)) {
    return `constructor(${fragment.inputs.map((p) => p.format('sighash')).join(',')})`;
  }
  return fragment.format('sighash');
}
