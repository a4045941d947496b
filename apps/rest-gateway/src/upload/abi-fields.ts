import { Fragment } from 'ethers';
import { invalidUpload } from './upload-errors';

const SEND_ABI = `send the contract's ABI as the form field 'abi' (JSON) with 'bytecode', or upload .sol sources`;

/**
 * The ABI from the `abi` form field (a JSON string) or a JSON body member (an array, or a JSON string as
 * remote registries keep it). Every entry must parse as an ABI fragment: ethers' Interface would only
 * log and skip a bad entry, and the method would then be missing from the generated API without a word.
 * The entries are returned as sent, not re-serialised.
 */
export function parseAbi(value: unknown, where = `the 'abi' field`): unknown[] {
  let abi = value;
  if (typeof value === 'string') {
    try {
      abi = JSON.parse(value);
    } catch (error) {
      throw invalidUpload(`${capitalise(where)} is not valid JSON (${(error as Error).message}): ${SEND_ABI}`, error);
    }
  }
  if (!Array.isArray(abi)) {
    if (isRecord(abi) && Array.isArray(abi['abi'])) {
      throw invalidUpload(`${capitalise(where)} holds a JSON object with an 'abi' member, not the ABI array: send only its 'abi' array (or POST the whole artifact as application/json)`);
    }
    throw invalidUpload(`${capitalise(where)} is not a JSON array of ABI entries: ${SEND_ABI}`);
  }
  abi.forEach((entry, index) => {
    try {
      // Fragment.from also takes human-readable strings; the stored ABI must be JSON objects
      if (!isRecord(entry)) throw new Error('an ABI entry is a JSON object');
      Fragment.from(entry);
    } catch (error) {
      const shown = JSON.stringify(entry) ?? String(entry);
      throw invalidUpload(
        `Entry ${index} of ${where} is not a valid ABI entry (${shortReason(error)}): ${shown.length > 200 ? `${shown.slice(0, 200)}…` : shown}: send the ABI exactly as the compiler wrote it`,
        error,
      );
    }
  });
  return abi;
}

/**
 * Creation bytecode as `0x` + lowercase hex, or '' for none. One `0x` prefix is optional. (ethconnect
 * strips with TrimLeft(v, "0x"), which also eats the leading zeros of the code itself; we strip the
 * prefix only.) Unlinked library placeholders (`__$…$__`) get their own message: the code cannot be
 * deployed until the libraries' addresses are filled in.
 */
export function parseBytecode(value: unknown, where = `the 'bytecode' field`): string {
  if (typeof value !== 'string') {
    throw invalidUpload(`${capitalise(where)} is not a string: send the creation bytecode as a hex string (solc's evm.bytecode.object, 0x optional)`);
  }
  const hex = value.trim().replace(/^0x/i, '');
  if (hex.includes('__')) {
    throw invalidUpload(
      `${capitalise(where)} has unlinked library placeholders (__$…$__): deploy the libraries first and send the linked bytecode (solc 'libraries' setting, or your framework's linking)`,
    );
  }
  const bad = hex.search(/[^0-9a-fA-F]/);
  if (bad >= 0) {
    throw invalidUpload(`${capitalise(where)} is not hex (character '${hex[bad]}' at ${bad}): send the creation bytecode as a hex string (solc's evm.bytecode.object, 0x optional)`);
  }
  if (hex.length % 2 !== 0) {
    throw invalidUpload(`${capitalise(where)} has an odd number of hex digits (${hex.length}): send the complete creation bytecode`);
  }
  return hex === '' ? '' : `0x${hex.toLowerCase()}`;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function shortReason(error: unknown): string {
  const message = error instanceof Error ? ((error as { shortMessage?: string }).shortMessage ?? error.message) : String(error);
  return message.split(' (')[0];
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
