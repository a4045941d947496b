import { Prisma, type PrismaClient } from './generated/prisma/client';

/**
 * The statements nonce-service's tracker runs to follow transactions after submission (issue 3,
 * research/nonce-and-lifecycle.md §7.4): account leases split the work between replicas. A round is
 * one statement that takes the leases and returns all their open work (claimWork), then one
 * statement per kind of change for all accounts together (syncFloors, markMinedMany, confirmMined)
 * and one per rarer change (reaping, re-sends, replacements, gap fills). None of them is held open
 * across an RPC or signing call: read, act outside the database, then write with a guard on the
 * state that was read (and the account lease's fencing epoch).
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

/** A mined block that holds at least one of an account's transactions not yet confirmed. */
export interface MinedBlock {
  blockNumber: number;
  blockHash: string;
}

/**
 * Everything the tracker needs about one leased account for a round, read in the same statement
 * that takes the lease (claimWork): the counter, the released nonces, the transactions not yet mined
 * (allocated, signed, submitted) and the blocks of its mined ones. Mined transactions themselves are
 * not read: their confirmations are counted in Postgres (confirmMined) once the blocks are checked.
 */
export interface AccountWork {
  lease: AccountLease;
  nextNonce: number;
  chainNonce: number;
  /** The chain floor was not read for floorSyncMs. */
  floorDue: boolean;
  /** allocated, signed and submitted, in nonce order. `raw` only for signed or stuck ones, `fields` / `type` / `firstFields` only for stuck ones. */
  transactions: OpenTransaction[];
  holes: ReleasedHole[];
  minedBlocks: MinedBlock[];
}

export interface ClaimWorkOptions {
  chainId: number;
  leaseMs: number;
  limit: number;
  floorSyncMs: number;
  /**
   * A transaction's raw bytes and fields are returned once this long has passed since its last
   * broadcast (the tracker's first use of them: a re-send of a stuck or unpooled transaction).
   */
  detailsAfterMs: number;
  /**
   * Also take accounts with no open work whose floor is due (a scan of every counter row): the
   * tracker asks for it about every floorSyncMs / 4, not every round.
   */
  includeIdle: boolean;
}

/** A receipt for one of a transaction's hashes, under the lease it was read with (markMinedMany). */
export interface MinedItem {
  lease: AccountLease;
  id: string;
  receipt: ReceiptRecord;
  confirmations: number;
}

export class LifecycleLedger {
  constructor(private readonly prisma: PrismaClient) {}

  /**
   * Takes (or renews) the tracker lease of up to `limit` accounts that have open work or whose chain
   * floor was not read for `floorSyncMs`. SKIP LOCKED: an account being allocated right now or claimed
   * by another replica is skipped this round. A new owner bumps the epoch (fencing token). Leases
   * only, over every account; the tracker's round uses claimWork.
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

  /**
   * One statement per round: takes (or renews) the lease of up to `limit` accounts of `chainId` with
   * open work (a transaction allocated, signed, submitted or mined, or a released nonce), plus, with
   * `includeIdle`, accounts whose floor is due, and returns each one's work (AccountWork). The
   * candidates come from the open rows (status index) and released_nonces, not from a scan of every
   * account: the cost follows the open work, not the number of accounts. SKIP LOCKED and the epoch
   * as in claimAccounts.
   */
  async claimWork(owner: string, o: ClaimWorkOptions): Promise<AccountWork[]> {
    const chain = BigInt(o.chainId);
    const idle = o.includeIdle
      ? Prisma.sql`UNION SELECT c.address FROM nonces c WHERE c.chain_id = ${chain} AND c.chain_nonce_at < now() - ${BigInt(o.floorSyncMs)} * INTERVAL '1 millisecond'`
      : Prisma.empty;
    const rows = await this.prisma.$queryRaw<WorkRow[]>`
WITH work AS (
  SELECT t.from_address AS address FROM transactions t WHERE t.status IN ${OPEN} AND t.chain_id = ${chain}
  UNION SELECT r.address FROM released_nonces r WHERE r.chain_id = ${chain}
  ${idle}
), cand AS (
  SELECT c.chain_id, c.address FROM nonces c JOIN work w ON w.address = c.address
  WHERE c.chain_id = ${chain} AND (c.lease_owner = ${owner} OR c.lease_until IS NULL OR c.lease_until < now())
  ORDER BY c.lease_until NULLS FIRST
  LIMIT ${o.limit}
  FOR UPDATE OF c SKIP LOCKED
), l AS (
  UPDATE nonces c SET
    lease_epoch = CASE WHEN c.lease_owner IS DISTINCT FROM ${owner} THEN c.lease_epoch + 1 ELSE c.lease_epoch END,
    lease_owner = ${owner},
    lease_until = now() + ${BigInt(o.leaseMs)} * INTERVAL '1 millisecond'
  FROM cand WHERE c.chain_id = cand.chain_id AND c.address = cand.address
  RETURNING c.chain_id, c.address, c.lease_epoch, c.next_nonce, c.chain_nonce, c.chain_nonce_at
)
${workColumns(o.floorSyncMs, o.detailsAfterMs)}`;
    return rows.map((r) => toWork(r, owner));
  }

  /** The same work for one account whose lease this replica holds (operator resync). */
  async accountWork(lease: AccountLease, floorSyncMs: number, detailsAfterMs: number): Promise<AccountWork | undefined> {
    const rows = await this.prisma.$queryRaw<WorkRow[]>`
WITH l AS (
  SELECT c.chain_id, c.address, c.lease_epoch, c.next_nonce, c.chain_nonce, c.chain_nonce_at FROM nonces c
  WHERE c.chain_id = ${BigInt(lease.chainId)} AND c.address = ${lease.address}
)
${workColumns(floorSyncMs, detailsAfterMs)}`;
    return rows[0] && { ...toWork(rows[0], lease.owner), lease };
  }

  /** hsm_sync_floor for several accounts in one statement (in address order, the lock order of one replica). */
  async syncFloors(chainId: number, floors: { address: string; minedCount: number }[]): Promise<Map<string, { nextNonce: number; raised: boolean }>> {
    const out = new Map<string, { nextNonce: number; raised: boolean }>();
    if (floors.length === 0) return out;
    const sorted = [...floors].sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
    const rows = await this.prisma.$queryRaw<{ address: string; o_next_nonce: bigint; o_raised: boolean }[]>`
SELECT u.address, f.o_next_nonce, f.o_raised
FROM unnest(${sorted.map((f) => f.address)}::text[], ${sorted.map((f) => String(f.minedCount))}::int8[]) WITH ORDINALITY AS u(address, mined, ord)
CROSS JOIN LATERAL hsm_sync_floor(${BigInt(chainId)}, u.address, u.mined) f`;
    for (const r of rows) out.set(r.address, { nextNonce: Number(r.o_next_nonce), raised: r.o_raised });
    return out;
  }

  /**
   * markMined for many transactions (any accounts, each fenced on its own lease) in one statement.
   * Returns the ids that changed.
   */
  async markMinedMany(owner: string, items: MinedItem[]): Promise<string[]> {
    if (items.length === 0) return [];
    const rows = await this.prisma.$queryRaw<{ id: string }[]>`
WITH r AS (
  SELECT * FROM unnest(${items.map((i) => i.id)}::uuid[], ${items.map((i) => String(i.lease.chainId))}::int8[], ${items.map((i) => i.lease.address)}::text[],
    ${items.map((i) => i.lease.epoch.toString())}::int8[], ${items.map((i) => i.receipt.hash)}::text[],
    ${items.map((i) => String(i.receipt.blockNumber))}::int8[], ${items.map((i) => i.receipt.blockHash)}::text[], ${items.map((i) => i.receipt.status)}::int[],
    ${items.map((i) => i.receipt.gasUsed.toString())}::numeric[], ${items.map((i) => (i.receipt.effectiveGasPrice === null ? null : i.receipt.effectiveGasPrice.toString()))}::numeric[],
    ${items.map((i) => i.confirmations)}::int[])
    AS r(id, chain_id, address, epoch, hash, block_number, block_hash, receipt_status, gas_used, effective_gas_price, confirmations)
), locked AS MATERIALIZED (
  -- By primary key only: joined on (chain_id, from_address) as well, a planner without statistics
  -- (a new database) looped over the account's open rows once per receipt (migration
  -- 20261201300000_open_row_indexes).
  SELECT t.id, t.hash, t.raw, t.fields, t.status, t.chain_id, t.from_address FROM transactions t
  WHERE t.id = ANY(${items.map((i) => i.id)}::uuid[])
  ORDER BY t.id
  FOR UPDATE OF t
), cur AS (
  SELECT t.id, t.hash, t.raw, t.fields, r.hash AS new_hash FROM locked t JOIN r ON r.id = t.id
  WHERE t.status IN ('signed', 'submitted') AND t.chain_id = r.chain_id AND t.from_address = r.address
    AND EXISTS (SELECT 1 FROM nonces n WHERE n.chain_id = t.chain_id AND n.address = t.from_address
                AND n.lease_owner = ${owner} AND n.lease_epoch = r.epoch AND n.lease_until > now())
), kept AS (
  INSERT INTO transaction_attempts (transaction_id, hash, raw, fields, replaced_by)
  SELECT cur.id, cur.hash, cur.raw, cur.fields, cur.new_hash FROM cur WHERE cur.hash IS DISTINCT FROM cur.new_hash AND cur.hash IS NOT NULL
  ON CONFLICT (hash) DO NOTHING
)
UPDATE transactions t SET status = (CASE WHEN r.receipt_status = 1 THEN 'mined' ELSE 'failed' END)::transaction_status, hash = r.hash,
  raw = COALESCE(a.raw, t.raw), fields = COALESCE(a.fields, t.fields),
  block_number = r.block_number, block_hash = r.block_hash, receipt_status = r.receipt_status,
  gas_used = r.gas_used, effective_gas_price = r.effective_gas_price,
  confirmations = r.confirmations, mined_at = now(), error = NULL, lease_until = NULL, updated_at = now()
FROM cur JOIN r ON r.id = cur.id LEFT JOIN transaction_attempts a ON a.transaction_id = cur.id AND a.hash = r.hash
WHERE t.id = cur.id
RETURNING t.id::text AS id`;
    return rows.map((r) => r.id);
  }

  /**
   * Moves the leased accounts' mined transactions that have `confirmations` blocks on top of them,
   * in a block the caller checked is canonical at `head` (`canonicalBlocks`: block hashes), to
   * confirmed, in one statement for every account. Returns how many.
   *
   * The count in between is not written on every head: rewriting each mined row once per block was
   * most of the tracker's Postgres cost (a row update is ~40 µs, measured on 2,400 rows; × the
   * confirmation depth per transaction). `confirmations` holds the count when the transaction was
   * mined and when it was confirmed; `block_number` gives the live count (head − block + 1).
   */
  async confirmMined(owner: string, leases: AccountLease[], canonicalBlocks: string[], head: number, confirmations: number): Promise<number> {
    if (leases.length === 0 || canonicalBlocks.length === 0) return 0;
    const h = BigInt(head);
    return this.prisma.$executeRaw`
WITH l AS (
  SELECT * FROM unnest(${leases.map((x) => String(x.chainId))}::int8[], ${leases.map((x) => x.address)}::text[], ${leases.map((x) => x.epoch.toString())}::int8[]) AS l(chain_id, address, epoch)
  WHERE EXISTS (SELECT 1 FROM nonces n WHERE n.chain_id = l.chain_id AND n.address = l.address
                AND n.lease_owner = ${owner} AND n.lease_epoch = l.epoch AND n.lease_until > now())
)
UPDATE transactions t SET confirmations = (${h}::int8 - t.block_number + 1)::int, status = 'confirmed', confirmed_at = now(), updated_at = now()
FROM l
WHERE t.chain_id = l.chain_id AND t.from_address = l.address AND t.status = 'mined' AND t.block_hash = ANY(${canonicalBlocks}::text[])
  AND t.block_number <= ${h}::int8 - ${confirmations}::int8 + 1`;
  }

  /** An account's mined transactions in the given blocks (a block the node no longer has at that height). */
  async minedIn(chainId: number, address: string, blockHashes: string[]): Promise<OpenTransaction[]> {
    const rows = await this.prisma.$queryRaw<TransactionRow[]>`
SELECT ${transactionColumns(Prisma.raw('true'), Prisma.raw('true'))}
FROM transactions t
WHERE t.chain_id = ${BigInt(chainId)} AND t.from_address = ${address} AND t.status = 'mined' AND t.block_hash = ANY(${blockHashes}::text[])
ORDER BY t.nonce`;
    return rows.map(toOpenTransaction);
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

  /**
   * Unpublished outbox events, oldest first; `message` is the JSON to publish (the payload with the
   * event id), serialised by Postgres so it is not parsed and re-serialised here.
   */
  async pendingEvents(limit: number): Promise<{ id: string; subject: string; message: string }[]> {
    return this.prisma.$queryRaw`
SELECT id::text AS id, subject, (jsonb_build_object('id', id) || payload)::text AS message
FROM outbox_events WHERE published_at IS NULL ORDER BY seq LIMIT ${limit}`;
  }

  /**
   * Events JetStream stored: deleted (JetStream holds them now), or with `keep` (a retention period
   * for inspection) marked published for prunePublished. A delete only marks the row version dead;
   * the update wrote a new one and a published_at index entry, then the prune deleted it anyway.
   */
  async markPublished(ids: string[], keep = false): Promise<void> {
    if (ids.length === 0) return;
    if (keep) await this.prisma.$executeRaw`UPDATE outbox_events SET published_at = now(), attempts = attempts + 1 WHERE id = ANY(${ids}::uuid[])`;
    else await this.prisma.$executeRaw`DELETE FROM outbox_events WHERE id = ANY(${ids}::uuid[])`;
  }

  /**
   * Retention: deletes up to `limit` ledger rows in a final state (confirmed, failed, replaced,
   * rejected, abandoned) last changed more than `olderThanMs` ago, with their earlier attempts; returns
   * how many. Open and mined-but-unconfirmed rows are never touched. Through the (status, updated_at)
   * index; the caller repeats while a full batch came back, so no statement holds many row locks.
   */
  async pruneFinished(olderThanMs: number, limit: number): Promise<number> {
    const rows = await this.prisma.$queryRaw<{ n: number }[]>`
WITH gone AS (
  DELETE FROM transactions WHERE id IN (
    SELECT id FROM transactions
    WHERE status IN ('confirmed', 'failed', 'replaced', 'rejected', 'abandoned')
      AND updated_at < now() - ${BigInt(olderThanMs)} * INTERVAL '1 millisecond'
    LIMIT ${limit})
  RETURNING id
), attempts AS (
  DELETE FROM transaction_attempts a USING gone WHERE a.transaction_id = gone.id
)
SELECT count(*)::int AS n FROM gone`;
    return rows[0]?.n ?? 0;
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

/** Milliseconds since the current raw transaction was last broadcast (or allocated). */
const SINCE_SENT_MS = Prisma.sql`(EXTRACT(EPOCH FROM now() - coalesce(t.sent_at, t.submitted_at, t.created_at)) * 1000)::float8`;

/** One ledger row as the tracker reads it; `raw` and the replacement fields only when asked for. */
function transactionColumns(withRaw: Prisma.Sql, withDetails: Prisma.Sql): Prisma.Sql {
  return Prisma.sql`t.id::text AS id, t.nonce, t.status::text AS status, t.kind, t.nonce_source::text AS nonce_source, t.hash,
  CASE WHEN ${withRaw} THEN t.raw END AS raw,
  CASE WHEN ${withDetails} THEN t.type END AS type,
  CASE WHEN ${withDetails} THEN t.fields END AS fields,
  (SELECT array_agg(a.hash::text) FROM transaction_attempts a WHERE a.transaction_id = t.id) AS previous,
  CASE WHEN ${withDetails} THEN (SELECT a.fields FROM transaction_attempts a WHERE a.transaction_id = t.id ORDER BY a.created_at LIMIT 1) END AS first_fields,
  t.lease_until < now() AS lease_expired, ${SINCE_SENT_MS} AS since_sent_ms,
  t.resends, t.attempts, t.block_number, t.block_hash`;
}

/**
 * The work of each account in CTE `l` (chain_id, address, lease_epoch, next_nonce, chain_nonce,
 * chain_nonce_at): its transactions not yet mined (raw only for signed ones and those sent detailsAfterMs ago), its released
 * nonces, and the distinct blocks of its mined transactions, as JSON per account.
 */
function workColumns(floorSyncMs: number, detailsAfterMs: number): Prisma.Sql {
  const stuck = Prisma.sql`${SINCE_SENT_MS} >= ${detailsAfterMs}`;
  return Prisma.sql`SELECT l.chain_id, l.address, l.lease_epoch, l.next_nonce, l.chain_nonce,
  l.chain_nonce_at < now() - ${BigInt(floorSyncMs)} * INTERVAL '1 millisecond' AS floor_due,
  (SELECT json_agg(x ORDER BY x.nonce) FROM (
     SELECT ${transactionColumns(Prisma.sql`t.status = 'signed' OR ${stuck}`, stuck)}
     FROM transactions t WHERE t.chain_id = l.chain_id AND t.from_address = l.address AND t.status IN ('allocated', 'signed', 'submitted')) x) AS txs,
  (SELECT json_agg(json_build_object('nonce', r.nonce, 'age_ms', (EXTRACT(EPOCH FROM now() - r.released_at) * 1000)::float8) ORDER BY r.nonce)
     FROM released_nonces r WHERE r.chain_id = l.chain_id AND r.address = l.address) AS holes,
  (SELECT json_agg(json_build_object('block_number', b.block_number, 'block_hash', b.block_hash)) FROM (
     SELECT DISTINCT t.block_number, t.block_hash FROM transactions t
     WHERE t.chain_id = l.chain_id AND t.from_address = l.address AND t.status = 'mined') b) AS mined_blocks
FROM l`;
}

/** A transaction row, from $queryRaw (bigint) or from json_agg (number). */
interface TransactionRow {
  id: string;
  nonce: bigint | number;
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
  block_number: bigint | number | null;
  block_hash: string | null;
}

interface WorkRow {
  chain_id: bigint;
  address: string;
  lease_epoch: bigint;
  next_nonce: bigint;
  chain_nonce: bigint;
  floor_due: boolean;
  txs: TransactionRow[] | null;
  holes: { nonce: number; age_ms: number }[] | null;
  mined_blocks: { block_number: number; block_hash: string }[] | null;
}

function toOpenTransaction(r: TransactionRow): OpenTransaction {
  return {
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
  };
}

function toWork(r: WorkRow, owner: string): AccountWork {
  return {
    lease: { chainId: Number(r.chain_id), address: r.address, owner, epoch: r.lease_epoch },
    nextNonce: Number(r.next_nonce),
    chainNonce: Number(r.chain_nonce),
    floorDue: r.floor_due,
    transactions: (r.txs ?? []).map(toOpenTransaction),
    holes: (r.holes ?? []).map((h) => ({ nonce: Number(h.nonce), ageMs: h.age_ms })),
    minedBlocks: (r.mined_blocks ?? []).map((b) => ({ blockNumber: Number(b.block_number), blockHash: b.block_hash })),
  };
}
