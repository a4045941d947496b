import { randomUUID } from 'node:crypto';

/** The node's eth_getTransactionReceipt result, as far as a reply uses it. */
export interface NodeReceipt {
  transactionHash: string;
  transactionIndex: string;
  blockHash: string;
  blockNumber: string;
  from: string;
  to: string | null;
  cumulativeGasUsed: string;
  gasUsed: string;
  effectiveGasPrice?: string;
  contractAddress: string | null;
  status?: string;
}

/** What every reply's headers need from the request it answers. */
export interface ReplyContext {
  requestId: string;
  /** Epoch ms when the gateway accepted the request. */
  receivedAt: number;
  abiId?: string;
}

export type ReplyType = 'TransactionSuccess' | 'TransactionFailure' | 'Error' | 'TransactionPending';

/** Reply headers (ethconnect messages.go ReplyHeaders, research/rest-gateway.md §2.7). */
function headers(type: ReplyType, context: ReplyContext, now: number): Record<string, unknown> {
  return {
    id: randomUUID(),
    type,
    requestId: context.requestId,
    requestOffset: '',
    timeReceived: new Date(context.receivedAt).toISOString(),
    timeElapsed: Math.max(0, now - context.receivedAt) / 1000,
    ...(context.abiId ? { requestABIId: context.abiId } : {}),
  };
}

const decimal = (hex: string | null | undefined): string => (hex ? BigInt(hex).toString(10) : '0');

/**
 * A mined transaction's reply, ethconnect's TransactionSuccess / TransactionFailure (status > 0 ⇒
 * success; FE tx/txnprocessor.go:571-624): numbers as decimal strings, addresses and hashes lowercase
 * hex. `nonce` is the ledger's (ethconnect reports "0" when the node assigned it: we always know it).
 * `effectiveGasPrice` is added (not in ethconnect): what the transaction paid per gas.
 */
export function receiptReply(receipt: NodeReceipt, nonce: number | bigint, context: ReplyContext, now = Date.now()): Record<string, unknown> {
  const success = receipt.status === undefined || BigInt(receipt.status) > 0n;
  return {
    headers: headers(success ? 'TransactionSuccess' : 'TransactionFailure', context, now),
    blockHash: receipt.blockHash.toLowerCase(),
    blockNumber: decimal(receipt.blockNumber),
    ...(receipt.contractAddress ? { contractAddress: receipt.contractAddress.toLowerCase() } : {}),
    cumulativeGasUsed: decimal(receipt.cumulativeGasUsed),
    ...(receipt.effectiveGasPrice ? { effectiveGasPrice: decimal(receipt.effectiveGasPrice) } : {}),
    from: receipt.from.toLowerCase(),
    gasUsed: decimal(receipt.gasUsed),
    nonce: nonce.toString(10),
    status: success ? '1' : '0',
    to: receipt.to ? receipt.to.toLowerCase() : null,
    transactionHash: receipt.transactionHash.toLowerCase(),
    transactionIndex: decimal(receipt.transactionIndex),
  };
}

/** Whether a reply body is a mined, failed (status 0) transaction. */
export function isFailureReply(body: Record<string, unknown>): boolean {
  return (body['headers'] as { type?: string } | undefined)?.type === 'TransactionFailure';
}

/**
 * An Error reply (ethconnect messages.go ErrorReply): `errorMessage`, `errorCode`, the request as the
 * client sent it (`requestPayload`, a JSON string), and the transaction hash when one was sent.
 */
export function errorReply(
  error: { message: string; code: string },
  context: ReplyContext & { requestPayload: string },
  extra: { transactionHash?: string } = {},
  now = Date.now(),
): Record<string, unknown> {
  return {
    headers: headers('Error', context, now),
    errorMessage: error.message,
    errorCode: error.code,
    requestPayload: context.requestPayload,
    ...(extra.transactionHash ? { transactionHash: extra.transactionHash } : {}),
  };
}

/**
 * The reply stored while an asynchronous transaction waits to be mined. ethconnect stores one only
 * with `acktype=receipt` (the request plus `pending: true`, FE receiptstore.go:109-115) and a
 * co-located bridge stamps `transactionHash` on it once sent. We store it for every request once its
 * transaction is sent (with the hash and nonce), and with `acktype=receipt` before the 202 as well,
 * so a request that was accepted is visible while it waits to be mined (ethconnect ISS#176).
 */
export function pendingReply(context: ReplyContext & { requestPayload: string }, extra: { transactionHash?: string; nonce?: number } = {}, now = Date.now()): Record<string, unknown> {
  return {
    headers: headers('TransactionPending', context, now),
    pending: true,
    requestPayload: context.requestPayload,
    ...(extra.transactionHash ? { transactionHash: extra.transactionHash } : {}),
    ...(extra.nonce !== undefined ? { nonce: String(extra.nonce) } : {}),
  };
}

/** Adds the deploy fields of ethconnect's receipts: the new contract's OpenAPI and exerciser links (FE smartcontractgw.go:187-233). */
export function withDeployLinks(body: Record<string, unknown>, baseUrl: string, registerAs: string | undefined): Record<string, unknown> {
  const address = body['contractAddress'];
  if (typeof address !== 'string') return body;
  const path = `${baseUrl}/contracts/${encodeURIComponent(registerAs ?? address.replace(/^0x/, ''))}`;
  return { ...body, openapi: `${path}?openapi`, apiexerciser: `${path}?ui`, ...(registerAs ? { registerAs } : {}) };
}
