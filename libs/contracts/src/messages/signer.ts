import { address, array, boolean, hash32, hexData, integer, literal, nullable, object, optional, quantity, string, type Infer } from '../validate';

/** Which key, in which configured backend. `keyId` is the backend's own reference (PKCS#11 CKA_ID hex, Azure key name, …). */
export const parseKeyRef = object({
  backendId: string({ min: 1, max: 100 }),
  keyId: string({ min: 1, max: 500 }),
});
export type KeyRef = Infer<typeof parseKeyRef>;

const parseAccessListEntry = object({ address: address(), storageKeys: array(hash32()) });

/**
 * A complete unsigned transaction. Quantities are JSON-RPC hex strings so bigints survive JSON.
 * type 0 = legacy (EIP-155 when chainId is set), 1 = EIP-2930, 2 = EIP-1559.
 */
export const parseUnsignedTransaction = object({
  type: literal(0, 1, 2),
  chainId: integer({ min: 1 }),
  nonce: integer({ min: 0 }),
  to: nullable(address()),
  value: quantity(),
  data: hexData(),
  gasLimit: quantity(),
  gasPrice: optional(quantity()),
  maxFeePerGas: optional(quantity()),
  maxPriorityFeePerGas: optional(quantity()),
  accessList: optional(array(parseAccessListEntry)),
});
export type UnsignedTransaction = Infer<typeof parseUnsignedTransaction>;

export const parseSignTransactionRequest = object({
  /** The expected sender: the signer refuses to return a signature that does not recover to it. */
  from: address(),
  key: parseKeyRef,
  tx: parseUnsignedTransaction,
});
export type SignTransactionRequest = Infer<typeof parseSignTransactionRequest>;

export const parseSignTransactionReply = object({
  raw: hexData(),
  hash: hash32(),
});
export type SignTransactionReply = Infer<typeof parseSignTransactionReply>;

export const parseListKeysRequest = object({});
export type ListKeysRequest = Infer<typeof parseListKeysRequest>;

export const parseBackendKey = object({
  keyId: string({ min: 1 }),
  address: address(),
  label: optional(string()),
});
export type BackendKey = Infer<typeof parseBackendKey>;

export const parseBackendCapabilities = object({
  /** Signs a 32-byte digest (PKCS#11, Azure, KMS) or whole transactions only (Vault ethsign). */
  signs: literal('digest', 'transaction'),
  /** Transaction types the backend can sign. */
  transactionTypes: array(literal(0, 1, 2)),
});
export type BackendCapabilities = Infer<typeof parseBackendCapabilities>;

export const parseBackendListing = object({
  backendId: string({ min: 1 }),
  kind: string({ min: 1 }),
  healthy: boolean(),
  /** Why the backend is unhealthy; never contains a secret. */
  error: optional(string()),
  capabilities: parseBackendCapabilities,
  keys: array(parseBackendKey),
});
export type BackendListing = Infer<typeof parseBackendListing>;

export const parseListKeysReply = object({ backends: array(parseBackendListing) });
export type ListKeysReply = Infer<typeof parseListKeysReply>;
