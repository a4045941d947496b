import type { StoredReply } from '@hsm-signer/persistence';
import { RestError, RestErrorCode } from '../errors';
import { PENDING_META } from '../replies/reply-completer';
import type { HttpAnswer } from '../dispatch/transaction-dispatcher';

export interface ReplyStore {
  getReply(id: string): Promise<StoredReply | undefined>;
  listReplies(query: { ids?: string[]; limit: number; skip?: number; since?: Date; from?: string; to?: string }): Promise<StoredReply[]>;
}

/** A stored reply as served: ethconnect adds `_id` (the request id) and `receivedAt` (epoch ms) (FE receiptstore.go). */
export function servedReply(reply: StoredReply): Record<string, unknown> {
  const { [PENDING_META]: _internal, ...body } = reply.body as Record<string, unknown>;
  return { ...body, _id: reply.id, receivedAt: reply.receivedAt.getTime() };
}

const ID = /^[0-9a-zA-Z._:-]{1,200}$/;

function parseSince(raw: string): Date {
  // RFC 3339, or epoch milliseconds (FE receiptstore.go).
  const asNumber = Number(raw);
  const date = /^[0-9]+$/.test(raw) && Number.isFinite(asNumber) ? new Date(asNumber) : new Date(raw);
  if (Number.isNaN(date.getTime())) throw new RestError(400, RestErrorCode.InvalidReplyQuery, `Invalid 'since' '${raw.slice(0, 50)}': an RFC 3339 time or epoch milliseconds`);
  return date;
}

function nonNegative(name: string, raw: string | null, fallback: number): number {
  if (raw === null || raw === '') return fallback;
  if (!/^[0-9]+$/.test(raw)) throw new RestError(400, RestErrorCode.InvalidReplyQuery, `Invalid '${name}' '${raw.slice(0, 50)}': a non-negative integer`);
  return Number(raw);
}

function optionalAddress(name: string, raw: string | null): string | undefined {
  if (raw === null || raw === '') return undefined;
  const hex = raw.replace(/^0x/i, '');
  if (!/^[0-9a-fA-F]{40}$/.test(hex)) throw new RestError(400, RestErrorCode.InvalidReplyQuery, `Invalid '${name}' '${raw.slice(0, 50)}': an address`);
  return `0x${hex.toLowerCase()}`;
}

/** GET /replies and /replies/{id} (research/rest-gateway.md §2.7). */
export class RepliesApi {
  constructor(
    private readonly store: ReplyStore,
    private readonly queryLimit: number,
  ) {}

  async get(id: string): Promise<HttpAnswer> {
    const reply = ID.test(id) ? await this.store.getReply(id) : undefined;
    if (!reply) throw new RestError(404, RestErrorCode.ReceiptNotFound, 'Receipt not available');
    return { status: 200, body: servedReply(reply) };
  }

  async list(search: URLSearchParams): Promise<HttpAnswer> {
    const ids = search.getAll('id');
    const bad = ids.find((id) => !ID.test(id));
    if (bad !== undefined) throw new RestError(400, RestErrorCode.InvalidReplyQuery, `Invalid id '${bad.slice(0, 50)}': letters, digits, '-', '_', '.', ':'`);
    // Ids disable the default limit (FE receiptstore.go).
    const limit = nonNegative('limit', search.get('limit'), ids.length ? Math.min(ids.length, this.queryLimit) : 10);
    if (limit > this.queryLimit) throw new RestError(400, RestErrorCode.InvalidReplyQuery, `Maximum limit is ${this.queryLimit}`);
    const since = search.get('since');
    const replies = await this.store.listReplies({
      ...(ids.length ? { ids } : {}),
      limit: limit || 10,
      skip: nonNegative('skip', search.get('skip'), 0),
      ...(since ? { since: parseSince(since) } : {}),
      ...(optionalAddress('from', search.get('from')) ? { from: optionalAddress('from', search.get('from')) } : {}),
      ...(optionalAddress('to', search.get('to')) ? { to: optionalAddress('to', search.get('to')) } : {}),
    });
    return { status: 200, body: replies.map(servedReply) };
  }
}
