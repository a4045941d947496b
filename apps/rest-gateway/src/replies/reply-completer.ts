import { errorReply, type NodeReceipt } from './reply-bodies';
import type { LedgerState } from './receipt-waiter';
import { RestErrorCode } from '../errors';

/** What a pending reply keeps for its completion, under {@link PENDING_META} in the stored body (never served). */
export interface PendingMeta {
  kind: 'send' | 'deploy';
  baseUrl: string;
  registerAs?: string;
  abiId?: string;
  requestId: string;
  receivedAt: number;
}

export const PENDING_META = '_hsm';

export interface StoredPending {
  id: string;
  body: Record<string, unknown>;
  transactionId: string | null;
  from: string | null;
  to: string | null;
}

export interface CompleterPorts {
  pendingRepliesWithLedger(limit: number): Promise<Array<{ reply: StoredPending; ledger: LedgerState | null }>>;
  saveReply(input: { id: string; body: object; pending: boolean; transactionId?: string | null; from?: string | null; to?: string | null }): Promise<unknown>;
  receipt(hash: string): Promise<NodeReceipt | null>;
  finish(receipt: NodeReceipt, nonce: bigint, meta: PendingMeta): Promise<Record<string, unknown>>;
}

const MINED = new Set(['mined', 'confirmed', 'failed']);
const NOT_MINED = new Set(['rejected', 'abandoned', 'replaced']);

/** A pending reply this old is looked up on the node by its own hash too, whatever the ledger says. */
export const LEDGER_LAG_MS = 10_000;

async function firstReceipt(ports: CompleterPorts, hashes: string[]): Promise<NodeReceipt | null> {
  const receipts = await Promise.all(hashes.map((h) => ports.receipt(h)));
  return receipts.find((r) => r !== null) ?? null;
}

/**
 * Completes asynchronous replies: pending replies whose transaction is mined get their receipt,
 * those that will never be mined an Error. It reads the reply store and the ledger, not memory, so
 * any replica completes any reply, also after the replica that sent it died; two replicas completing
 * one reply write the same receipt (saveReply never lets a pending reply overwrite a final one).
 *
 * The ledger says when to look (mined, or given up on), the node's receipt is the answer. The hashes
 * asked for are the ledger's current one (a fee bump replaces it) and the one the reply recorded when
 * it was sent: a replica killed between its broadcast and its `submitted` record leaves a ledger row
 * without a hash whose transaction is mined all the same (apps/nonce-service/README.md "Hot path").
 * Such a reply is found by its own hash once it is {@link LEDGER_LAG_MS} old; a row the ledger gave up
 * on becomes an Error only when neither hash has a receipt.
 * Returns how many replies it completed.
 */
export async function completePendingReplies(ports: CompleterPorts, limit = 500, now = Date.now()): Promise<number> {
  const rows = await ports.pendingRepliesWithLedger(limit);
  let completed = 0;
  await Promise.all(
    rows.map(async ({ reply, ledger }) => {
      const meta = reply.body[PENDING_META] as PendingMeta | undefined;
      if (!ledger || !meta) return;
      const sentHash = typeof reply.body['transactionHash'] === 'string' ? (reply.body['transactionHash'] as string) : undefined;
      const hashes = [...new Set([ledger.hash, sentHash].filter((h): h is string => !!h))];
      const finalInLedger = MINED.has(ledger.status) || NOT_MINED.has(ledger.status);
      if (!finalInLedger && now - meta.receivedAt < LEDGER_LAG_MS) return;
      if (hashes.length === 0) return;
      const where = { id: reply.id, transactionId: reply.transactionId, from: reply.from, to: reply.to };
      const receipt = await firstReceipt(ports, hashes);
      if (receipt) {
        await ports.saveReply({ ...where, pending: false, body: await ports.finish(receipt, ledger.nonce, meta) });
        completed++;
        return;
      }
      if (!NOT_MINED.has(ledger.status)) return; // mined in the ledger but no receipt now: reorged away, the ledger will say
      const body = errorReply(
        { message: `transaction ${hashes.join(' / ')} will not be mined: the ledger has it as ${ledger.status}`, code: RestErrorCode.NotMined },
        { requestId: meta.requestId, receivedAt: meta.receivedAt, requestPayload: String(reply.body['requestPayload'] ?? '') },
        { transactionHash: hashes[0] },
      );
      await ports.saveReply({ ...where, pending: false, body });
      completed++;
    }),
  );
  return completed;
}
