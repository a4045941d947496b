import { AbiCoder, ErrorFragment, isHexString, type ParamType } from 'ethers';
import { formatValue } from './format-value';

const ERROR_STRING_SELECTOR = '0x08c379a0'; // Error(string)
const PANIC_SELECTOR = '0x4e487b71'; // Panic(uint256)

/** Solidity's panic codes (docs "Panic via assert and Error via require"); 0x11 covers underflow too. */
const PANIC_REASONS: ReadonlyMap<bigint, string> = new Map([
  [0x00n, 'generic compiler panic'],
  [0x01n, 'assertion failed'],
  [0x11n, 'arithmetic overflow'],
  [0x12n, 'division or modulo by zero'],
  [0x21n, 'invalid enum value'],
  [0x22n, 'invalid storage byte array encoding'],
  [0x31n, 'pop() on an empty array'],
  [0x32n, 'array index out of bounds'],
  [0x41n, 'out of memory'],
  [0x51n, 'call to an uninitialised internal function'],
]);

/**
 * A readable reason for revert data, or undefined when there is none to give.
 * Error(string) yields its message, as ethconnect does (FE eth/send.go:91-125, research/rest-gateway.md §3.3).
 * Beyond ethconnect (which answers only "execution reverted" for these): Panic(uint256) yields
 * "Panic: arithmetic overflow (0x11)", and an `error` declared in `abi` yields "Name(arg1, arg2)".
 */
export function decodeRevertReason(data: string, abi?: readonly unknown[]): string | undefined {
  if (!isHexString(data) || data.length < 10) return undefined;
  const selector = data.slice(0, 10).toLowerCase();
  const args = `0x${data.slice(10)}`;
  if (selector === ERROR_STRING_SELECTOR) return decodeOrUndefined(['string'], args, ([message]) => String(message));
  if (selector === PANIC_SELECTOR) {
    return decodeOrUndefined(['uint256'], args, ([code]) => {
      const n = code as bigint;
      return `Panic: ${PANIC_REASONS.get(n) ?? 'unknown panic code'} (0x${n.toString(16).padStart(2, '0')})`;
    });
  }
  const custom = abi && findError(abi, selector);
  if (!custom) return undefined;
  return decodeOrUndefined(custom.inputs, args, (values) => `${custom.name}(${custom.inputs.map((p, i) => renderArg(p, values[i])).join(', ')})`) ?? `${custom.name}(<arguments do not decode>)`;
}

function decodeOrUndefined(types: readonly (string | ParamType)[], data: string, render: (values: readonly unknown[]) => string): string | undefined {
  try {
    const values = AbiCoder.defaultAbiCoder().decode(types, data);
    return render(types.map((_, i) => values[i]));
  } catch {
    return undefined;
  }
}

/** The first `error` fragment of the ABI with this selector; entries ethers cannot read are skipped (this never throws). */
function findError(abi: readonly unknown[], selector: string): ErrorFragment | undefined {
  for (const entry of abi) {
    if (!entry || typeof entry !== 'object' || (entry as { type?: unknown }).type !== 'error') continue;
    try {
      const fragment = ErrorFragment.from(entry);
      if (fragment.selector === selector) return fragment;
    } catch {
      continue;
    }
  }
  return undefined;
}

/** Strings quoted (so "a, b" stays one argument), scalars bare, arrays and tuples as JSON. */
function renderArg(param: ParamType, value: unknown): string {
  const formatted = formatValue(param, value);
  if (param.type === 'string' || typeof formatted === 'object') return JSON.stringify(formatted);
  return String(formatted);
}
