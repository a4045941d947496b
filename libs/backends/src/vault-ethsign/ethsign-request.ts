/**
 * Pure mapping between our unsigned transaction and the ethsign plugin's sign request, and the
 * check that what came back is the transaction we asked for (research/backend-apis.md §A.3, §A.4).
 */
import { Transaction } from 'ethers';
import type { UnsignedTransaction } from '@hsm-signer/contracts';

/** Body of POST <mount>/accounts/<address>/sign. Every number is a canonical decimal string (§A.3). */
export interface EthsignSignRequest {
  to: string;
  data: string;
  value: string;
  nonce: string;
  gas: string;
  gasPrice: string;
  chainId: string;
}

export class EthsignUnsupportedError extends Error {
  override readonly name = 'EthsignUnsupportedError';
}

export class EthsignMismatchError extends Error {
  override readonly name = 'EthsignMismatchError';
}

/**
 * The plugin builds a legacy transaction only and silently ignores EIP-1559 / EIP-2930 fields
 * (§A.4): anything but type 0 is refused here rather than signed with gasPrice 0.
 */
export function toEthsignRequest(tx: UnsignedTransaction): EthsignSignRequest {
  if (tx.type !== 0) {
    throw new EthsignUnsupportedError(`the Vault ethsign plugin signs legacy (type 0) transactions only; a type ${tx.type} transaction was requested (send it without a type, or with type 0 and gasPrice)`);
  }
  if (tx.accessList && tx.accessList.length) throw new EthsignUnsupportedError('the Vault ethsign plugin cannot sign an access list (legacy transactions only)');
  if (tx.gasPrice === undefined) throw new EthsignUnsupportedError('a legacy transaction needs gasPrice');
  return {
    // `to` is not validated by the plugin (common.HexToAddress): our contracts validated it already.
    to: tx.to ? tx.to.toLowerCase() : '',
    // hexutil.Decode("") fails: a plain transfer must send "0x" (§A.3).
    data: tx.data && tx.data !== '' ? tx.data.toLowerCase() : '0x',
    value: decimal(tx.value),
    nonce: decimal(tx.nonce),
    gas: decimal(tx.gasLimit),
    gasPrice: decimal(tx.gasPrice),
    // Always sent: chainId 0 would mean an unprotected Homestead signature (§A.4).
    chainId: decimal(tx.chainId),
  };
}

function decimal(value: string | number | bigint): string {
  return BigInt(value).toString(10);
}

/** Parses the plugin's signed transaction and checks every field against the request. */
export function checkEthsignResult(raw: unknown, tx: UnsignedTransaction): string {
  if (typeof raw !== 'string' || !/^0x[0-9a-fA-F]+$/.test(raw)) throw new EthsignMismatchError('the plugin returned no signed_transaction');
  let signed: Transaction;
  try {
    signed = Transaction.from(raw);
  } catch (error) {
    throw new EthsignMismatchError(`the plugin returned an unparseable transaction: ${(error as Error).message}`);
  }
  const mismatches: string[] = [];
  const expect = (field: string, actual: unknown, wanted: unknown): void => {
    if (String(actual) !== String(wanted)) mismatches.push(`${field} ${String(actual)} ≠ ${String(wanted)}`);
  };
  expect('type', signed.type, 0);
  expect('chainId', signed.chainId, BigInt(tx.chainId));
  expect('nonce', signed.nonce, tx.nonce);
  expect('gasPrice', signed.gasPrice, BigInt(tx.gasPrice ?? 0));
  expect('gasLimit', signed.gasLimit, BigInt(tx.gasLimit));
  expect('to', signed.to?.toLowerCase() ?? null, tx.to?.toLowerCase() ?? null);
  expect('value', signed.value, BigInt(tx.value));
  expect('data', signed.data.toLowerCase(), (tx.data || '0x').toLowerCase());
  if (mismatches.length) throw new EthsignMismatchError(`the plugin signed a different transaction: ${mismatches.join(', ')}`);
  return raw;
}

/** "1 error occurred:\n\t* Account does not exist\n\n" → "Account does not exist" (§A.5). */
export function unwrapVaultError(message: string): string {
  const items = [...message.matchAll(/^\s*\*\s*(.+)$/gm)].map((m) => m[1].trim());
  return items.length ? items.join('; ') : message.trim();
}
