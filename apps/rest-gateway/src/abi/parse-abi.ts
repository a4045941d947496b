import { Fragment } from 'ethers';
import { RestError, RestErrorCode } from '../errors';
import { shortMessage } from './error-text';

function invalid(message: string): RestError {
  return new RestError(400, RestErrorCode.InvalidAbiUpload, message);
}

/**
 * Validates a JSON ABI and returns its fragments in declaration order (order matters: the first
 * function of a name wins, research/rest-gateway.md §2.3 item 2).
 *
 * Every entry goes through ethers' `Fragment.from` one by one because `new Interface(...)` only logs
 * and skips an entry it cannot parse, which would turn a bad upload into a silently missing method.
 * An entry without `type` is a function, as the Solidity ABI spec and go-ethereum (ethconnect) read it.
 */
export function parseAbi(abi: unknown): readonly Fragment[] {
  if (!Array.isArray(abi)) {
    throw invalid(`The ABI must be a JSON array of fragments (functions, events, errors, constructor); got ${abi === null ? 'null' : typeof abi}`);
  }
  return abi.map((entry: unknown, index) => {
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
      throw invalid(`ABI entry ${index} must be a JSON object describing a function, event, error or constructor; got ${entry === null ? 'null' : Array.isArray(entry) ? 'an array' : typeof entry}`);
    }
    const json = entry as Record<string, unknown>;
    const typed = json['type'] === undefined || json['type'] === '' ? { ...json, type: 'function' } : json;
    try {
      return Fragment.from(typed);
    } catch (err) {
      const label = typeof json['name'] === 'string' && json['name'] ? `${String(typed['type'])} '${json['name']}'` : String(typed['type']);
      throw invalid(`ABI entry ${index} (${label}) is not a valid ABI fragment: ${shortMessage(err)}`);
    }
  });
}
