import { address, array, boolean, ContractViolationError, hash32, hexData, integer, literal, nullable, object, optional, quantity, string, type Infer, type Parser } from '../validate';

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

/**
 * Sign a 32-byte digest with a key: the rpc-gateway hashes an eth_sign / personal_sign message
 * (EIP-191) or eth_signTypedData* data (EIP-712) itself and sends only the digest. Digest-signing
 * backends only (PKCS#11, Azure Key Vault, AWS KMS); Vault ethsign signs whole transactions and
 * answers HSM20005 (research/backend-apis.md §A.2).
 */
export const parseSignDigestRequest = object({
  /** The expected signer: the signature's recovered key must be this address's key. */
  from: address(),
  key: parseKeyRef,
  digest: hash32(),
});
export type SignDigestRequest = Infer<typeof parseSignDigestRequest>;

/** 65 bytes r‖s‖v as 0x hex (132 characters), lower case. */
const signature65 = (): Parser<string> => (v, path = '') => {
  if (typeof v !== 'string' || !/^0x[0-9a-fA-F]{130}$/.test(v)) throw new ContractViolationError(path, 'a 0x-prefixed 65-byte signature');
  return v.toLowerCase();
};

export const parseSignDigestReply = object({
  /** Low-s (EIP-2) r and s, 32 bytes each. */
  r: hash32(),
  s: hash32(),
  yParity: literal(0, 1),
  /** r‖s‖v with v = 27 + yParity: the form eth_sign / personal_sign return (geth's convention). */
  signature: signature65(),
});
export type SignDigestReply = Infer<typeof parseSignDigestReply>;

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
