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

/**
 * Completes asynchronous replies: pending replies whose ledger transaction is mined get their
 * receipt, those the ledger gave up on an Error. It reads the reply store and the ledger, not memory,
 * so any replica completes any reply, also after the replica that sent it died; two replicas
 * completing one reply write the same receipt (saveReply never lets a pending reply overwrite a final one).
 * Returns how many replies it completed.
 */
export async function completePendingReplies(ports: CompleterPorts, limit = 500): Promise<number> {
  const rows = await ports.pendingRepliesWithLedger(limit);
  let completed = 0;
  await Promise.all(
    rows.map(async ({ reply, ledger }) => {
      const meta = reply.body[PENDING_META] as PendingMeta | undefined;
      if (!ledger || !meta) return;
      const where = { id: reply.id, transactionId: reply.transactionId, from: reply.from, to: reply.to };
      if (NOT_MINED.has(ledger.status)) {
        const body = errorReply(
          { message: `transaction ${ledger.hash ?? ''} will not be mined: the ledger has it as ${ledger.status}`, code: RestErrorCode.NotMined },
          { requestId: meta.requestId, receivedAt: meta.receivedAt, requestPayload: String(reply.body['requestPayload'] ?? '') },
          ledger.hash ? { transactionHash: ledger.hash } : {},
        );
        await ports.saveReply({ ...where, pending: false, body });
        completed++;
        return;
      }
      if (!MINED.has(ledger.status) || !ledger.hash) return;
      const receipt = await ports.receipt(ledger.hash);
      if (!receipt) return; // reorged away since: the ledger will say so
      await ports.saveReply({ ...where, pending: false, body: await ports.finish(receipt, ledger.nonce, meta) });
      completed++;
    }),
  );
  return completed;
}
