import { ErrorCode, isWireError, type WireError } from './errors';
import { ContractViolationError, type Parser } from './validate';

/**
 * Batched request/reply: many requests of one route in one NATS message, one reply carrying a
 * result per item, in order. The hot path (allocate → sign → record) sends one message per route
 * per event-loop turn instead of one per transaction, so NATS, Nest and JSON costs are paid per
 * batch (issue 3 benchmark; shared/services.md "count the hops on the hot path").
 *
 * Items are validated one by one with the single route's parsers, so a malformed item fails alone
 * (HSM10001 in its slot) and never takes its neighbours down with it.
 */
export const MAX_BATCH_ITEMS = 256;

export interface SingleRoute<Req, Rep> {
  subject: string;
  request: Parser<Req>;
  reply: Parser<Rep>;
}

export interface BatchRoute<Req, Rep> {
  subject: string;
  /** The route every item follows (its parsers validate each item and each item's result). */
  item: SingleRoute<Req, Rep>;
}

/** One item's outcome on the wire: its reply, or the error that item alone got. */
export type BatchItemResult<Rep> = { ok: Rep } | { err: WireError };

export interface BatchRequestEnvelope {
  items: unknown[];
}

export interface BatchReplyEnvelope {
  results: unknown[];
}

export function batchRoute<Req, Rep>(subject: string, item: SingleRoute<Req, Rep>): BatchRoute<Req, Rep> {
  return { subject, item };
}

/** The envelope of a batch request; items are left for {@link parseBatchItem}. */
export function parseBatchRequest(value: unknown): BatchRequestEnvelope {
  const items = (value as { items?: unknown } | null)?.items;
  if (!Array.isArray(items)) throw new ContractViolationError('items', 'an array');
  if (items.length === 0) throw new ContractViolationError('items', 'a non-empty array');
  if (items.length > MAX_BATCH_ITEMS) throw new ContractViolationError('items', `an array of at most ${MAX_BATCH_ITEMS} items`);
  return { items };
}

/** The envelope of a batch reply: exactly one result per item sent. */
export function parseBatchReply(value: unknown, expectedItems: number): BatchReplyEnvelope {
  const results = (value as { results?: unknown } | null)?.results;
  if (!Array.isArray(results)) throw new ContractViolationError('results', 'an array');
  if (results.length !== expectedItems) throw new ContractViolationError('results', `an array of ${expectedItems} results (one per item)`);
  return { results };
}

/**
 * One item's result from a reply: its parsed reply, or its WireError. A result that is neither (a
 * foreign or broken responder) becomes an HSM99999 WireError naming the slot.
 */
export function parseBatchResult<Rep>(route: BatchRoute<unknown, Rep>, result: unknown, index: number): { ok: Rep } | { err: WireError } {
  if (typeof result === 'object' && result !== null) {
    if ('err' in result) {
      const err = (result as { err: unknown }).err;
      if (isWireError(err)) return { err };
    } else if ('ok' in result) {
      try {
        return { ok: route.item.reply((result as { ok: unknown }).ok, `results[${index}].ok`) };
      } catch (error) {
        if (error instanceof ContractViolationError) return { err: { code: ErrorCode.Internal, message: `malformed reply on ${route.subject}: ${error.message}` } };
        throw error;
      }
    }
  }
  return { err: { code: ErrorCode.Internal, message: `malformed reply on ${route.subject}: results[${index}] is neither {ok} nor {err}` } };
}
