import type { PrismaClient } from './generated/prisma/client';

/** One key as a healthy backend listed it. */
export interface ListedKey {
  address: string;
  backendId: string;
  keyId: string;
  label?: string;
  /** Transaction types the backend can sign (its declared capabilities). */
  transactionTypes?: (0 | 1 | 2)[];
}

export interface RegistrySync {
  /** Keys listed by healthy backends (one entry per address). */
  listed: ListedKey[];
  /** Backends that answered unhealthy: their known keys become `stale` and stay usable in lists. */
  unhealthyBackends: string[];
}

export interface RegistryChange {
  /** Addresses that joined the visible set (active or stale) in this sync. */
  added: string[];
  /** Addresses that left it (now inactive). */
  removed: string[];
  /** Addresses that turned stale in this sync (still visible). */
  staled: string[];
}

export interface RegistryAccount {
  address: string;
  backendId: string;
  keyId: string;
  status: 'active' | 'stale' | 'inactive';
  /** Absent when unknown (never listed since the column was added). */
  transactionTypes?: (0 | 1 | 2)[];
}

/**
 * key-discovery's account table. A sync is one statement: upsert what healthy backends list, mark
 * the keys of unhealthy backends stale, and every other visible key inactive. It is idempotent, so
 * replicas polling at once are safe; the change it reports is computed against the statement's own
 * snapshot (two replicas may both report the same change, which is acceptable for the event).
 */
export class AccountRegistry {
  constructor(private readonly prisma: PrismaClient) {}

  async sync({ listed, unhealthyBackends }: RegistrySync): Promise<RegistryChange> {
    const addresses = listed.map((k) => k.address.toLowerCase());
    const rows = await this.prisma.$queryRaw<{ kind: 'added' | 'removed' | 'staled'; address: string }[]>`
WITH
listed AS (
  SELECT l.address, l.backend_id, l.key_id, l.label, string_to_array(l.types, ',')::smallint[] AS transaction_types
  FROM unnest(${addresses}::text[], ${listed.map((k) => k.backendId)}::text[], ${listed.map((k) => k.keyId)}::text[], ${listed.map((k) => k.label ?? null)}::text[],
              ${listed.map((k) => k.transactionTypes?.join(',') ?? null)}::text[])
       AS l(address, backend_id, key_id, label, types)
),
before AS (SELECT a.address, a.status FROM accounts a),
up AS (
  INSERT INTO accounts AS a (address, backend_id, key_id, label, transaction_types, status, first_seen_at, last_seen_at, updated_at)
  SELECT l.address, l.backend_id, l.key_id, l.label, l.transaction_types, 'active', now(), now(), now() FROM listed l
  ON CONFLICT (address) DO UPDATE SET
    backend_id = EXCLUDED.backend_id,
    key_id = EXCLUDED.key_id,
    label = EXCLUDED.label,
    transaction_types = EXCLUDED.transaction_types,
    status = 'active',
    -- now() is this transaction's start: with several replicas it can predate the row another replica
    -- just inserted, so never move last_seen_at behind first_seen_at or backwards.
    last_seen_at = GREATEST(now(), a.first_seen_at, a.last_seen_at),
    updated_at = CASE WHEN a.status <> 'active' OR a.backend_id <> EXCLUDED.backend_id OR a.key_id <> EXCLUDED.key_id THEN now() ELSE a.updated_at END
  RETURNING a.address
),
stale AS (
  UPDATE accounts a SET status = 'stale', updated_at = now()
  WHERE a.status = 'active' AND a.backend_id = ANY(${unhealthyBackends}::text[]) AND a.address <> ALL(${addresses}::text[])
  RETURNING a.address
),
gone AS (
  UPDATE accounts a SET status = 'inactive', updated_at = now()
  WHERE a.status <> 'inactive' AND a.address <> ALL(${addresses}::text[]) AND a.backend_id <> ALL(${unhealthyBackends}::text[])
  RETURNING a.address
)
SELECT 'added' AS kind, u.address FROM up u LEFT JOIN before b ON b.address = u.address
WHERE b.address IS NULL OR b.status = 'inactive'
UNION ALL
SELECT 'removed', g.address FROM gone g
UNION ALL
SELECT 'staled', s.address FROM stale s`;
    const change: RegistryChange = { added: [], removed: [], staled: [] };
    for (const row of rows) change[row.kind].push(row.address);
    for (const list of Object.values(change)) list.sort();
    return change;
  }

  /** Active and stale accounts, by address. */
  async listVisible(): Promise<RegistryAccount[]> {
    const rows = await this.prisma.account.findMany({ where: { status: { in: ['active', 'stale'] } }, orderBy: { address: 'asc' } });
    return rows.map(toAccount);
  }

  /** The account for an address, or undefined when unknown or inactive. */
  async resolve(address: string): Promise<RegistryAccount | undefined> {
    const row = await this.prisma.account.findUnique({ where: { address: address.toLowerCase() } });
    return row && row.status !== 'inactive' ? toAccount(row) : undefined;
  }
}

function toAccount(row: { address: string; backendId: string; keyId: string; status: string; transactionTypes: number[] | null }): RegistryAccount {
  const account: RegistryAccount = { address: row.address, backendId: row.backendId, keyId: row.keyId, status: row.status as RegistryAccount['status'] };
  if (row.transactionTypes?.length) account.transactionTypes = row.transactionTypes.filter((t): t is 0 | 1 | 2 => t === 0 || t === 1 || t === 2);
  return account;
}
