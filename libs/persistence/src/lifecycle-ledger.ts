import { Prisma, type PrismaClient } from './generated/prisma/client';

/**
 * The statements nonce-service's tracker runs to follow transactions after submission (issue 3,
 * research/nonce-and-lifecycle.md §7.4): account leases split the work between replicas, then per
 * account one read of its open transactions, and one statement per state change. None of them is
 * held open across an RPC or signing call: read, act outside the database, then write with a guard
 * on the state that was read (and the account lease's fencing epoch).
 *
 * Every state change writes its outbox event through the `transactions_outbox` trigger (migration
 * 20261124030000_lifecycle), in the same transaction as the change.
 */

/** Proof that this replica holds an account's tracker lease: writes are fenced on it. */
export interface AccountLease {
  chainId: number;
  address: string;
  owner: string;
  epoch: bigint;
}

export interface OpenTransaction {
  id: string;
  nonce: number;
  status: 'allocated' | 'signed' | 'submitted' | 'mined';
  kind: string;
  nonceSource: string;
  hash: string | null;
  raw: string | null;
  type: number | null;
  fields: Record<string, unknown> | null;
  /** Hashes of earlier attempts at this nonce (replaced by a fee bump). */
  previousHashes: string[];
  /** The first attempt's fields (the base of the replacement fee cap); null when never replaced. */
  firstFields: Record<string, unknown> | null;
  leaseExpired: boolean;
  /** Milliseconds since the current raw transaction was last broadcast (or allocated). */
  sinceSentMs: number;
  resends: number;
  attempts: number;
  blockNumber: number | null;
  blockHash: string | null;
}

export interface ReleasedHole {
  nonce: number;
  ageMs: number;
}

export interface ReceiptRecord {
  hash: string;
  blockNumber: number;
  blockHash: string;
  status: number;
  gasUsed: bigint;
  effectiveGasPrice: bigint | null;
}

export interface AccountView {
  chainId: number;
  address: string;
  nextNonce: number;
  chainNonce: number;
  chainNonceAt: string;
  tracker: { owner: string | null; leaseUntil: string | null; epoch: string };
  releasedNonces: number[];
  transactions: Record<string, unknown>[];
}

const OPEN = Prisma.raw(`('allocated', 'signed', 'submitted', 'mined')`);

export class LifecycleLedger {
  constructor(private readonly prisma: PrismaClient) {}

  /**
   * Takes (or renews) the tracker lease of up to `limit` accounts that have open work or whose chain
   * floor was not read for `floorSyncMs`. SKIP LOCKED: an account being allocated right now or claimed
   * by another replica is skipped this round. A new owner bumps the epoch (fencing token).
   */
  async claimAccounts(owner: string, leaseMs: number, limit: number, floorSyncMs: number): Promise<AccountLease[]> {
    const rows = await this.prisma.$queryRaw<{ chain_id: bigint; address: string; lease_epoch: bigint }[]>`
WITH cand AS (
  SELECT c.chain_id, c.address FROM nonces c
  WHERE (c.lease_owner = ${owner} OR c.lease_until IS NULL OR c.lease_until < now())
    AND (EXISTS (SELECT 1 FROM transactions t WHERE t.chain_id = c.chain_id AND t.from_address = c.address AND t.status IN ${OPEN})
         OR EXISTS (SELECT 1 FROM released_nonces r WHERE r.chain_id = c.chain_id AND r.address = c.address)
         OR c.chain_nonce_at < now() - ${BigInt(floorSyncMs)} * INTERVAL '1 millisecond')
  ORDER BY c.lease_until NULLS FIRST
  LIMIT ${limit}
  FOR UPDATE OF c SKIP LOCKED
)
UPDATE nonces c SET
  lease_epoch = CASE WHEN c.lease_owner IS DISTINCT FROM ${owner} THEN c.lease_epoch + 1 ELSE c.lease_epoch END,
  lease_owner = ${owner},
  lease_until = now() + ${BigInt(leaseMs)} * INTERVAL '1 millisecond'
FROM cand WHERE c.chain_id = cand.chain_id AND c.address = cand.address
RETURNING c.chain_id, c.address, c.lease_epoch`;
    return rows.map((r) => ({ chainId: Number(r.chain_id), address: r.address, owner, epoch: r.lease_epoch }));
  }

  /** Takes one account's lease when it is free, expired or already ours (operator resync). */
  async claimAccount(owner: string, chainId: number, address: string, leaseMs: number): Promise<AccountLease | undefined> {
    const rows = await this.prisma.$queryRaw<{ lease_epoch: bigint }[]>`
UPDATE nonces c SET
  lease_epoch = CASE WHEN c.lease_owner IS DISTINCT FROM ${owner} THEN c.lease_epoch + 1 ELSE c.lease_epoch END,
  lease_owner = ${owner},
  lease_until = now() + ${BigInt(leaseMs)} * INTERVAL '1 millisecond'
WHERE c.chain_id = ${BigInt(chainId)} AND c.address = ${address}
  AND (c.lease_owner = ${owner} OR c.lease_until IS NULL OR c.lease_until < now())
RETURNING c.lease_epoch`;
    return rows[0] && { chainId, address, owner, epoch: rows[0].lease_epoch };
  }

  /** Gives the leases back (shutdown), so another replica takes over at once. */
  async releaseAccounts(owner: string): Promise<void> {
    await this.prisma.$executeRaw`UPDATE nonces SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = ${owner}`;
  }

  /** The account's open transactions in nonce order, and its released nonces. Two reads, no lock. */
  async openWork(chainId: number, address: string): Promise<{ transactions: OpenTransaction[]; holes: ReleasedHole[] }> {
    const chain = BigInt(chainId);
    const [rows, holes] = await Promise.all([
      this.prisma.$queryRaw<
        {
          id: string;
          nonce: bigint;
          status: OpenTransaction['status'];
          kind: string;
          nonce_source: string;
          hash: string | null;
          raw: string | null;
          type: number | null;
          fields: Record<string, unknown> | null;
          previous: string[] | null;
          first_fields: Record<string, unknown> | null;
          lease_expired: boolean | null;
          since_sent_ms: number;
          resends: number;
          attempts: number;
          block_number: bigint | null;
          block_hash: string | null;
        }[]
      >`
SELECT t.id::text AS id, t.nonce, t.status::text AS status, t.kind, t.nonce_source::text AS nonce_source, t.hash, t.raw, t.type, t.fields,
       (SELECT array_agg(a.hash::text) FROM transaction_attempts a WHERE a.transaction_id = t.id) AS previous,
       (SELECT a.fields FROM transaction_attempts a WHERE a.transaction_id = t.id ORDER BY a.created_at LIMIT 1) AS first_fields,
       t.lease_until < now() AS lease_expired,
       (EXTRACT(EPOCH FROM now() - coalesce(t.sent_at, t.submitted_at, t.created_at)) * 1000)::float8 AS since_sent_ms,
       t.resends, t.attempts, t.block_number, t.block_hash
FROM transactions t
WHERE t.chain_id = ${chain} AND t.from_address = ${address} AND t.status IN ${OPEN}
ORDER BY t.nonce`,
      this.prisma.$queryRaw<{ nonce: bigint; age_ms: number }[]>`
SELECT nonce, (EXTRACT(EPOCH FROM now() - released_at) * 1000)::float8 AS age_ms
FROM released_nonces WHERE chain_id = ${chain} AND address = ${address} ORDER BY nonce`,
    ]);
    return {
      transactions: rows.map((r) => ({
        id: r.id,
        nonce: Number(r.nonce),
        status: r.status,
        kind: r.kind,
        nonceSource: r.nonce_source,
        hash: r.hash,
        raw: r.raw,
        type: r.type,
        fields: r.fields,
        previousHashes: r.previous ?? [],
        firstFields: r.first_fields,
        leaseExpired: r.lease_expired === true,
        sinceSentMs: r.since_sent_ms,
        resends: r.resends,
        attempts: r.attempts,
        blockNumber: r.block_number === null ? null : Number(r.block_number),
        blockHash: r.block_hash,
      })),
      holes: holes.map((h) => ({ nonce: Number(h.nonce), ageMs: h.age_ms })),
    };
  }

  /** Applies the chain's mined count as a floor (and rewinds a released top); see hsm_sync_floor. */
  async syncFloor(chainId: number, address: string, minedCount: number): Promise<{ nextNonce: number; raised: boolean } | undefined> {
    const rows = await this.prisma.$queryRaw<{ o_next_nonce: bigint; o_raised: boolean }[]>`
SELECT o_next_nonce, o_raised FROM hsm_sync_floor(${BigInt(chainId)}, ${address}, ${BigInt(minedCount)})`;
    return rows[0] && { nextNonce: Number(rows[0].o_next_nonce), raised: rows[0].o_raised };
  }

  /**
   * The raw transaction is about to be broadcast (or was): store it with its hash before sending, so
   * every later retry re-sends the same bytes (issue 3 scope 2). Refused (false) once the lease has
   * expired and the reaper may have released the nonce; `renewLeaseMs` extends it.
   */
  async markSigned(id: string, record: { hash: string; raw: string; type?: number; fields?: Record<string, unknown> }, renewLeaseMs: number): Promise<boolean> {
    const fields = record.fields === undefined ? null : JSON.stringify(record.fields);
    const n = await this.prisma.$executeRaw`
UPDATE transactions SET status = 'signed', hash = ${record.hash}, raw = ${record.raw}, type = COALESCE(${record.type ?? null}::int, type),
  fields = COALESCE(${fields}::jsonb, fields), lease_until = now() + ${BigInt(renewLeaseMs)} * INTERVAL '1 millisecond', updated_at = now()
WHERE id = ${id}::uuid AND ((status = 'allocated' AND lease_until > now()) OR (status = 'signed' AND hash = ${record.hash}))`;
    return n === 1;
  }

  /** A broadcast of the current raw transaction (first send of a signed row, or a re-send). */
  async markSent(lease: AccountLease, id: string, hash: string, resend: boolean): Promise<boolean> {
    const n = await this.prisma.$executeRaw`
UPDATE transactions SET
  status = CASE WHEN status = 'signed' THEN 'submitted'::transaction_status ELSE status END,
  submitted_at = COALESCE(submitted_at, now()), sent_at = now(), lease_until = NULL,
  resends = resends + ${resend ? 1 : 0}, attempts = GREATEST(attempts, 1), updated_at = now()
WHERE id = ${id}::uuid AND hash = ${hash} AND status IN ('signed', 'submitted') AND ${fence(lease)}`;
    return n === 1;
  }

  /**
   * A fee-bumped replacement at the same nonce takes over: the current attempt is kept in
   * transaction_attempts (its receipt still resolves the nonce), the row gets the new bytes.
   */
  async replace(lease: AccountLease, id: string, oldHash: string, next: { hash: string; raw: string; fields: Record<string, unknown> }): Promise<boolean> {
    const rows = await this.prisma.$queryRaw<{ id: string }[]>`
WITH cur AS (
  SELECT t.id, t.hash, t.raw, t.fields FROM transactions t
  WHERE t.id = ${id}::uuid AND t.hash = ${oldHash} AND t.status = 'submitted' AND ${fence(lease)}
  FOR UPDATE
), kept AS (
  INSERT INTO transaction_attempts (transaction_id, hash, raw, fields, replaced_by)
  SELECT cur.id, cur.hash, cur.raw, cur.fields, ${next.hash} FROM cur
  ON CONFLICT (hash) DO UPDATE SET replaced_by = EXCLUDED.replaced_by
  RETURNING transaction_id
)
UPDATE transactions t SET hash = ${next.hash}, raw = ${next.raw}, fields = ${JSON.stringify(next.fields)}::jsonb,
  attempts = t.attempts + 1, resends = 0, sent_at = now(), error = NULL, updated_at = now()
FROM kept WHERE t.id = kept.transaction_id
RETURNING t.id::text AS id`;
    return rows.length === 1;
  }

  /** A receipt for one of the transaction's hashes: mined (status 1) or failed (status 0, nonce consumed). */
  async markMined(lease: AccountLease, id: string, receipt: ReceiptRecord, confirmations: number): Promise<boolean> {
    const status = receipt.status === 1 ? 'mined' : 'failed';
    const rows = await this.prisma.$queryRaw<{ id: string }[]>`
WITH cur AS (
  SELECT t.id, t.hash, t.raw, t.fields FROM transactions t
  WHERE t.id = ${id}::uuid AND t.status IN ('signed', 'submitted') AND ${fence(lease)}
  FOR UPDATE
), att AS (
  SELECT a.raw, a.fields FROM transaction_attempts a WHERE a.transaction_id = ${id}::uuid AND a.hash = ${receipt.hash}
), kept AS (
  INSERT INTO transaction_attempts (transaction_id, hash, raw, fields, replaced_by)
  SELECT cur.id, cur.hash, cur.raw, cur.fields, ${receipt.hash} FROM cur WHERE cur.hash IS DISTINCT FROM ${receipt.hash} AND cur.hash IS NOT NULL
  ON CONFLICT (hash) DO NOTHING
)
UPDATE transactions t SET status = ${status}::transaction_status, hash = ${receipt.hash},
  raw = COALESCE((SELECT att.raw FROM att), t.raw), fields = COALESCE((SELECT att.fields FROM att), t.fields),
  block_number = ${BigInt(receipt.blockNumber)}, block_hash = ${receipt.blockHash}, receipt_status = ${receipt.status},
  gas_used = ${receipt.gasUsed}, effective_gas_price = ${receipt.effectiveGasPrice === null ? null : receipt.effectiveGasPrice.toString()}::numeric,
  confirmations = ${confirmations}, mined_at = now(), error = NULL, lease_until = NULL, updated_at = now()
FROM cur WHERE t.id = cur.id
RETURNING t.id::text AS id`;
    return rows.length === 1;
  }

  /** Still in the canonical chain: count confirmations; `confirmed` once there are enough. */
  async updateConfirmations(lease: AccountLease, id: string, blockHash: string, confirmations: number, confirmed: boolean): Promise<boolean> {
    const n = await this.prisma.$executeRaw`
UPDATE transactions SET confirmations = ${confirmations},
  status = CASE WHEN ${confirmed} THEN 'confirmed'::transaction_status ELSE status END,
  confirmed_at = CASE WHEN ${confirmed} THEN now() ELSE confirmed_at END, updated_at = now()
WHERE id = ${id}::uuid AND status = 'mined' AND block_hash = ${blockHash} AND ${fence(lease)}`;
    return n === 1;
  }

  /** The block holding the receipt left the canonical chain: back to submitted (research §7.4 confirmer 3). */
  async markReorged(lease: AccountLease, id: string, blockHash: string): Promise<boolean> {
    const n = await this.prisma.$executeRaw`
UPDATE transactions SET status = 'submitted', block_number = NULL, block_hash = NULL, receipt_status = NULL, gas_used = NULL,
  effective_gas_price = NULL, confirmations = 0, mined_at = NULL, error = 'reorganised out of block ' || ${blockHash}, updated_at = now()
WHERE id = ${id}::uuid AND status = 'mined' AND block_hash = ${blockHash} AND ${fence(lease)}`;
    return n === 1;
  }

  /**
   * The chain consumed the nonce and none of our hashes has a receipt (every lookup succeeded): a
   * transaction from outside the ledger took it. Terminal `failed`; never re-sent at a new nonce.
   */
  async markSuperseded(lease: AccountLease, id: string, reason: string): Promise<boolean> {
    const n = await this.prisma.$executeRaw`
UPDATE transactions SET status = 'failed', error = ${reason}, lease_until = NULL, updated_at = now()
WHERE id = ${id}::uuid AND status IN ('signed', 'submitted') AND ${fence(lease)}`;
    return n === 1;
  }

  /** Notes why the tracker cannot act (e.g. a stuck fixed-nonce transaction it will not replace). */
  async noteError(id: string, error: string): Promise<void> {
    await this.prisma.$executeRaw`UPDATE transactions SET error = ${error.slice(0, 2000)} WHERE id = ${id}::uuid AND error IS DISTINCT FROM ${error.slice(0, 2000)}`;
  }

  /** Claims an unreused hole below waiting transactions for a gap-filling self-transfer (hsm_claim_gap). */
  async claimGap(chainId: number, address: string, nonce: number, minAgeMs: number, leaseMs: number): Promise<string | undefined> {
    const rows = await this.prisma.$queryRaw<{ o_id: string }[]>`
SELECT o_id::text AS o_id FROM hsm_claim_gap(${BigInt(chainId)}, ${address}, ${BigInt(nonce)}, ${BigInt(minAgeMs)}, ${BigInt(leaseMs)})`;
    return rows[0]?.o_id;
  }

  /** The operator view of one account: counter, floor, tracker lease, released nonces, recent transactions. */
  async accountView(chainId: number, address: string, limit: number): Promise<AccountView | undefined> {
    const chain = BigInt(chainId);
    const [acc, released, txs] = await Promise.all([
      this.prisma.$queryRaw<{ next_nonce: bigint; chain_nonce: bigint; chain_nonce_at: Date; lease_owner: string | null; lease_until: Date | null; lease_epoch: bigint }[]>`
SELECT next_nonce, chain_nonce, chain_nonce_at, lease_owner, lease_until, lease_epoch FROM nonces WHERE chain_id = ${chain} AND address = ${address}`,
      this.prisma.$queryRaw<{ nonce: bigint }[]>`SELECT nonce FROM released_nonces WHERE chain_id = ${chain} AND address = ${address} ORDER BY nonce LIMIT 1000`,
      this.prisma.$queryRaw<Record<string, unknown>[]>`
SELECT t.id::text AS "transactionId", t.nonce::int8::text AS nonce, t.status::text AS status, t.kind, t.nonce_source::text AS "nonceSource",
       coalesce(t.request_id, t.released_request_id) AS "requestId", t.hash, t.attempts, t.resends, t.error,
       t.block_number::text AS "blockNumber", t.block_hash AS "blockHash", t.receipt_status AS "receiptStatus", t.confirmations,
       t.created_at AS "createdAt", t.submitted_at AS "submittedAt", t.mined_at AS "minedAt", t.confirmed_at AS "confirmedAt",
       coalesce((SELECT json_agg(json_build_object('hash', a.hash, 'replacedBy', a.replaced_by, 'fields', a.fields) ORDER BY a.created_at)
                 FROM transaction_attempts a WHERE a.transaction_id = t.id), '[]'::json) AS "previousAttempts"
FROM transactions t WHERE t.chain_id = ${chain} AND t.from_address = ${address}
ORDER BY t.created_at DESC, t.nonce DESC LIMIT ${limit}`,
    ]);
    const a = acc[0];
    if (!a) return undefined;
    return {
      chainId,
      address,
      nextNonce: Number(a.next_nonce),
      chainNonce: Number(a.chain_nonce),
      chainNonceAt: a.chain_nonce_at.toISOString(),
      tracker: { owner: a.lease_owner, leaseUntil: a.lease_until?.toISOString() ?? null, epoch: a.lease_epoch.toString() },
      releasedNonces: released.map((r) => Number(r.nonce)),
      transactions: txs.map((t) => ({ ...t, nonce: Number(t['nonce']), blockNumber: t['blockNumber'] === null ? null : Number(t['blockNumber']) })),
    };
  }

  /** Unpublished outbox events, oldest first. */
  async pendingEvents(limit: number): Promise<{ id: string; subject: string; payload: unknown }[]> {
    return this.prisma.$queryRaw`
SELECT id::text AS id, subject, payload FROM outbox_events WHERE published_at IS NULL ORDER BY seq LIMIT ${limit}`;
  }

  async markPublished(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.prisma.$executeRaw`UPDATE outbox_events SET published_at = now(), attempts = attempts + 1 WHERE id = ANY(${ids}::uuid[])`;
  }

  /** Published events older than `olderThanMs` (JetStream holds them now). */
  async prunePublished(olderThanMs: number): Promise<number> {
    return this.prisma.$executeRaw`
DELETE FROM outbox_events WHERE published_at IS NOT NULL AND published_at < now() - ${BigInt(olderThanMs)} * INTERVAL '1 millisecond'`;
  }
}

/** The write only lands while this replica still holds the account's lease at the epoch it read. */
function fence(lease: AccountLease): Prisma.Sql {
  return Prisma.sql`EXISTS (SELECT 1 FROM nonces n WHERE n.chain_id = ${BigInt(lease.chainId)} AND n.address = ${lease.address}
  AND n.lease_owner = ${lease.owner} AND n.lease_epoch = ${lease.epoch} AND n.lease_until > now())`;
}
