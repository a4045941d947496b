import { Prisma, type PrismaClient } from './generated/prisma/client';

/**
 * The REST gateway's storage (research/rest-gateway.md §2.2, §2.7): uploaded ABIs, registered
 * contract instances and the receipt store, shared by every gateway replica through Postgres.
 *
 * Everything goes through Prisma. The statements Prisma's query API cannot say are raw SQL through
 * `$queryRaw` / `$executeRaw`, one statement each: the reply upsert that never lets a pending reply
 * overwrite a final one, and the joins with nonce-service's ledger. None of them is on a measured
 * hot path (the plain pg pool is kept for NonceLedger's; see client.ts createDatabase).
 */

export interface StoredAbi {
  id: string;
  name: string;
  description: string;
  /** The JSON ABI array. */
  abi: unknown[];
  /** 0x… creation code; '' when not deployable. */
  bytecode: string;
  devdoc: string | null;
  compilerVersion: string | null;
  deployable: boolean;
  createdAt: Date;
}

export interface StoredContract {
  /** 0x + 40 lowercase hex. */
  address: string;
  abiId: string;
  registeredAs: string | null;
  createdAt: Date;
}

export interface StoredReply {
  /** The request id. */
  id: string;
  /** The whole reply object as the API returns it. */
  body: Record<string, unknown>;
  pending: boolean;
  /** The ledger id (transactions.id) that completes a pending reply once mined. */
  transactionId: string | null;
  /** Lowercase. */
  from: string | null;
  to: string | null;
  receivedAt: Date;
}

/** A ledger transaction's state as far as the REST gateway cares. */
export interface LedgerState {
  status: string;
  hash: string | null;
  nonce: bigint;
  blockNumber: bigint | null;
}

export interface CreateAbiInput {
  name: string;
  description?: string;
  abi: unknown[];
  bytecode: string;
  devdoc?: string | null;
  compilerVersion?: string | null;
  deployable: boolean;
}

export interface RegisterContractInput {
  address: string;
  abiId: string;
  registeredAs?: string | null;
}

export interface PendingReplyInput {
  id: string;
  body: object;
  transactionId?: string | null;
  from?: string | null;
  to?: string | null;
}

export interface SaveReplyInput extends PendingReplyInput {
  pending: boolean;
}

export interface ReplyQuery {
  /** Only these request ids. */
  ids?: string[];
  limit: number;
  skip?: number;
  /** Only replies received after this moment. */
  since?: Date;
  from?: string;
  to?: string;
}

/** The friendly name is registered for another address (ethconnect's 409 FFEC100133). */
export class ContractNameTakenError extends Error {
  constructor(
    /** The registered name (it replaces Error's `name` on purpose: the API is `.name` and `.address` of the holder). */
    override readonly name: string,
    /** The address that holds the name. */
    readonly address: string,
  ) {
    super(`Contract address ${address.replace(/^0x/, '')} is already registered for name '${name}'`);
  }
}

export class AbiNotFoundError extends Error {
  constructor(readonly abiId: string) {
    super(`ABI ${abiId} not found`);
    this.name = 'AbiNotFoundError';
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ADDRESS = /^(?:0x)?([0-9a-fA-F]{40})$/;

const isUuid = (id: string): boolean => UUID.test(id);

/** `0x` + lowercase hex for a 40-hex address with or without 0x, else undefined. */
function normaliseAddress(value: string): string | undefined {
  const m = ADDRESS.exec(value);
  return m ? `0x${m[1].toLowerCase()}` : undefined;
}

function prismaCode(error: unknown): string | undefined {
  return error instanceof Prisma.PrismaClientKnownRequestError ? error.code : undefined;
}

/** A unique violation, as Prisma reports it (P2002) or as Postgres does through a raw statement (23505). */
function isUniqueViolation(error: unknown): boolean {
  const code = prismaCode(error) ?? (error as { code?: unknown } | null)?.code;
  return code === 'P2002' || code === '23505';
}

function isForeignKeyViolation(error: unknown): boolean {
  const code = prismaCode(error) ?? (error as { code?: unknown } | null)?.code;
  return code === 'P2003' || code === '23503';
}

function optionalUuid(value: string | null | undefined, what: string): string | null {
  if (value === undefined || value === null) return null;
  if (!isUuid(value)) throw new TypeError(`${what} must be a UUID, got ${JSON.stringify(value)}`);
  return value;
}

const lower = (value: string | null | undefined): string | null => (value === undefined || value === null ? null : value.toLowerCase());

type AbiRow = Prisma.RestAbiGetPayload<object>;
type ContractRow = Prisma.RestContractGetPayload<object>;
type ReplyRow = Prisma.RestReplyGetPayload<object>;

const toAbi = (r: AbiRow): StoredAbi => ({
  id: r.id,
  name: r.name,
  description: r.description,
  abi: r.abi as unknown[],
  bytecode: r.bytecode,
  devdoc: r.devdoc,
  compilerVersion: r.compilerVersion,
  deployable: r.deployable,
  createdAt: r.createdAt,
});

const toContract = (r: ContractRow): StoredContract => ({ address: r.address, abiId: r.abiId, registeredAs: r.registeredAs, createdAt: r.createdAt });

const toReply = (r: ReplyRow): StoredReply => ({
  id: r.id,
  body: r.body as Record<string, unknown>,
  pending: r.pending,
  transactionId: r.transactionId,
  from: r.fromAddress,
  to: r.toAddress,
  receivedAt: r.receivedAt,
});

/** A reply row joined with its ledger row, as the raw statements return it (snake_case columns). */
interface ReplyLedgerRow {
  id: string;
  body: Record<string, unknown>;
  pending: boolean;
  transaction_id: string | null;
  from_address: string | null;
  to_address: string | null;
  received_at: Date;
  status: string | null;
  hash: string | null;
  nonce: bigint | null;
  block_number: bigint | null;
}

/** Raw results may carry BIGINT as bigint or as a numeric string depending on the driver path; normalise. */
const big = (v: bigint | number | string | null): bigint | null => (v === null ? null : BigInt(v));
const toLedger = (r: { status: string | null; hash: string | null; nonce: bigint | null; block_number: bigint | null }): LedgerState | null =>
  r.status === null || r.nonce === null ? null : { status: r.status, hash: r.hash, nonce: BigInt(r.nonce), blockNumber: big(r.block_number) };

export class RestStore {
  constructor(private readonly prisma: PrismaClient) {}

  async createAbi(input: CreateAbiInput): Promise<StoredAbi> {
    const row = await this.prisma.restAbi.create({
      data: {
        name: input.name,
        description: input.description ?? '',
        abi: input.abi as Prisma.InputJsonArray,
        bytecode: input.bytecode,
        devdoc: input.devdoc ?? null,
        compilerVersion: input.compilerVersion ?? null,
        deployable: input.deployable,
      },
    });
    return toAbi(row);
  }

  /** undefined for an unknown id, and for a string that is not a UUID (a client's typo is not a database error). */
  async getAbi(id: string): Promise<StoredAbi | undefined> {
    if (!isUuid(id)) return undefined;
    const row = await this.prisma.restAbi.findUnique({ where: { id } });
    return row ? toAbi(row) : undefined;
  }

  /** Newest first, then by id (ethconnect's time-sorted listing). */
  async listAbis(): Promise<StoredAbi[]> {
    const rows = await this.prisma.restAbi.findMany({ orderBy: [{ createdAt: 'desc' }, { id: 'asc' }] });
    return rows.map(toAbi);
  }

  /**
   * Binds an address to an ABI, under a friendly name when given. Registering an address again
   * replaces its ABI and name (and keeps its first registration time). The name's unique index
   * decides between concurrent registrations; the loser gets ContractNameTakenError.
   */
  async registerContract(input: RegisterContractInput): Promise<StoredContract> {
    const address = normaliseAddress(input.address);
    if (!address) throw new TypeError(`not an address: ${JSON.stringify(input.address)}`);
    if (!isUuid(input.abiId)) throw new AbiNotFoundError(input.abiId);
    const registeredAs = input.registeredAs ?? null;
    // A unique violation is either the name (someone else holds it) or, when Prisma's upsert is
    // not a native ON CONFLICT, the address itself (another registration of it won the insert):
    // the second is resolved by trying again, which then updates.
    for (let attempt = 0; ; attempt++) {
      try {
        const row = await this.prisma.restContract.upsert({
          where: { address },
          create: { address, abiId: input.abiId, registeredAs },
          update: { abiId: input.abiId, registeredAs },
        });
        return toContract(row);
      } catch (error) {
        if (isForeignKeyViolation(error)) throw new AbiNotFoundError(input.abiId);
        if (!isUniqueViolation(error) || attempt >= 3) throw error;
        if (registeredAs !== null) {
          const holder = await this.prisma.restContract.findUnique({ where: { registeredAs }, select: { address: true } });
          if (holder && holder.address !== address) throw new ContractNameTakenError(registeredAs, holder.address);
        }
      }
    }
  }

  /** By address (with or without 0x, any case), else by registered name. */
  async getContract(addressOrName: string): Promise<StoredContract | undefined> {
    const address = normaliseAddress(addressOrName);
    if (address) {
      const row = await this.prisma.restContract.findUnique({ where: { address } });
      if (row) return toContract(row);
    }
    const named = await this.prisma.restContract.findUnique({ where: { registeredAs: addressOrName } });
    return named ? toContract(named) : undefined;
  }

  /** Newest first, then by address. */
  async listContracts(): Promise<StoredContract[]> {
    const rows = await this.prisma.restContract.findMany({ orderBy: [{ createdAt: 'desc' }, { address: 'asc' }] });
    return rows.map(toContract);
  }

  /** Stores the pending record of an acktype=receipt request; an id already stored is left as it is. */
  async createPendingReply(input: PendingReplyInput): Promise<'created' | 'exists'> {
    const { count } = await this.prisma.restReply.createMany({
      data: [
        {
          id: input.id,
          body: input.body as Prisma.InputJsonObject,
          pending: true,
          transactionId: optionalUuid(input.transactionId, 'transactionId'),
          fromAddress: lower(input.from),
          toAddress: lower(input.to),
        },
      ],
      skipDuplicates: true,
    });
    return count === 1 ? 'created' : 'exists';
  }

  /**
   * Stores a reply: inserts it, or overwrites the stored one while that is still pending. A final
   * reply is never overwritten (a late pending record, or a second replica completing the same
   * reply, leaves it). The overwrite takes the new body and receipt time, and keeps the stored
   * transaction id / from / to where the new reply has none. True when the reply was written.
   */
  async saveReply(input: SaveReplyInput): Promise<boolean> {
    return (await this.saveReplies([input]))[0];
  }

  /**
   * saveReply for many replies in ONE statement (one commit instead of one per reply: the REST
   * gateway coalesces the writes of a turn). Same rules per reply; results in input order. A reply id
   * given twice counts once: a final reply wins over a pending one, otherwise the later one; the
   * others report false (as a second saveReply of that id would have been refused or overwritten).
   */
  async saveReplies(inputs: SaveReplyInput[]): Promise<boolean[]> {
    const winner = new Map<string, number>();
    inputs.forEach((input, i) => {
      const at = winner.get(input.id);
      if (at === undefined || !(inputs[at].pending === false && input.pending)) winner.set(input.id, i);
    });
    const chosen = [...winner.values()].map((i) => inputs[i]);
    if (chosen.length === 0) return [];
    const rows = await this.prisma.$queryRaw<{ id: string }[]>`
INSERT INTO rest_replies (id, body, pending, transaction_id, from_address, to_address)
SELECT u.id, u.body::jsonb, u.pending, u.transaction_id::uuid, u.from_address, u.to_address
FROM unnest(${chosen.map((c) => c.id)}::text[], ${chosen.map((c) => JSON.stringify(c.body))}::text[], ${chosen.map((c) => c.pending)}::bool[],
            ${chosen.map((c) => optionalUuid(c.transactionId, 'transactionId'))}::text[], ${chosen.map((c) => lower(c.from))}::text[],
            ${chosen.map((c) => lower(c.to))}::text[])
  AS u(id, body, pending, transaction_id, from_address, to_address)
ON CONFLICT (id) DO UPDATE SET
  body = EXCLUDED.body,
  pending = EXCLUDED.pending,
  transaction_id = COALESCE(EXCLUDED.transaction_id, rest_replies.transaction_id),
  from_address = COALESCE(EXCLUDED.from_address, rest_replies.from_address),
  to_address = COALESCE(EXCLUDED.to_address, rest_replies.to_address),
  received_at = EXCLUDED.received_at
WHERE rest_replies.pending
RETURNING id`;
    const written = new Set(rows.map((r) => r.id));
    return inputs.map((input, i) => winner.get(input.id) === i && written.has(input.id));
  }

  async getReply(id: string): Promise<StoredReply | undefined> {
    const row = await this.prisma.restReply.findUnique({ where: { id } });
    return row ? toReply(row) : undefined;
  }

  /** GET /replies: newest received first (then by id), filtered by ids, receipt time (after `since`), from and to. */
  async listReplies(query: ReplyQuery): Promise<StoredReply[]> {
    if (!Number.isSafeInteger(query.limit) || query.limit < 0) throw new RangeError(`limit must be a non-negative integer, got ${query.limit}`);
    const skip = query.skip ?? 0;
    if (!Number.isSafeInteger(skip) || skip < 0) throw new RangeError(`skip must be a non-negative integer, got ${skip}`);
    const rows = await this.prisma.restReply.findMany({
      where: {
        ...(query.ids ? { id: { in: query.ids } } : {}),
        ...(query.since ? { receivedAt: { gt: query.since } } : {}),
        ...(query.from ? { fromAddress: query.from.toLowerCase() } : {}),
        ...(query.to ? { toAddress: query.to.toLowerCase() } : {}),
      },
      orderBy: [{ receivedAt: 'desc' }, { id: 'asc' }],
      take: query.limit,
      skip,
    });
    return rows.map(toReply);
  }

  /**
   * Pending replies that wait for a ledger transaction, oldest first, each with its ledger row
   * (null when the ledger has no such row). Any replica completes them from this after a crash:
   * one statement, no lock (completing a reply twice writes the same final reply once).
   */
  async pendingRepliesWithLedger(limit: number): Promise<Array<{ reply: StoredReply; ledger: LedgerState | null }>> {
    const rows = await this.prisma.$queryRaw<ReplyLedgerRow[]>`
WITH p AS MATERIALIZED (
  SELECT r.id, r.body, r.pending, r.transaction_id, r.from_address, r.to_address, r.received_at
  FROM rest_replies r
  WHERE r.pending AND r.transaction_id IS NOT NULL
  ORDER BY r.received_at, r.id
  LIMIT ${limit}
)
-- The ledger row by primary key, one lookup per reply: as a plain join the planner hash-joined the
-- page of replies to a scan of the whole ledger (measured: 20,000 rows read for 100 replies, with
-- statistics); LIMIT 1 keeps the subquery from being flattened into that join.
SELECT p.id, p.body, p.pending, p.transaction_id::text AS transaction_id, p.from_address, p.to_address, p.received_at,
       t.status::text AS status, t.hash, t.nonce, t.block_number
FROM p
LEFT JOIN LATERAL (SELECT x.status, x.hash, x.nonce, x.block_number FROM transactions x WHERE x.id = p.transaction_id LIMIT 1) t ON true
ORDER BY p.received_at, p.id`;
    return rows.map((r) => ({
      reply: {
        id: r.id,
        body: r.body,
        pending: r.pending,
        transactionId: r.transaction_id,
        from: r.from_address,
        to: r.to_address,
        receivedAt: r.received_at,
      },
      // A left-joined ledger row is all NULL when there is none (status and nonce are NOT NULL columns).
      ledger: toLedger(r),
    }));
  }

  /** The ledger state of many transactions in one statement (ids that are not UUIDs, or unknown, are absent). */
  async ledgerStates(ids: string[]): Promise<Map<string, LedgerState>> {
    const wanted = [...new Set(ids.filter(isUuid).map((id) => id.toLowerCase()))];
    const states = new Map<string, LedgerState>();
    if (wanted.length === 0) return states;
    const rows = await this.prisma.$queryRaw<{ id: string; status: string; hash: string | null; nonce: bigint; block_number: bigint | null }[]>`
SELECT t.id::text AS id, t.status::text AS status, t.hash, t.nonce, t.block_number
FROM transactions t
WHERE t.id = ANY(${wanted}::uuid[])`;
    for (const r of rows) {
      const state = toLedger(r);
      if (state) states.set(r.id, state);
    }
    return states;
  }

  /**
   * Removes a pending reply that never got a transaction (an `acktype=receipt` request whose
   * queueing failed), so the client's retry under the same id is not refused; returns whether one went.
   */
  async deletePendingReply(id: string): Promise<boolean> {
    const { count } = await this.prisma.restReply.deleteMany({ where: { id, pending: true, transactionId: null } });
    return count === 1;
  }

  /**
   * How many replies are still pending (acktype=receipt ones not yet sent, and sent ones not yet
   * mined), for the gateway's gauge: a count over the (pending, received_at) index, small unless
   * the chain or the completion stalls.
   */
  async countPendingReplies(): Promise<number> {
    return this.prisma.restReply.count({ where: { pending: true } });
  }

  /** Retention: deletes the replies received before `date` (pending ones too); returns how many. */
  async deleteRepliesBefore(date: Date): Promise<number> {
    const { count } = await this.prisma.restReply.deleteMany({ where: { receivedAt: { lt: date } } });
    return count;
  }
}
