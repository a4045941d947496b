/**
 * The pure half of the signing methods (eth_sign, personal_sign, eth_signTypedData*,
 * eth_signTransaction): parameter parsing and the digests the key signs. No I/O, so every rule here
 * is unit-tested without a stack (signing-payloads.spec.ts); signing-methods.ts does the rest.
 *
 * Errors are JSON-RPC -32602 (InvalidParamsError, HTTP 400) with a message that says what to fix.
 */
import { InvalidParamsError, parseSendTransactionParams, type TransactionRequest } from '@hsm-signer/ethereum';
import { TypedDataEncoder, getBytes, hashMessage, isError, toUtf8Bytes, type TypedDataDomain, type TypedDataField } from 'ethers';

const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const HEX_BYTES = /^0x([0-9a-fA-F]{2})*$/;

/** What an eth_sign / personal_sign call asks for: the signer and the message bytes. */
export interface MessageSignRequest {
  /** Lower-case 0x address. */
  address: string;
  message: Uint8Array;
}

/** EIP-712 typed data as eth_signTypedData_v4 carries it (MetaMask / ethers / viem shape). */
export interface TypedData {
  types: Record<string, TypedDataField[]>;
  primaryType: string;
  domain: TypedDataDomain;
  message: Record<string, unknown>;
}

export interface TypedDataSignRequest {
  address: string;
  typedData: TypedData;
}

function parseAddress(value: unknown, what: string): string {
  if (typeof value !== 'string' || !ADDRESS.test(value)) throw new InvalidParamsError(`${what} must be a 0x-prefixed 20-byte address, got ${JSON.stringify(value)}`);
  return value.toLowerCase();
}

/**
 * The message bytes of eth_sign / personal_sign: 0x-prefixed hex of even length is decoded,
 * anything else is taken as UTF-8 text — Web3Signer's rule (research/rpc-signers.md §1.5). ethers,
 * viem and web3.js always send hex; "0xabc" (odd length) or "0xzz" are signed as the text itself.
 */
export function messageBytes(data: unknown): Uint8Array {
  if (typeof data !== 'string') throw new InvalidParamsError(`the message must be a string (0x-prefixed hex bytes or UTF-8 text), got ${typeof data}`);
  return HEX_BYTES.test(data) ? getBytes(data) : toUtf8Bytes(data);
}

/**
 * eth_sign is [address, data] (geth, Web3Signer); personal_sign is [data, address] (geth; a third
 * param, the passphrase geth's personal_sign takes, is ignored: HSM keys are never "locked").
 */
export function parseMessageSignParams(method: 'eth_sign' | 'personal_sign', params: unknown): MessageSignRequest {
  const order = method === 'eth_sign' ? '[address, data]' : '[data, address]';
  if (!Array.isArray(params) || params.length < 2) throw new InvalidParamsError(`${method} expects ${order}`);
  const [addressParam, dataParam] = method === 'eth_sign' ? [params[0], params[1]] : [params[1], params[0]];
  return { address: parseAddress(addressParam, `${method} ${order}: address`), message: messageBytes(dataParam) };
}

/** EIP-191 version 0x45: keccak256("\x19Ethereum Signed Message:\n" + length + message). */
export function personalMessageDigest(message: Uint8Array): string {
  return hashMessage(message);
}

/**
 * eth_signTypedData, _v3 and _v4: [address, typedData], typedData an object or its JSON string
 * (Web3Signer §1.5; MetaMask and viem send a string, some clients an object). All three are
 * EIP-712 here: v3 data is v4 data without arrays / recursion and hashes the same. The legacy v1
 * format (an array of {type, name, value}) is refused with a message saying so.
 */
export function parseTypedDataParams(method: string, params: unknown): TypedDataSignRequest {
  if (!Array.isArray(params) || params.length < 2) throw new InvalidParamsError(`${method} expects [address, typedData]`);
  const address = parseAddress(params[0], `${method} [address, typedData]: address`);
  let data = params[1];
  if (typeof data === 'string') {
    try {
      data = JSON.parse(data);
    } catch (error) {
      throw new InvalidParamsError(`typedData is a string but not valid JSON (${(error as Error).message})`);
    }
  }
  if (Array.isArray(data)) {
    throw new InvalidParamsError('legacy (v1) typed data, an array of {type, name, value}, is not supported; send EIP-712 typed data {types, primaryType, domain, message}');
  }
  return { address, typedData: parseTypedData(data) };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseTypedData(data: unknown): TypedData {
  if (!isPlainObject(data)) throw new InvalidParamsError('typedData must be an object {types, primaryType, domain, message}');
  const { types, primaryType, domain, message } = data;
  if (!isPlainObject(types)) throw new InvalidParamsError('typedData.types must be an object of struct definitions');
  for (const [name, fields] of Object.entries(types)) {
    if (!Array.isArray(fields) || !fields.every((f) => isPlainObject(f) && typeof f['name'] === 'string' && typeof f['type'] === 'string')) {
      throw new InvalidParamsError(`typedData.types.${name} must be an array of {name, type}`);
    }
  }
  if (typeof primaryType !== 'string' || primaryType === '') throw new InvalidParamsError('typedData.primaryType must name a struct in typedData.types');
  if (!isPlainObject(domain)) throw new InvalidParamsError('typedData.domain must be an object');
  if (!isPlainObject(message)) throw new InvalidParamsError('typedData.message must be an object');
  return { types: types as Record<string, TypedDataField[]>, primaryType, domain: domain as TypedDataDomain, message };
}

/** EIP712Domain's fields in the only order EIP-712 (and ethers) knows. */
const DOMAIN_FIELDS = ['name', 'version', 'chainId', 'verifyingContract', 'salt'];

/**
 * The EIP-712 digest, keccak256("\x19\x01" ‖ domainSeparator ‖ hashStruct(primaryType, message)),
 * with ethers' TypedDataEncoder. What ethers needs that wallets' typed data does not give it:
 * - EIP712Domain dropped from `types` (ethers derives the domain type from the domain object);
 * - only the structs reachable from `primaryType` kept: ethers infers the primary type as the one
 *   struct nothing references and refuses unused types, while eth_signTypedData_v4 names it;
 * - a domain field the EIP712Domain type does not declare left out (MetaMask hashes declared
 *   fields only), a declared one that is missing refused; without EIP712Domain, the domain
 *   object's fields are the declaration (ethers' own rule).
 * Anything ethers refuses (unknown type, a value that does not fit its type) → -32602 naming it.
 */
export function typedDataDigest(typedData: TypedData): string {
  const { EIP712Domain: domainType, ...structs } = typedData.types;
  if (!structs[typedData.primaryType]) {
    throw new InvalidParamsError(`typedData.primaryType "${typedData.primaryType}" is not defined in typedData.types (EIP712Domain aside)`);
  }
  const domain = declaredDomain(typedData.domain, domainType);
  const types = reachableTypes(structs, typedData.primaryType);
  try {
    const encoder = TypedDataEncoder.from(types);
    // ethers says "invalid address" but not where: find the value first, so the message names its path.
    checkValue(encoder, typedData.primaryType, typedData.message, 'typedData.message');
    return TypedDataEncoder.hash(domain, types, typedData.message);
  } catch (error) {
    if (error instanceof InvalidParamsError) throw error;
    throw new InvalidParamsError(`typed data cannot be encoded (EIP-712): ${reasonOf(error)}`, { cause: error });
  }
}

function reasonOf(error: unknown): string {
  return isError(error, 'INVALID_ARGUMENT') ? error.shortMessage : error instanceof Error ? error.message : String(error);
}

function shown(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** Walks `value` as `type`, so a missing or malformed field is reported by its path (typedData.message.to.wallet). */
function checkValue(encoder: TypedDataEncoder, type: string, value: unknown, path: string): void {
  if (value === undefined || value === null) throw new InvalidParamsError(`typed data cannot be encoded (EIP-712): ${path} (${type}) is missing`);
  const array = /^(.*)\[(\d*)\]$/.exec(type);
  if (array) {
    if (!Array.isArray(value)) throw new InvalidParamsError(`typed data cannot be encoded (EIP-712): ${path} must be an array (${type}), got ${shown(value)}`);
    if (array[2] !== '' && value.length !== Number(array[2])) throw new InvalidParamsError(`typed data cannot be encoded (EIP-712): ${path} must have ${array[2]} items (${type}), got ${value.length}`);
    value.forEach((item, i) => checkValue(encoder, array[1], item, `${path}[${i}]`));
    return;
  }
  const fields = encoder.types[type];
  if (fields) {
    if (!isPlainObject(value)) throw new InvalidParamsError(`typed data cannot be encoded (EIP-712): ${path} must be an object (${type}), got ${shown(value)}`);
    for (const field of fields) checkValue(encoder, field.type, value[field.name], `${path}.${field.name}`);
    return;
  }
  try {
    encoder.encodeData(type, value);
  } catch (error) {
    throw new InvalidParamsError(`typed data cannot be encoded (EIP-712): ${path} is not a valid ${type}: ${reasonOf(error)} (${shown(value)})`, { cause: error });
  }
}

function declaredDomain(domain: TypedDataDomain, declared: TypedDataField[] | undefined): TypedDataDomain {
  const given = domain as Record<string, unknown>;
  if (!declared) {
    for (const key of Object.keys(given)) {
      if (!DOMAIN_FIELDS.includes(key)) throw new InvalidParamsError(`typedData.domain.${key} is not an EIP-712 domain field (${DOMAIN_FIELDS.join(', ')})`);
    }
    return domain;
  }
  const names = declared.map((f) => f.name);
  const canonical = DOMAIN_FIELDS.filter((f) => names.includes(f));
  if (names.length !== canonical.length || names.some((n, i) => n !== canonical[i])) {
    throw new InvalidParamsError(`typedData.types.EIP712Domain must list its fields in the order ${DOMAIN_FIELDS.join(', ')} (any subset), got ${names.join(', ')}`);
  }
  const out: Record<string, unknown> = {};
  for (const name of names) {
    if (given[name] === undefined || given[name] === null) throw new InvalidParamsError(`typedData.domain.${name} is declared in EIP712Domain but missing`);
    out[name] = given[name];
  }
  return out as TypedDataDomain;
}

/** The struct definitions `primary` uses, directly or through other structs (itself included). */
function reachableTypes(structs: Record<string, TypedDataField[]>, primary: string): Record<string, TypedDataField[]> {
  const out: Record<string, TypedDataField[]> = {};
  const visit = (name: string) => {
    if (out[name] || !structs[name]) return;
    out[name] = structs[name];
    for (const field of structs[name]) visit(field.type.replace(/(\[\d*\])+$/, ''));
  };
  visit(primary);
  return out;
}

/**
 * eth_signTransaction [tx]: the eth_sendTransaction object, with `nonce` required — the gateway
 * allocates nonces only for what it broadcasts itself, as Web3Signer (research/rpc-signers.md §1.5).
 * A nonce handed out for a transaction someone else may or may not broadcast would be a hole.
 */
export function parseSignTransactionParams(params: unknown): TransactionRequest & { nonce: number } {
  const request = parseSendTransactionParams(params);
  if (request.nonce === undefined) {
    throw new InvalidParamsError(
      "eth_signTransaction needs a 'nonce': the gateway assigns nonces only to transactions it sends itself (eth_sendTransaction); read the account's next nonce with eth_getTransactionCount(address, 'pending') and pass it",
    );
  }
  return request as TransactionRequest & { nonce: number };
}
