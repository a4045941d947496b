/**
 * The digest-signing hot path with ONE ethers serialisation per transaction (signer-service, per
 * signature): ethers builds and RLP-encodes the unsigned transaction once; the signed transaction is
 * that same RLP list with the signature fields in place of (legacy) or after (typed) the unsigned
 * tail, re-encoded with ethers' RLP (research/backend-apis.md §E.5):
 *
 *   type 0, EIP-155:  rlp([nonce, gasPrice, gasLimit, to, value, data, chainId, 0, 0])
 *                  →  rlp([nonce, gasPrice, gasLimit, to, value, data, chainId·2+35+yParity, r, s])
 *   type 0, no chain id: rlp([… data]) → rlp([… data, 27+yParity, r, s])
 *   type 1 / 2:       0x01|0x02 ‖ rlp([fields…]) → 0x01|0x02 ‖ rlp([fields…, yParity, r, s])
 *
 * The fields are never formatted twice and r/s never go through hex. buildSignedTransaction (ethers'
 * own signed serialisation) stays the reference; the specs check both against ethers Wallet.
 */
import { decodeRlp, encodeRlp, getBytes, hexlify, keccak256, toBeArray, Transaction, type RlpStructuredDataish } from 'ethers';
import type { UnsignedTransaction } from '@hsm-signer/contracts';
import { isScalarInRange } from './curve';
import { legacyV, type LowSSignature } from './ethereum-signature';
import { InvalidTransactionError } from './errors';
import { isLowS } from './normalize';
import type { SignedTransaction } from './transaction';

/** An unsigned transaction serialised once: the digest to sign and what the signed form is built from. */
export interface SigningPayload {
  readonly type: 0 | 1 | 2;
  readonly chainId: bigint;
  /** The unsigned RLP list's items, when they were built here (saves decoding them again when signed). */
  readonly fields?: readonly RlpStructuredDataish[];
  /** The unsigned serialisation (EIP-155 payload, or the EIP-2718 typed payload) the digest is over. */
  readonly unsignedSerialized: Uint8Array;
  /** keccak256(unsignedSerialized): the 32 bytes the backend signs. */
  readonly digest: Uint8Array;
}

/** Unsigned RLP list length per type: legacy with and without EIP-155, EIP-2930, EIP-1559. */
const UNSIGNED_FIELDS = { legacy155: 9, legacy: 6, 1: 8, 2: 9 } as const;

/**
 * Serialises the transaction once. Types 0, 1 and 2 (what @hsm-signer/contracts allows). A wire
 * transaction's fields are already JSON-RPC quantities and hex: they become the RLP items directly
 * and ethers' encodeRlp serialises them (23 µs per type-2 payload here, against 42 µs through an
 * ethers Transaction object's setters and getters); an ethers Transaction is serialised by ethers
 * itself. The specs check both byte for byte against ethers (Wallet, 400 randomised transactions).
 */
export function toSigningPayload(unsigned: UnsignedTransaction | Transaction): SigningPayload {
  if (!(unsigned instanceof Transaction)) {
    const fields = unsignedRlpFields(unsigned);
    const body = getBytes(encodeRlp(fields));
    const unsignedSerialized = unsigned.type === 0 ? body : prefixed(unsigned.type, body);
    return { type: unsigned.type, chainId: BigInt(unsigned.chainId), fields, unsignedSerialized, digest: getBytes(keccak256(unsignedSerialized)) };
  }
  const tx = unsigned;
  const type = tx.type ?? tx.inferType();
  if (type !== 0 && type !== 1 && type !== 2) throw new InvalidTransactionError(`type ${type} transactions are not signed on this path`);
  const unsignedSerialized = getBytes(tx.unsignedSerialized);
  return { type, chainId: tx.chainId, unsignedSerialized, digest: getBytes(keccak256(unsignedSerialized)) };
}

const MINIMAL_QUANTITY = /^0x(0|[1-9a-f][0-9a-f]*)$/;

/** A JSON-RPC quantity as an RLP integer item: 0 is the empty string, odd-length hex gets its leading 0. */
function quantityItem(quantity: string, name: string): string {
  if (!MINIMAL_QUANTITY.test(quantity)) {
    try {
      return hexlify(toBeArray(BigInt(quantity)));
    } catch (error) {
      throw new InvalidTransactionError(`invalid transaction: ${name} is not a quantity`, { cause: error });
    }
  }
  if (quantity === '0x0') return '0x';
  return quantity.length % 2 === 0 ? quantity : `0x0${quantity.slice(2)}`;
}

function integerItem(value: number): string {
  return quantityItem(`0x${value.toString(16)}`, 'integer');
}

function prefixed(type: 1 | 2, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(body.length + 1);
  out[0] = type;
  out.set(body, 1);
  return out;
}

/**
 * The unsigned RLP list of a wire transaction, with the same rules toEthersTransaction enforces
 * (EIP-155 legacy, EIP-2930, EIP-1559 field orders: research/backend-apis.md §E.5).
 */
function unsignedRlpFields(tx: UnsignedTransaction): RlpStructuredDataish[] {
  const to = tx.to ?? '0x';
  const common = { nonce: integerItem(tx.nonce), gasLimit: quantityItem(tx.gasLimit, 'gasLimit'), value: quantityItem(tx.value, 'value') };
  if (tx.type === 2) {
    if (tx.maxFeePerGas === undefined || tx.maxPriorityFeePerGas === undefined) throw new InvalidTransactionError('a type 2 transaction needs maxFeePerGas and maxPriorityFeePerGas');
    const priority = quantityItem(tx.maxPriorityFeePerGas, 'maxPriorityFeePerGas');
    const max = quantityItem(tx.maxFeePerGas, 'maxFeePerGas');
    return [integerItem(tx.chainId), common.nonce, priority, max, common.gasLimit, to, common.value, tx.data, accessListItems(tx)];
  }
  if (tx.gasPrice === undefined) throw new InvalidTransactionError(`a type ${tx.type} transaction needs gasPrice`);
  const gasPrice = quantityItem(tx.gasPrice, 'gasPrice');
  if (tx.type === 1) return [integerItem(tx.chainId), common.nonce, gasPrice, common.gasLimit, to, common.value, tx.data, accessListItems(tx)];
  if (tx.accessList !== undefined && tx.accessList.length > 0) throw new InvalidTransactionError('a type 0 (legacy) transaction cannot carry an access list');
  // EIP-155: the signing payload ends in [chainId, 0, 0].
  return [common.nonce, gasPrice, common.gasLimit, to, common.value, tx.data, integerItem(tx.chainId), '0x', '0x'];
}

function accessListItems(tx: UnsignedTransaction): RlpStructuredDataish[] {
  return (tx.accessList ?? []).map((entry) => [entry.address, [...entry.storageKeys]]);
}

/** An RLP integer: big-endian without leading zeros (ethers toBeArray of r and s). */
function rlpScalar(bytes: Uint8Array): Uint8Array {
  let i = 0;
  while (i < bytes.length && bytes[i] === 0) i++;
  return bytes.subarray(i);
}

function unsignedFields(payload: SigningPayload): RlpStructuredDataish[] {
  const body = payload.type === 0 ? payload.unsignedSerialized : payload.unsignedSerialized.subarray(1);
  const fields = decodeRlp(body);
  const expected = payload.type !== 0 ? UNSIGNED_FIELDS[payload.type] : payload.chainId !== 0n ? UNSIGNED_FIELDS.legacy155 : UNSIGNED_FIELDS.legacy;
  if (!Array.isArray(fields) || fields.length !== expected) {
    throw new InvalidTransactionError(`unsigned type ${payload.type} transaction has ${Array.isArray(fields) ? fields.length : 'no'} RLP fields, expected ${expected}`);
  }
  return fields;
}

/**
 * The signed transaction and its hash, from a signing payload and a low-s signature over its
 * digest (see toLowSSignature). v is chainId·2+35+yParity for type 0 (EIP-155), yParity for 1 and 2.
 */
export function serializeSignedTransaction(payload: SigningPayload, signature: LowSSignature): SignedTransaction {
  const { r, s, yParity } = signature;
  if (r.length !== 32 || s.length !== 32 || !isScalarInRange(r) || !isScalarInRange(s)) throw new InvalidTransactionError('signature r and s must be 32-byte scalars in [1, n-1]');
  if (!isLowS(s)) throw new InvalidTransactionError('refusing to serialise a high-s signature (EIP-2)');
  if (yParity !== 0 && yParity !== 1) throw new InvalidTransactionError(`yParity must be 0 or 1, got ${String(yParity)}`);
  const fields = payload.fields ? [...payload.fields] : unsignedFields(payload);
  const rs = [rlpScalar(r), rlpScalar(s)];
  let raw: string;
  if (payload.type === 0) {
    const v = toBeArray(legacyV(yParity, payload.chainId));
    // EIP-155: the [chainId, 0, 0] placeholder of the signing payload becomes [v, r, s].
    if (payload.chainId !== 0n) fields.splice(6, 3, v, ...rs);
    else fields.push(v, ...rs);
    raw = encodeRlp(fields);
  } else {
    fields.push(toBeArray(yParity), ...rs);
    raw = `0x0${payload.type}${encodeRlp(fields).slice(2)}`;
  }
  return { raw, hash: keccak256(raw) };
}
