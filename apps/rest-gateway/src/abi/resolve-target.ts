import { ConstructorFragment, EventFragment, FunctionFragment } from 'ethers';
import { RestError, RestErrorCode } from '../errors';
import { parseAbi } from './parse-abi';

export type AbiTarget =
  | { kind: 'function'; fragment: FunctionFragment }
  | { kind: 'event'; fragment: EventFragment }
  | { kind: 'constructor'; fragment: ConstructorFragment };

/** What ethconnect invokes for an ABI without a constructor: no inputs, not payable (research/rest-gateway.md §2.3 item 2). */
const DEFAULT_CONSTRUCTOR = ConstructorFragment.from({ type: 'constructor', inputs: [], stateMutability: 'nonpayable' });

/**
 * Resolves the `{method}` path segment against a JSON ABI (ethconnect FE rest2eth.go:199-443,
 * research/rest-gateway.md §2.3 item 2): a function of exactly that name (case-sensitive; the first
 * declared wins, so overloads after the first are unreachable, as in ethconnect), else an event of
 * that name (a subscription), and no method (undefined or empty segment) is the constructor.
 */
export function resolveTarget(abi: readonly unknown[], methodName: string | undefined): AbiTarget {
  const fragments = parseAbi(abi);
  if (methodName === undefined || methodName === '') {
    const declared = fragments.find((f): f is ConstructorFragment => ConstructorFragment.isFragment(f));
    return { kind: 'constructor', fragment: declared ?? DEFAULT_CONSTRUCTOR };
  }
  const fn = fragments.find((f): f is FunctionFragment => FunctionFragment.isFragment(f) && f.name === methodName);
  if (fn) return { kind: 'function', fragment: fn };
  const event = fragments.find((f): f is EventFragment => EventFragment.isFragment(f) && f.name === methodName);
  if (event) return { kind: 'event', fragment: event };
  throw new RestError(404, RestErrorCode.MethodNotFound, `Method or Event '${methodName}' is not declared in the ABI`);
}
