import { createHash } from 'node:crypto';
import type { JsonRpcId } from '@hsm-signer/ethereum';

/** nonce-service accepts idempotency keys of up to 200 characters (libs/contracts messages/nonce.ts). */
export const REQUEST_ID_MAX = 200;

/**
 * The idempotency key of one eth_sendTransaction. From X-Request-Id as given; inside a batch each
 * send gets `<X-Request-Id>:<JSON-RPC id>` so one header cannot make two sends collide. Keys too
 * long for the ledger are replaced by their SHA-256 (still deterministic, still unique).
 */
export function idempotencyKey(header: string | undefined, batchId?: JsonRpcId): string | undefined {
  if (header === undefined || header === '') return undefined;
  const key = batchId === undefined ? header : `${header}:${String(batchId)}`;
  return key.length <= REQUEST_ID_MAX ? key : `sha256:${createHash('sha256').update(key).digest('hex')}`;
}
