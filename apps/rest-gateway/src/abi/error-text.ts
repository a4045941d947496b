import { RestError, RestErrorCode } from '../errors';

/** ethers errors carry a one-line `shortMessage`; its `message` appends a dump of the arguments. */
export function shortMessage(err: unknown): string {
  if (err && typeof err === 'object') {
    const short = (err as { shortMessage?: unknown }).shortMessage;
    if (typeof short === 'string' && short) return short;
  }
  return err instanceof Error ? err.message : String(err);
}

/** A 400 about one parameter, worded "Parameter '<path>' of method '<method>' …" like ethconnect's messages. */
export function parameterError(code: RestErrorCode, method: string, path: string, problem: string): RestError {
  return new RestError(400, code, `Parameter '${path}' of method '${method}' ${problem}`);
}

/** A short, quoted rendering of a rejected value for an error message (long values are cut). */
export function describeValue(value: unknown): string {
  let text: string;
  if (typeof value === 'bigint') text = value.toString();
  else {
    try {
      text = JSON.stringify(value) ?? String(value);
    } catch {
      text = String(value);
    }
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** The JSON kind of a value, for "got <kind>" in messages. */
export function jsonKind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

export function hasOwn(record: object, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(record, key);
}
