import { decodeRlp, getBytes, keccak256, type RlpStructuredData } from 'ethers';

export interface DecodedRaw {
  hash: string;
  type: number;
  chainId: number;
  nonce: number;
  /** The fields as JSON-RPC quantities, stored in the ledger's `fields` column. */
  fields: Record<string, unknown>;
}

export class RawTransactionError extends Error {
  override readonly name = 'RawTransactionError';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/**
 * Reads what the ledger stores from a signed raw transaction: RLP only (ethers' decodeRlp), no
 * signature parsing and no sender recovery: signer-service already checked the sender, and this runs
 * on every recorded send (ethers' Transaction.from took ~10× longer).
 * Layouts: EIP-2718 envelopes type 1 (EIP-2930) and 2 (EIP-1559), and legacy with EIP-155 v.
 */
export function decodeRawTransaction(raw: string): DecodedRaw {
  try {
    return decode(raw);
  } catch (error) {
    throw new RawTransactionError(`raw is not a signed Ethereum transaction: ${(error as Error).message}`, { cause: error });
  }
}

function decode(raw: string): DecodedRaw {
  const bytes = getBytes(raw);
  if (bytes.length === 0) throw new RawTransactionError('raw is empty');
  const hash = keccak256(bytes);
  const first = bytes[0];
  if (first >= 0xc0) {
    // Legacy: [nonce, gasPrice, gasLimit, to, value, data, v, r, s]
    const f = list(decodeRlp(bytes), 9);
    const v = big(f[6]);
    // EIP-155: v = chainId * 2 + 35 | 36; pre-EIP-155 (27/28) has no chain id.
    const chainId = v >= 35n ? Number((v - 35n) / 2n) : 0;
    return {
      hash,
      type: 0,
      chainId,
      nonce: Number(big(f[0])),
      fields: { to: to(f[3]), value: qty(f[4]), data: str(f[5]), gasLimit: qty(f[2]), gasPrice: qty(f[1]) },
    };
  }
  const body = decodeRlp(bytes.subarray(1));
  if (first === 2) {
    // [chainId, nonce, maxPriorityFeePerGas, maxFeePerGas, gasLimit, to, value, data, accessList, yParity, r, s]
    const f = list(body, 12);
    return {
      hash,
      type: 2,
      chainId: Number(big(f[0])),
      nonce: Number(big(f[1])),
      fields: withAccessList(
        { to: to(f[5]), value: qty(f[6]), data: str(f[7]), gasLimit: qty(f[4]), maxFeePerGas: qty(f[3]), maxPriorityFeePerGas: qty(f[2]) },
        f[8],
      ),
    };
  }
  if (first === 1) {
    // [chainId, nonce, gasPrice, gasLimit, to, value, data, accessList, yParity, r, s]
    const f = list(body, 11);
    return {
      hash,
      type: 1,
      chainId: Number(big(f[0])),
      nonce: Number(big(f[1])),
      fields: withAccessList({ to: to(f[4]), value: qty(f[5]), data: str(f[6]), gasLimit: qty(f[3]), gasPrice: qty(f[2]) }, f[7]),
    };
  }
  throw new RawTransactionError(`unsupported transaction type 0x${first.toString(16)}`);
}

function list(data: RlpStructuredData, length: number): RlpStructuredData[] {
  if (!Array.isArray(data) || data.length !== length) throw new RawTransactionError(`expected an RLP list of ${length} items`);
  return data;
}
function str(item: RlpStructuredData): string {
  if (typeof item !== 'string') throw new RawTransactionError('expected an RLP string');
  return item;
}
function big(item: RlpStructuredData): bigint {
  const s = str(item);
  return s === '0x' ? 0n : BigInt(s);
}
function qty(item: RlpStructuredData): string {
  return '0x' + big(item).toString(16);
}
function to(item: RlpStructuredData): string | null {
  const s = str(item);
  if (s === '0x') return null;
  if (s.length !== 42) throw new RawTransactionError('expected a 20-byte "to" address');
  return s.toLowerCase();
}
function withAccessList(fields: Record<string, unknown>, item: RlpStructuredData): Record<string, unknown> {
  if (!Array.isArray(item)) throw new RawTransactionError('expected an access list');
  if (item.length > 0) {
    fields.accessList = item.map((entry) => {
      const [address, keys] = list(entry, 2);
      if (!Array.isArray(keys)) throw new RawTransactionError('expected storage keys');
      return { address: str(address).toLowerCase(), storageKeys: keys.map(str) };
    });
  }
  return fields;
}
