import type { ConstructorFragment, FunctionFragment } from 'ethers';
import { RestError, RestErrorCode } from '../errors';
import { convertInput, type EncodableValue } from './convert-input';
import { hasOwn } from './error-text';
import { inputName, methodLabel } from './names';

export type QueryParams = Readonly<Record<string, string | readonly string[] | undefined>>;

/**
 * Gathers the arguments of a function or constructor call: each input from the body key of its name,
 * else the first query parameter of that name, else 400 FFEC100098. Unnamed inputs are `input`,
 * `input1`, … (ethconnect FE rest2eth.go:420-441, research/rest-gateway.md §2.3 item 5). Body keys that
 * name no input are ignored, as ethconnect ignores them. Each value is converted per §3.1 (convertInput).
 */
export function collectArgs(fragment: FunctionFragment | ConstructorFragment, body: Readonly<Record<string, unknown>>, query: QueryParams): EncodableValue[] {
  const method = methodLabel(fragment);
  return fragment.inputs.map((param, index) => {
    const name = inputName(param, index);
    // Own keys only: a parameter named `constructor` or `toString` must not find Object.prototype's.
    if (hasOwn(body, name)) return convertInput(param, body[name], { method, path: name, fromQuery: false });
    const raw = hasOwn(query, name) ? query[name] : undefined;
    const first = Array.isArray(raw) ? raw[0] : raw;
    if (first !== undefined) return convertInput(param, first, { method, path: name, fromQuery: true });
    throw new RestError(400, RestErrorCode.MissingParameter, `Parameter '${name}' of method '${method}' was not specified in body or query parameters`);
  });
}
