import { keccak256, toQuantity, Transaction } from 'ethers';

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

/** Decodes a signed raw transaction (no sender recovery: that costs ~1.5 ms in JS and the signer already checked it). */
export function decodeRawTransaction(raw: string): DecodedRaw {
  let tx: Transaction;
  try {
    tx = Transaction.from(raw);
  } catch (error) {
    throw new RawTransactionError(`raw is not a signed Ethereum transaction: ${(error as Error).message}`, { cause: error });
  }
  const q = (v: bigint | null) => (v === null ? undefined : toQuantity(v));
  const fields: Record<string, unknown> = {
    to: tx.to ? tx.to.toLowerCase() : null,
    value: toQuantity(tx.value),
    data: tx.data,
    gasLimit: toQuantity(tx.gasLimit),
  };
  if (tx.type === 2) {
    fields.maxFeePerGas = q(tx.maxFeePerGas);
    fields.maxPriorityFeePerGas = q(tx.maxPriorityFeePerGas);
  } else {
    fields.gasPrice = q(tx.gasPrice);
  }
  if (tx.type !== 0 && tx.accessList && tx.accessList.length > 0) fields.accessList = tx.accessList;
  return { hash: keccak256(raw), type: tx.type ?? 0, chainId: Number(tx.chainId), nonce: tx.nonce, fields };
}
