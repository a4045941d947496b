import type { Pool, QueryResultRow } from 'pg';

/**
 * The nonce ledger's SQL: per-(chain, sender) allocation and outcome recording. Every operation is
 * ONE statement (one round trip, one implicit transaction): no interactive transaction on the hot
 * path (shared/services.md, research/nonce-and-lifecycle.md §7.3, §7.5).
 *
 * Allocation calls the PL/pgSQL functions of migrations 20261124010000_allocation_functions and
 * 20261201100000_allocate_nonces_many: they lock the accounts' counter rows first, then (with a fresh
 * snapshot) take the lowest released nonces and bump the counter for the rest, and insert the ledger
 * rows. A nonce from the counter is
 * always ≥ next_nonce while a released one is always below it, and every consumer of either holds
 * the row lock. The unique index on (chain_id, from_address, live_nonce) is the last line of
 * defence: a duplicate aborts the whole call, counter included.
 *
 * These statements run on a plain node-postgres pool, not on Prisma (the project's rule for data):
 * they are the measured exception. The same parameterised SELECT costs ~541 µs of client CPU through
 * Prisma 7 `$queryRaw` (adapter-pg) and ~153 µs through `pool.query` (issue 3's benchmark), and
 * every send runs at least two of them (allocate, submitted). Each is a named prepared statement:
 * Postgres parses and plans it once per connection. The pool is the one Prisma also uses
 * (createDatabase), so the replica's connection count is unchanged. node-postgres returns BIGINT as
 * a string and UUID as text: rows are typed so and converted here, exactly (BigInt, not floats).
 */

export interface AllocationSlot {
  /** Client idempotency key. Unique within one batch (the caller de-duplicates). */
  requestId?: string;
  /** Hash of the client's payload under that key; a different payload under the same key is refused by the caller. */
  payloadHash?: string;
}

export interface AllocatedSlot {
  kind: 'allocated';
  transactionId: string;
  nonce: number;
}

/** The request id was already in the ledger: its first transaction, nothing allocated. */
export interface ExistingSlot {
  kind: 'existing';
  transactionId: string;
  nonce: number;
  chainId: number;
  address: string;
  status: string;
  hash: string | null;
  payloadHash: string | null;
}

export type SlotResult = AllocatedSlot | ExistingSlot;

export type BatchAllocation =
  /** No counter row yet: the caller reads the node's pending count, calls initAccount, retries. */
  | { kind: 'unknown-account' }
  /** One result per slot, in slot order. */
  | { kind: 'ok'; slots: SlotResult[] };

/** One slot of {@link NonceLedger.allocateMany}: an allocation for (chainId, address). */
export interface AccountSlot {
  chainId: number;
  address: string;
  slot: AllocationSlot;
}

/** The account has no counter row yet: the caller reads the node's pending count, calls initAccount, retries. */
export interface UnknownAccount {
  kind: 'unknown-account';
}

/** allocateMany's answer for one slot. */
export type AccountSlotResult = SlotResult | UnknownAccount;

export type FixedAllocation =
  | { kind: 'unknown-account' }
  | AllocatedSlot
  | ExistingSlot
  /** A live transaction already holds that nonce. */
  | { kind: 'nonce-in-use'; transactionId: string; nonce: number }
  /** The fixed nonce lies further above the counter than allowed (it would open that many holes). */
  | { kind: 'too-far-ahead'; nextNonce: number };

export type OutcomeResult =
  | { kind: 'ok'; chainId: number; address: string; nonce: number }
  | { kind: 'not-found' }
  /** The transaction is in a state the outcome cannot follow (e.g. submitted after its nonce was released). */
  | { kind: 'conflict'; status: string; reason: string };

export type ReleaseResult =
  /** `reusable`: the nonce went back for reuse (false when it lies below the chain's count). */
  | { kind: 'ok'; chainId: number; address: string; nonce: number; reusable: boolean }
  | { kind: 'not-found' }
  | { kind: 'conflict'; status: string; reason: string };

export interface SubmittedRecord {
  hash: string;
  raw?: string;
  type?: number;
  fields?: Record<string, unknown>;
  /** Nonce and chain id decoded from `raw`: the statement refuses a raw transaction for another slot. */
  rawNonce?: number;
  rawChainId?: number;
}

/** The error the tracker's reaper records on a nonce whose lease expired (a late `submitted` revives it). */
export const LEASE_EXPIRED_ERROR = 'nonce lease expired before the transaction was submitted';

export interface NonceLedgerOptions {
  /** How long an allocated, unsubmitted nonce belongs to its caller before it counts as a hole (issue 3). */
  leaseMs: number;
  /** Attempts of a statement that hit a unique violation from a concurrent duplicate (default 3). */
  maxAttempts?: number;
}

/** The allocation functions' result columns (migration 20261124010000_allocation_functions). */
const OUT_COLUMNS =
  'o_ord AS ord, o_kind AS kind, o_id::text AS id, o_nonce AS nonce, o_hash AS hash, o_status AS status, o_payload_hash AS payload_hash, o_chain_id AS chain_id, o_from_address AS from_address';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A named prepared statement: node-postgres sends Parse once per connection, then only Bind/Execute. */
interface Statement {
  name: string;
  text: string;
}

/*
 * Statement names carry a version: a changed text under the same name would be refused by a
 * connection that already prepared the old one. Prepared statements need a session (a direct
 * connection or a session-mode pooler), like the migrator's advisory lock.
 */
const SQL = {
  allocate: {
    name: 'hsm_nl_allocate_v1',
    text: `SELECT ${OUT_COLUMNS} FROM hsm_allocate_nonces($1::bigint, $2::text, $3::text[], $4::text[], $5::bigint)`,
  },
  // One slot per array index, any accounts (migration 20261201100000_allocate_nonces_many).
  allocateMany: {
    name: 'hsm_nl_allocate_many_v1',
    text: `SELECT ${OUT_COLUMNS} FROM hsm_allocate_nonces_many($1::bigint[], $2::text[], $3::text[], $4::text[], $5::bigint)`,
  },
  allocateFixed: {
    name: 'hsm_nl_allocate_fixed_v1',
    text: `SELECT ${OUT_COLUMNS} FROM hsm_allocate_fixed_nonce($1::bigint, $2::text, $3::bigint, $4::text, $5::text, $6::bigint, $7::bigint)`,
  },
  initAccount: {
    name: 'hsm_nl_init_account_v1',
    text: `
INSERT INTO nonces (chain_id, address, next_nonce, chain_nonce, chain_nonce_at)
SELECT $1::bigint, $2::text,
       GREATEST($3::bigint, COALESCE((SELECT max(t.live_nonce) + 1 FROM transactions t WHERE t.chain_id = $1::bigint AND t.from_address = $2::text), 0)),
       $3::bigint, now()
ON CONFLICT (chain_id, address) DO NOTHING`,
  },
  // $1 id, $2 hash, $3 raw, $4 type, $5 fields (json text), $6 nonce decoded from raw, $7 chain id decoded from raw.
  markSubmitted: {
    name: 'hsm_nl_mark_submitted_v1',
    text: `
UPDATE transactions SET
  status = 'submitted'::transaction_status,
  attempts = attempts + CASE WHEN hash IS DISTINCT FROM $2::text THEN 1 ELSE 0 END,
  hash = $2::text,
  raw = COALESCE($3::text, raw),
  type = COALESCE($4::int, type),
  fields = COALESCE($5::jsonb, fields),
  error = NULL,
  lease_until = NULL,
  submitted_at = COALESCE(submitted_at, now()),
  updated_at = now()
WHERE id = $1::uuid
  AND status IN ('allocated', 'signed', 'submitted')
  AND ($6::bigint IS NULL OR nonce = $6::bigint)
  AND ($7::bigint IS NULL OR chain_id = $7::bigint)
RETURNING chain_id, from_address, nonce`,
  },
  // markSubmitted for many transactions: the same SET and the same conditions, one row of u per id.
  markSubmittedMany: {
    name: 'hsm_nl_mark_submitted_many_v1',
    text: `
UPDATE transactions t SET
  status = 'submitted'::transaction_status,
  attempts = t.attempts + CASE WHEN t.hash IS DISTINCT FROM u.hash THEN 1 ELSE 0 END,
  hash = u.hash,
  raw = COALESCE(u.raw, t.raw),
  type = COALESCE(u.type, t.type),
  fields = COALESCE(u.fields::jsonb, t.fields),
  error = NULL,
  lease_until = NULL,
  submitted_at = COALESCE(t.submitted_at, now()),
  updated_at = now()
FROM unnest($1::uuid[], $2::text[], $3::text[], $4::int[], $5::text[], $6::bigint[], $7::bigint[]) AS u(id, hash, raw, type, fields, raw_nonce, raw_chain_id)
WHERE t.id = u.id
  AND t.status IN ('allocated', 'signed', 'submitted')
  AND (u.raw_nonce IS NULL OR t.nonce = u.raw_nonce)
  AND (u.raw_chain_id IS NULL OR t.chain_id = u.raw_chain_id)
RETURNING t.id::text AS id, t.chain_id, t.from_address, t.nonce`,
  },
  revive: {
    name: 'hsm_nl_revive_v1',
    text: `SELECT o_chain_id AS chain_id, o_from_address AS from_address, o_nonce AS nonce
FROM hsm_revive_submitted($1::uuid, $2::text, $3::text, $4::int, $5::jsonb, $6::text)`,
  },
  release: {
    name: 'hsm_nl_release_v1',
    text: `SELECT o_chain_id AS chain_id, o_from_address AS from_address, o_nonce AS nonce, o_reusable AS reusable
FROM hsm_release_nonce($1::uuid, $2::transaction_status, $3::text, $4::bigint)`,
  },
  current: {
    name: 'hsm_nl_current_v1',
    text: `SELECT status::text AS status, chain_id, from_address, nonce, hash FROM transactions WHERE id = $1::uuid`,
  },
  dropReleasedLiveNonces: {
    name: 'hsm_nl_drop_released_live_v1',
    text: `
DELETE FROM released_nonces r USING transactions t
WHERE r.chain_id = $1::bigint AND r.address = $2::text
  AND t.chain_id = r.chain_id AND t.from_address = r.address AND t.live_nonce = r.nonce`,
  },
} satisfies Record<string, Statement>;

export class NonceLedgerError extends Error {
  override readonly name = 'NonceLedgerError';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/** BIGINT columns as node-postgres returns them (text, parsed with BigInt). */
type Int8 = string;

interface AllocRow {
  ord: number;
  kind: 'allocated' | 'existing' | 'no-account' | 'nonce-in-use' | 'too-far-ahead';
  id: string | null;
  nonce: Int8 | null;
  hash: string | null;
  status: string | null;
  payload_hash: string | null;
  chain_id: Int8 | null;
  from_address: string | null;
}

interface SlotRow {
  chain_id: Int8;
  from_address: string;
  nonce: Int8;
}

interface CurrentRow extends SlotRow {
  status: string;
  hash: string | null;
}

/** One submitted record of a batch (markSubmittedMany). */
export interface SubmittedItem {
  transactionId: string;
  record: SubmittedRecord;
}

export class NonceLedger {
  private readonly maxAttempts: number;

  /** `pool`: node-postgres pool (createDatabase's, shared with Prisma). */
  constructor(
    private readonly pool: Pool,
    private readonly options: NonceLedgerOptions,
  ) {
    this.maxAttempts = options.maxAttempts ?? 3;
  }

  /**
   * Allocates one nonce per slot for (chainId, address) in a single statement: lowest released
   * nonces first, then the counter; slots whose request id is already in the ledger get their first
   * transaction back and consume nothing.
   */
  async allocateBatch(chainId: number, address: string, slots: AllocationSlot[], attempt = 1): Promise<BatchAllocation> {
    if (slots.length === 0) return { kind: 'ok', slots: [] };
    const requestIds = slots.map((s) => s.requestId ?? null);
    const payloadHashes = slots.map((s) => s.payloadHash ?? null);
    const rows = await this.withRetry(chainId, address, () => this.query<AllocRow>(SQL.allocate, [chainId, address, requestIds, payloadHashes, this.options.leaseMs]));
    if (rows.some((r) => r.kind === 'no-account')) return { kind: 'unknown-account' };
    const out: (SlotResult | undefined)[] = new Array(slots.length);
    const again: number[] = [];
    for (const row of rows) {
      // A request id found at the start of the call whose transaction was released a moment later:
      // its nonce is no longer its own, so ask again for that slot (the id is free now and gets a new
      // allocation). The other slots keep what this call gave them.
      if (isReleasedExisting(row)) again.push(row.ord - 1);
      else out[row.ord - 1] = toSlot(row);
    }
    if (again.length) {
      if (attempt >= this.maxAttempts) throw new NonceLedgerError('request ids kept being released while they were allocated; giving up');
      const retried = await this.allocateBatch(
        chainId,
        address,
        again.map((i) => slots[i]),
        attempt + 1,
      );
      if (retried.kind === 'unknown-account') return retried;
      again.forEach((i, k) => (out[i] = retried.slots[k]));
    }
    return { kind: 'ok', slots: complete(out, 'allocation statement') };
  }

  /**
   * {@link allocateBatch} for slots of any accounts in ONE statement (hsm_allocate_nonces_many): per
   * account the same nonces, in the same slot order, as one allocateBatch call for that account's
   * slots would hand out. One result per item, in input order: a SlotResult, or `unknown-account`
   * for the items of an account without a counter row (the other accounts are allocated anyway).
   * Request ids must be unique within the call (the caller de-duplicates), as for allocateBatch.
   *
   * The function locks the accounts' counter rows in (chain id, address) order, so concurrent calls
   * over overlapping accounts never deadlock one another. Should Postgres still abort the call — a
   * unique violation (a concurrent first use of a request id) or a deadlock with some other
   * multi-row statement — it changed nothing, and every account then takes the per-account path
   * (allocateBatch with its retries), so each item ends as it would have there. A call whose items
   * are all for one account is allocateBatch itself (the cheaper plan for one account).
   */
  async allocateMany(items: AccountSlot[], attempt = 1): Promise<AccountSlotResult[]> {
    if (items.length === 0) return [];
    const first = items[0];
    if (items.every((item) => item.chainId === first.chainId && item.address === first.address)) {
      const batch = await this.allocateBatch(
        first.chainId,
        first.address,
        items.map((item) => item.slot),
        attempt,
      );
      return batch.kind === 'ok' ? batch.slots : items.map(() => ({ kind: 'unknown-account' }));
    }
    let rows: AllocRow[];
    try {
      rows = await this.query<AllocRow>(SQL.allocateMany, [
        items.map((item) => item.chainId),
        items.map((item) => item.address),
        items.map((item) => item.slot.requestId ?? null),
        items.map((item) => item.slot.payloadHash ?? null),
        this.options.leaseMs,
      ]);
    } catch (error) {
      if (!uniqueViolation(error) && pgCode(error) !== '40P01') throw error;
      return this.allocatePerAccount(items);
    }
    const out: (AccountSlotResult | undefined)[] = new Array(items.length);
    const again: number[] = [];
    for (const row of rows) {
      const i = row.ord - 1;
      if (row.kind === 'no-account') out[i] = { kind: 'unknown-account' };
      // Released between the lookup and now (see allocateBatch): that item asks again.
      else if (isReleasedExisting(row)) again.push(i);
      else out[i] = toSlot(row);
    }
    if (again.length) {
      if (attempt >= this.maxAttempts) throw new NonceLedgerError('request ids kept being released while they were allocated; giving up');
      const retried = await this.allocateMany(
        again.map((i) => items[i]),
        attempt + 1,
      );
      again.forEach((i, k) => (out[i] = retried[k]));
    }
    return complete(out, 'many-account allocation statement');
  }

  /** allocateMany's fallback: one allocateBatch per account (accounts in parallel), results in input order. */
  private async allocatePerAccount(items: AccountSlot[]): Promise<AccountSlotResult[]> {
    const byAccount = new Map<string, number[]>();
    items.forEach((item, i) => {
      const key = `${item.chainId}:${item.address}`;
      byAccount.set(key, [...(byAccount.get(key) ?? []), i]);
    });
    const out: (AccountSlotResult | undefined)[] = new Array(items.length);
    await Promise.all(
      [...byAccount.values()].map(async (indexes) => {
        const { chainId, address } = items[indexes[0]];
        const batch = await this.allocateBatch(
          chainId,
          address,
          indexes.map((i) => items[i].slot),
        );
        indexes.forEach((i, k) => (out[i] = batch.kind === 'ok' ? batch.slots[k] : { kind: 'unknown-account' }));
      }),
    );
    return complete(out, 'per-account allocation');
  }

  /**
   * Records a transaction at a nonce the client chose. The counter moves past it; nonces it skips
   * become released nonces (reused first), so a fixed nonce leaves no gap behind.
   */
  async allocateFixed(chainId: number, address: string, nonce: number, slot: AllocationSlot, maxGap: number): Promise<FixedAllocation> {
    const rows = await this.withRetry(chainId, address, () =>
      this.query<AllocRow>(SQL.allocateFixed, [chainId, address, nonce, slot.requestId ?? null, slot.payloadHash ?? null, this.options.leaseMs, maxGap]),
    );
    const row = rows[0];
    if (!row) throw new NonceLedgerError('fixed-nonce statement returned no row');
    switch (row.kind) {
      case 'no-account':
        return { kind: 'unknown-account' };
      case 'nonce-in-use':
        return { kind: 'nonce-in-use', transactionId: String(row.id), nonce };
      case 'too-far-ahead':
        return { kind: 'too-far-ahead', nextNonce: int(row.nonce) };
      default:
        return toSlot(row);
    }
  }

  /**
   * Creates the counter row the first time an account is seen, starting at the node's count (a
   * floor) or past the highest nonce the ledger already holds, whichever is higher. A concurrent
   * first allocation from another replica wins the race harmlessly (ON CONFLICT DO NOTHING).
   */
  async initAccount(chainId: number, address: string, chainNonce: number): Promise<void> {
    await this.query(SQL.initAccount, [chainId, address, chainNonce]);
  }

  /** The node accepted the transaction (or already knew it). Idempotent for the same hash. */
  async markSubmitted(transactionId: string, record: SubmittedRecord): Promise<OutcomeResult> {
    if (!UUID.test(transactionId)) return { kind: 'not-found' };
    const fields = fieldsJson(record);
    const rows = await this.query<SlotRow>(SQL.markSubmitted, [
      transactionId,
      record.hash,
      record.raw ?? null,
      record.type ?? null,
      fields,
      record.rawNonce ?? null,
      record.rawChainId ?? null,
    ]);
    if (rows[0]) return okOutcome(rows[0]);
    let current = await this.current(transactionId);
    if (!current) return { kind: 'not-found' };
    // Reaped while its gateway could not report (NATS/Postgres down, a stall), yet it was sent: take
    // it back when its nonce is still free (migration 20261124060000_revive_reaped).
    if (
      current.status === 'abandoned' &&
      (record.rawNonce === undefined || BigInt(record.rawNonce) === BigInt(current.nonce)) &&
      (record.rawChainId === undefined || BigInt(record.rawChainId) === BigInt(current.chain_id))
    ) {
      const revived = await this.query<SlotRow>(SQL.revive, [transactionId, record.hash, record.raw ?? null, record.type ?? null, fields, LEASE_EXPIRED_ERROR]);
      if (revived[0]) return okOutcome(revived[0]);
      current = (await this.current(transactionId)) ?? current;
    }
    if (['mined', 'confirmed', 'failed'].includes(current.status)) return okOutcome(current);
    if (record.rawNonce !== undefined && BigInt(record.rawNonce) !== BigInt(current.nonce)) {
      return { kind: 'conflict', status: current.status, reason: `the raw transaction has nonce ${record.rawNonce}, the ledger allocated ${current.nonce}` };
    }
    if (record.rawChainId !== undefined && BigInt(record.rawChainId) !== BigInt(current.chain_id)) {
      return { kind: 'conflict', status: current.status, reason: `the raw transaction is for chain ${record.rawChainId}, the ledger allocated on chain ${current.chain_id}` };
    }
    return { kind: 'conflict', status: current.status, reason: `transaction is ${current.status}; its nonce may already be reused` };
  }

  /**
   * markSubmitted for a batch, in ONE statement for every record the plain update applies to (the
   * common case: a transaction in allocated / signed / submitted whose raw matches its slot). Each
   * record the bulk statement did not update (unknown, reaped, already mined, a raw for another
   * slot) then goes through markSubmitted itself, so every item ends exactly as markSubmitted would
   * have ended it. One result per item, in input order.
   *
   * The same transaction twice: the first record is applied; a later identical record gets the same
   * result without a second write, a later different one is applied after it, in input order (as
   * consecutive markSubmitted calls would). The ids go to the statement sorted, so on a table large
   * enough for the primary-key nested loop, overlapping batches lock their rows in one order; a
   * deadlock victim changed nothing and is retried per item. A batch of one transaction is
   * markSubmitted itself.
   */
  async markSubmittedMany(items: SubmittedItem[]): Promise<OutcomeResult[]> {
    const results: (OutcomeResult | undefined)[] = new Array(items.length);
    /** First item index per (lower-case) id: the one the bulk statement applies. */
    const first = new Map<string, number>();
    /** Later items of an id whose record differs from the first one's: applied one by one afterwards. */
    const later: number[] = [];
    /** Later items of an id with the first one's record: they share its result. */
    const sameAs = new Map<number, number>();
    items.forEach((item, i) => {
      if (!UUID.test(item.transactionId)) {
        results[i] = { kind: 'not-found' };
        return;
      }
      const id = item.transactionId.toLowerCase();
      const f = first.get(id);
      if (f === undefined) first.set(id, i);
      else if (recordKey(items[f].record) === recordKey(item.record)) sameAs.set(i, f);
      else later.push(i);
    });

    const batch = [...first].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    if (batch.length === 1) {
      // One transaction: the single-row statement is the cheaper plan for the same result (bench/ledger-sql.ts).
      const [[, i]] = batch;
      results[i] = await this.markSubmitted(items[i].transactionId, items[i].record);
    } else if (batch.length > 1) {
      const ids = batch.map(([id]) => id);
      const records = batch.map(([, i]) => items[i].record);
      let rows: (SlotRow & { id: string })[] = [];
      try {
        rows = await this.query<SlotRow & { id: string }>(SQL.markSubmittedMany, [
          ids,
          records.map((r) => r.hash),
          records.map((r) => r.raw ?? null),
          records.map((r) => r.type ?? null),
          records.map(fieldsJson),
          records.map((r) => r.rawNonce ?? null),
          records.map((r) => r.rawChainId ?? null),
        ]);
      } catch (error) {
        // A deadlock with another multi-row statement aborted ours (it changed nothing): every item
        // then takes the single-row path below. Anything else (Postgres down) is the caller's.
        if (pgCode(error) !== '40P01') throw error;
      }
      for (const row of rows) {
        const i = first.get(row.id);
        if (i !== undefined) results[i] = okOutcome(row);
      }
    }
    // Not updated by the bulk statement: markSubmitted decides (revival, already mined, conflict, not found).
    // Distinct ids in parallel; one id's items stay in input order.
    const single = new Map<string, number[]>();
    for (const [id, i] of first) if (!results[i]) single.set(id, [i]);
    for (const i of later) {
      const id = items[i].transactionId.toLowerCase();
      single.set(id, [...(single.get(id) ?? []), i]);
    }
    await Promise.all(
      [...single.values()].map(async (indexes) => {
        for (const i of indexes) results[i] = await this.markSubmitted(items[i].transactionId, items[i].record);
      }),
    );
    for (const [i, f] of sameAs) results[i] = results[f];
    return results.map((r, i) => {
      if (!r) throw new NonceLedgerError(`no submitted result for item ${i} of ${items.length}`);
      return r;
    });
  }

  /**
   * Nothing of this transaction reached the chain (`rejected` by the node, or `abandoned` before
   * sending): its nonce goes back to the account's released nonces, taken first by the next
   * allocation, so no gap remains. Its request id is freed so the client can retry under it. With
   * `chainCount` (the node's mined transaction count for the sender) the chain is applied as a floor
   * first, and a nonce below it (consumed outside the system) is not handed out again.
   */
  async release(transactionId: string, outcome: 'rejected' | 'abandoned', error?: string, chainCount?: number): Promise<ReleaseResult> {
    if (!UUID.test(transactionId)) return { kind: 'not-found' };
    const rows = await this.query<SlotRow & { reusable: boolean }>(SQL.release, [transactionId, outcome, error ?? null, chainCount ?? null]);
    const row = rows[0];
    if (row) return { kind: 'ok', chainId: int(row.chain_id), address: row.from_address, nonce: int(row.nonce), reusable: row.reusable };
    const current = await this.current(transactionId);
    if (!current) return { kind: 'not-found' };
    if (current.status === outcome) return { kind: 'ok', chainId: int(current.chain_id), address: current.from_address, nonce: int(current.nonce), reusable: false };
    return { kind: 'conflict', status: current.status, reason: `transaction is already ${current.status}; it cannot become ${outcome}` };
  }

  /** Sender, nonce and status of one ledger transaction (undefined when unknown). */
  async find(transactionId: string): Promise<{ chainId: number; address: string; nonce: number; status: string; hash: string | null } | undefined> {
    if (!UUID.test(transactionId)) return undefined;
    const row = await this.current(transactionId);
    return row && { chainId: int(row.chain_id), address: row.from_address, nonce: int(row.nonce), status: row.status, hash: row.hash };
  }

  private async current(transactionId: string): Promise<CurrentRow | undefined> {
    return (await this.query<CurrentRow>(SQL.current, [transactionId]))[0];
  }

  private async query<R extends QueryResultRow>(statement: Statement, values: unknown[]): Promise<R[]> {
    return (await this.pool.query<R>({ name: statement.name, text: statement.text, values })).rows;
  }

  /**
   * A unique violation means a concurrent statement inserted the same request id (retry: the id is
   * then found) or, should the ledger ever be inconsistent, a released nonce that a live transaction
   * holds (drop such released rows, then retry). The aborted statement changed nothing.
   */
  private async withRetry<T>(chainId: number, address: string, run: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await run();
      } catch (error) {
        const violation = uniqueViolation(error);
        if (!violation || attempt >= this.maxAttempts) throw error;
        if (violation.includes('live_nonce')) await this.query(SQL.dropReleasedLiveNonces, [chainId, address]);
      }
    }
  }
}

/** An 'existing' row whose transaction was released after the request id was looked up. */
function isReleasedExisting(row: AllocRow): boolean {
  return row.kind === 'existing' && (row.status === 'rejected' || row.status === 'abandoned');
}

/** Every slot has its result (the statements return exactly one per slot). */
function complete<T>(results: (T | undefined)[], what: string): T[] {
  return Array.from(results, (r, i) => {
    if (r === undefined) throw new NonceLedgerError(`${what} returned no result for slot ${i + 1} of ${results.length}`);
    return r;
  });
}

function toSlot(row: AllocRow): SlotResult {
  if (row.kind === 'allocated') return { kind: 'allocated', transactionId: String(row.id), nonce: int(row.nonce) };
  return {
    kind: 'existing',
    transactionId: String(row.id),
    nonce: int(row.nonce),
    chainId: int(row.chain_id),
    address: String(row.from_address),
    status: String(row.status),
    hash: row.hash,
    payloadHash: row.payload_hash,
  };
}

function okOutcome(row: SlotRow): OutcomeResult {
  return { kind: 'ok', chainId: int(row.chain_id), address: row.from_address, nonce: int(row.nonce) };
}

/**
 * A BIGINT from node-postgres (text) as the number the ledger's API speaks. Nonces and chain ids
 * are far below 2^53, where Number is exact; anything above is refused rather than rounded.
 */
function int(value: Int8 | null): number {
  if (value === null) throw new NonceLedgerError('the statement returned no value where an integer was expected');
  const big = BigInt(value);
  if (big > BigInt(Number.MAX_SAFE_INTEGER) || big < -BigInt(Number.MAX_SAFE_INTEGER)) throw new NonceLedgerError(`integer ${big} is beyond the exact range of a JavaScript number`);
  return Number(big);
}

function fieldsJson(record: SubmittedRecord): string | null {
  return record.fields === undefined ? null : JSON.stringify(record.fields);
}

/** Two records that would write the same thing (duplicates in one markSubmittedMany batch). */
function recordKey(r: SubmittedRecord): string {
  return JSON.stringify([r.hash, r.raw ?? null, r.type ?? null, fieldsJson(r), r.rawNonce ?? null, r.rawChainId ?? null]);
}

/** The SQLSTATE of a node-postgres error. */
function pgCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** The violated constraint's name (or a marker) when `error` is a Postgres unique violation (23505). */
export function uniqueViolation(error: unknown): string | undefined {
  const seen = new Set<unknown>();
  let e: unknown = error;
  while (e && typeof e === 'object' && !seen.has(e)) {
    seen.add(e);
    const o = e as { code?: unknown; message?: unknown; meta?: Record<string, unknown>; cause?: unknown; constraint?: unknown };
    const text = `${String(o.message ?? '')} ${JSON.stringify(o.meta ?? {})}`;
    if (o.code === '23505' || o.code === 'P2002' || /23505|unique constraint/i.test(text)) {
      // node-postgres names the constraint in its own field.
      if (typeof o.constraint === 'string' && o.constraint) return o.constraint;
      const m = /(transactions_[a-z_]+_key|released_nonces_pkey|nonces_pkey)/.exec(text + String(o.constraint ?? ''));
      return m ? m[1] : 'unique';
    }
    e = o.cause;
  }
  return undefined;
}
