/**
 * Unsigned transaction (the wire shape from @hsm-signer/contracts) ↔ ethers v6 Transaction, the
 * digest a backend signs, and the signed serialisation (research/backend-apis.md §E.5).
 */
import { getBytes, keccak256, Signature, Transaction } from 'ethers';
import type { UnsignedTransaction } from '@hsm-signer/contracts';
import type { EthereumSignature } from './ethereum-signature';
import { InvalidTransactionError, SenderMismatchError } from './errors';
import { isLowS } from './normalize';
import { recoverAddress } from './recover';

/**
 * Builds the ethers Transaction. Type 0 always carries the chain id, so it is signed with EIP-155.
 * Fee fields that do not belong to the type are ignored; the ones the type needs are required.
 */
export function toEthersTransaction(unsigned: UnsignedTransaction): Transaction {
  const tx = new Transaction();
  try {
    tx.type = unsigned.type;
    tx.chainId = BigInt(unsigned.chainId);
    tx.nonce = unsigned.nonce;
    tx.to = unsigned.to;
    tx.value = BigInt(unsigned.value);
    tx.data = unsigned.data;
    tx.gasLimit = BigInt(unsigned.gasLimit);
  } catch (error) {
    throw new InvalidTransactionError(`invalid transaction: ${(error as Error).message}`, { cause: error });
  }
  if (unsigned.type === 2) {
    if (unsigned.maxFeePerGas === undefined || unsigned.maxPriorityFeePerGas === undefined) {
      throw new InvalidTransactionError('a type 2 transaction needs maxFeePerGas and maxPriorityFeePerGas');
    }
    tx.maxFeePerGas = BigInt(unsigned.maxFeePerGas);
    tx.maxPriorityFeePerGas = BigInt(unsigned.maxPriorityFeePerGas);
  } else {
    if (unsigned.gasPrice === undefined) throw new InvalidTransactionError(`a type ${unsigned.type} transaction needs gasPrice`);
    tx.gasPrice = BigInt(unsigned.gasPrice);
  }
  if (unsigned.accessList !== undefined) {
    if (unsigned.type === 0) throw new InvalidTransactionError('a type 0 (legacy) transaction cannot carry an access list');
    tx.accessList = unsigned.accessList;
  } else if (unsigned.type !== 0) {
    tx.accessList = [];
  }
  return tx;
}

/** The 32-byte digest to sign: keccak256 of the unsigned serialisation (EIP-155 / EIP-2718 payload). */
export function unsignedDigest(unsigned: UnsignedTransaction | Transaction): Uint8Array {
  const tx = unsigned instanceof Transaction ? unsigned : toEthersTransaction(unsigned);
  return getBytes(tx.unsignedHash);
}

export interface SignedTransaction {
  /** 0x-prefixed serialised signed transaction, for eth_sendRawTransaction. */
  raw: string;
  /** Transaction hash (keccak256 of raw). */
  hash: string;
}

/**
 * Attaches a low-s signature and serialises. v is derived by ethers from yParity: chainId·2+35+recid
 * for type 0 (EIP-155), yParity for types 1 and 2. An ethers Transaction passed in gets the
 * signature set in place (no copy: this is the signing hot path).
 */
export function buildSignedTransaction(unsigned: UnsignedTransaction | Transaction, signature: EthereumSignature): SignedTransaction {
  if (!isLowS(getBytes(signature.s))) throw new InvalidTransactionError('refusing to serialise a high-s signature (EIP-2)');
  const tx = unsigned instanceof Transaction ? unsigned : toEthersTransaction(unsigned);
  tx.signature = Signature.from({ r: signature.r, s: signature.s, yParity: signature.yParity });
  const raw = tx.serialized;
  // tx.hash would serialise a second time.
  return { raw, hash: keccak256(raw) };
}

/**
 * For backends that sign whole transactions (Vault ethsign): checks with native recovery that a
 * signed transaction's sender is `expected`, and that its signature is low-s. Returns its hash.
 */
export function verifySignedTransactionSender(raw: string, expected: string): SignedTransaction {
  let tx: Transaction;
  try {
    tx = Transaction.from(raw);
  } catch (error) {
    throw new InvalidTransactionError(`cannot parse signed transaction: ${(error as Error).message}`, { cause: error });
  }
  const sig = tx.signature;
  if (!sig) throw new InvalidTransactionError('transaction is not signed');
  const s = getBytes(sig._s);
  if (!isLowS(s)) throw new InvalidTransactionError('signed transaction has a high-s signature (EIP-2)');
  const actual = recoverAddress(getBytes(tx.unsignedHash), { r: getBytes(sig.r), s }, sig.yParity);
  if (actual !== expected.toLowerCase()) throw new SenderMismatchError(expected.toLowerCase(), actual);
  return { raw: tx.serialized, hash: tx.hash as string };
}
