import { InvalidParamsError, NoUnlockedAccountError } from '../rpc/errors';
import { parseQuantity, parseSmallQuantity } from './quantity';

export type TransactionType = 0 | 1 | 2;

export interface AccessListEntry {
  address: string;
  storageKeys: string[];
}

/**
 * An eth_sendTransaction object after validation. Addresses and data are lower-case; absent fields
 * stay undefined so completion can tell "not given" from "given as zero".
 */
export interface TransactionRequest {
  from: string;
  /** null = contract creation. */
  to: string | null;
  gas?: bigint;
  gasPrice?: bigint;
  maxFeePerGas?: bigint;
  maxPriorityFeePerGas?: bigint;
  value: bigint;
  data: string;
  nonce?: number;
  type?: TransactionType;
  chainId?: number;
  accessList?: AccessListEntry[];
}

const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const HEX_BYTES = /^0x([0-9a-fA-F]{2})*$/;
const HASH = /^0x[0-9a-fA-F]{64}$/;

/**
 * Validates the `params` of eth_sendTransaction: `[transaction]`. See {@link parseTransactionRequest}.
 */
export function parseSendTransactionParams(params: unknown): TransactionRequest {
  if (!Array.isArray(params) || params.length < 1) throw new InvalidParamsError('expected [transaction]');
  return parseTransactionRequest(params[0]);
}

/**
 * Validates an eth_sendTransaction object. Missing `from` → -32602; a `from` that is not an address
 * → -32000 "No unlocked account matches the Sender" (Web3Signer's behaviour, research/rpc-signers.md
 * §1.8). `to` of "", "0x" or null means contract creation (§1.5). `gas` and `gasLimit`, `data` and
 * `input` are aliases; giving both with different values is an error (geth does the same).
 */
export function parseTransactionRequest(tx: unknown): TransactionRequest {
  if (typeof tx !== 'object' || tx === null || Array.isArray(tx)) throw new InvalidParamsError('the transaction must be an object');
  const t = tx as Record<string, unknown>;

  if (t['from'] === undefined || t['from'] === null || t['from'] === '') throw new InvalidParamsError("missing 'from'");
  if (typeof t['from'] !== 'string' || !ADDRESS.test(t['from'])) throw new NoUnlockedAccountError(String(t['from']));
  const from = t['from'].toLowerCase();

  const out: TransactionRequest = {
    from,
    to: parseTo(t['to']),
    value: present(t['value']) ? parseQuantity(t['value'], 'value') : 0n,
    data: parseData(t['data'], t['input']),
  };
  const gas = alias(t, 'gas', 'gasLimit');
  if (present(gas)) out.gas = parseQuantity(gas, 'gas');
  if (present(t['gasPrice'])) out.gasPrice = parseQuantity(t['gasPrice'], 'gasPrice');
  if (present(t['maxFeePerGas'])) out.maxFeePerGas = parseQuantity(t['maxFeePerGas'], 'maxFeePerGas');
  if (present(t['maxPriorityFeePerGas'])) out.maxPriorityFeePerGas = parseQuantity(t['maxPriorityFeePerGas'], 'maxPriorityFeePerGas');
  if (present(t['nonce'])) out.nonce = parseSmallQuantity(t['nonce'], 'nonce');
  if (present(t['chainId'])) {
    out.chainId = parseSmallQuantity(t['chainId'], 'chainId');
    if (out.chainId === 0) throw new InvalidParamsError('chainId must not be 0');
  }
  if (present(t['type'])) out.type = parseType(t['type']);
  if (present(t['accessList'])) out.accessList = parseAccessList(t['accessList']);
  if (present(t['blobVersionedHashes']) || present(t['maxFeePerBlobGas']) || present(t['authorizationList'])) {
    throw new InvalidParamsError('blob (type 3) and EIP-7702 (type 4) transactions are not supported');
  }
  return out;
}

function present(v: unknown): boolean {
  return v !== undefined && v !== null;
}

function alias(t: Record<string, unknown>, a: string, b: string): unknown {
  const va = t[a];
  const vb = t[b];
  if (present(va) && present(vb) && parseQuantity(va, a) !== parseQuantity(vb, b)) {
    throw new InvalidParamsError(`both ${a} and ${b} are set and differ`);
  }
  return present(va) ? va : vb;
}

function parseTo(v: unknown): string | null {
  if (v === undefined || v === null || v === '' || v === '0x') return null;
  if (typeof v !== 'string' || !ADDRESS.test(v)) throw new InvalidParamsError(`to must be a 20-byte address, got ${JSON.stringify(v)}`);
  return v.toLowerCase();
}

function parseData(data: unknown, input: unknown): string {
  const d = present(data) ? parseBytes(data, 'data') : undefined;
  const i = present(input) ? parseBytes(input, 'input') : undefined;
  if (d !== undefined && i !== undefined && d !== i) throw new InvalidParamsError('both data and input are set and differ');
  return d ?? i ?? '0x';
}

function parseBytes(v: unknown, field: string): string {
  if (typeof v !== 'string' || !HEX_BYTES.test(v)) throw new InvalidParamsError(`${field} must be 0x-prefixed hex bytes of even length`);
  return v.toLowerCase();
}

function parseType(v: unknown): TransactionType {
  const type = parseSmallQuantity(v, 'type');
  if (type === 0 || type === 1 || type === 2) return type;
  throw new InvalidParamsError(`transaction type 0x${type.toString(16)} is not supported (0x0 legacy, 0x1 EIP-2930, 0x2 EIP-1559)`);
}

function parseAccessList(v: unknown): AccessListEntry[] {
  if (!Array.isArray(v)) throw new InvalidParamsError('accessList must be an array');
  return v.map((entry, i) => {
    const e = entry as Record<string, unknown> | null;
    if (typeof e !== 'object' || e === null || typeof e['address'] !== 'string' || !ADDRESS.test(e['address'])) {
      throw new InvalidParamsError(`accessList[${i}].address must be a 20-byte address`);
    }
    const keys = e['storageKeys'] ?? [];
    if (!Array.isArray(keys) || !keys.every((k) => typeof k === 'string' && HASH.test(k))) {
      throw new InvalidParamsError(`accessList[${i}].storageKeys must be 32-byte hex strings`);
    }
    return { address: e['address'].toLowerCase(), storageKeys: (keys as string[]).map((k) => k.toLowerCase()) };
  });
}
