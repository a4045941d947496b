import { address, hash32, hexData, integer, literal, object, optional, string, type Infer } from '../validate';

export const parseAllocateNonceRequest = object({
  chainId: integer({ min: 1 }),
  address: address(),
  /** Client idempotency key (X-Request-Id / kld-id): the same id returns the first allocation. */
  requestId: optional(string({ min: 1, max: 200 })),
  /** A nonce the caller fixed itself: recorded, and the allocator moves past it. */
  fixedNonce: optional(integer({ min: 0 })),
  /** Hash of the client's payload under `requestId`: the same id with a different payload is refused (HSM30001). */
  payloadHash: optional(hash32()),
});
export type AllocateNonceRequest = Infer<typeof parseAllocateNonceRequest>;

export const parseAllocateNonceReply = object({
  /** Ledger row id; quote it when recording the outcome. */
  transactionId: string({ min: 1 }),
  nonce: integer({ min: 0 }),
  /** Set when `requestId` matched an earlier request that was already submitted. */
  existingHash: optional(hash32()),
  /**
   * How long the nonce is the caller's (ms from allocation). A caller about to broadcast after more
   * than half of it records `signed` first, which renews the lease or tells it the nonce is gone.
   */
  leaseMs: optional(integer({ min: 1 })),
});
export type AllocateNonceReply = Infer<typeof parseAllocateNonceReply>;

/**
 * How a send ended, from the gateway's point of view.
 * - submitted: the node accepted the raw transaction (or already knew it).
 * - rejected: the node refused it for a reason that leaves the nonce unused (funds, gas, revert…).
 * - abandoned: nothing reached the node (validation, signing failed); the nonce is unused.
 * - signed: (optional, before broadcasting) raw + hash stored and the nonce lease renewed; refused
 *   with NonceConflict when the lease already expired (then nothing must be broadcast).
 */
export const parseRecordOutcomeRequest = object({
  transactionId: string({ min: 1 }),
  outcome: literal('submitted', 'rejected', 'abandoned', 'signed'),
  hash: optional(hash32()),
  raw: optional(hexData()),
  error: optional(string({ max: 2000 })),
});
export type RecordOutcomeRequest = Infer<typeof parseRecordOutcomeRequest>;

export const parseRecordOutcomeReply = object({ ok: literal(1) });
export type RecordOutcomeReply = Infer<typeof parseRecordOutcomeReply>;
