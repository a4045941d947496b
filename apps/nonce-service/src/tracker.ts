import { PeriodicTask } from './periodic-task';
import type { Logger } from 'pino';
import { Routes, type KeyRef, type UnsignedTransaction } from '@hsm-signer/contracts';
import { NonceTooLowError, TransactionAlreadyKnownError, type NodeError } from '@hsm-signer/ethereum';
import type { NatsBus } from '@hsm-signer/messaging';
import {
  LEASE_EXPIRED_ERROR,
  type AccountLease,
  type AccountWork,
  type LifecycleLedger,
  type MinedItem,
  type NonceLedger,
  type OpenTransaction,
  type ReceiptRecord,
} from '@hsm-signer/persistence';
import { bumpTransaction, feeOf, gapFillTransaction, unsignedFromFields, type BumpPolicy, type MarketFees } from './fees';
import type { BatchResult, ChainReader, RawReceipt } from './node-client';
import { decodeRawTransaction } from './raw-transaction';

export interface TrackerOptions {
  /** This replica's lease owner name. */
  owner: string;
  intervalMs: number;
  accountLeaseMs: number;
  maxAccounts: number;
  /** Nonce lease of an allocated transaction (also the gap-fill lease). */
  nonceLeaseMs: number;
  confirmations: number;
  stuckAfterMs: number;
  /** A submitted transaction at the chain's next nonce that the node does not hold is re-sent after this long. */
  unpooledAfterMs: number;
  gapFillAfterMs: number;
  floorSyncMs: number;
  bump: BumpPolicy;
}

/** Counters for tests and the operator (what the tracker did since start). */
export interface TrackerStats {
  /** Rounds started; of those finished, `roundsOk` completed and `roundsFailed` stopped on an error. */
  rounds: number;
  roundsOk: number;
  roundsFailed: number;
  reaped: number;
  mined: number;
  confirmed: number;
  reorged: number;
  resent: number;
  /** Re-sends of a transaction at the chain's next nonce that the node no longer held (of `resent`). */
  unpooled: number;
  replaced: number;
  gapFilled: number;
  superseded: number;
  errors: number;
}

/** What the node said about one account this round (undefined: not asked, or the lookup failed). */
interface AccountState {
  work: AccountWork;
  key: string;
  mined?: number;
  pending?: number;
}

type Counted = AccountState & { mined: number };

/** Calls per JSON-RPC batch request. */
const MAX_BATCH = 500;

/** Signed or submitted transactions at nonces the chain has consumed: only these can have a receipt. */
function consumed(s: Counted): OpenTransaction[] {
  return s.work.transactions.filter((tx) => tx.status !== 'allocated' && tx.nonce < s.mined);
}

function hasMinedCount(s: AccountState): s is Counted {
  return s.mined !== undefined;
}

type Receipts = Map<string, RawReceipt | null | undefined>;

/** What the node said to a broadcast: took it, already had it, nonce consumed, refused, or no answer. */
type BroadcastOutcome = 'sent' | 'known' | 'consumed' | 'refused' | 'unknown';

/**
 * Follows transactions after submission (research/nonce-and-lifecycle.md §7.4): reaps expired nonce
 * leases (the hole goes back for reuse), applies the chain's mined count as a floor, polls receipts,
 * counts confirmations and moves reorganised transactions back to submitted, re-sends stuck
 * transactions and then replaces them with bumped fees, and fills holes nobody reused with
 * zero-value self-transfers.
 *
 * Its cost follows the open work, not the number of accounts. A round is one Postgres statement
 * that leases the accounts with open work and returns all of it (LifecycleLedger.claimWork), then at
 * most two JSON-RPC batches for all those accounts together: the latest block and the accounts'
 * mined (and, to reap, pending) counts; then the receipts of transactions the chain has consumed and,
 * when the head moved, the blocks holding mined transactions (a block still at its height means its
 * transactions are still in the chain). Mined transactions are not read or written row by row: one
 * statement confirms those deep enough in checked blocks. Accounts whose only open work is mined
 * transactions cost nothing while the head stands still; with no open work at all a round is the
 * one statement.
 *
 * Safe with N replicas: each round a replica leases the accounts it works on (nonces.lease_owner /
 * lease_until, SKIP LOCKED), every write is fenced on that lease's epoch, and no database
 * transaction is open while the node or signer-service is asked.
 */
export class Tracker {
  readonly stats: TrackerStats = { rounds: 0, roundsOk: 0, roundsFailed: 0, reaped: 0, mined: 0, confirmed: 0, reorged: 0, resent: 0, unpooled: 0, replaced: 0, gapFilled: 0, superseded: 0, errors: 0 };
  private task?: PeriodicTask;
  private readonly keys = new Map<string, { key: KeyRef; at: number }>();
  /** Head block hash at which each leased account's mined transactions were last checked. */
  private readonly heads = new Map<string, string>();
  /** When the next round also takes accounts without open work whose floor is due. */
  private nextIdleScanAt = 0;

  constructor(
    private readonly lifecycle: LifecycleLedger,
    private readonly ledger: NonceLedger,
    private readonly chain: ChainReader,
    private readonly bus: Pick<NatsBus, 'request'>,
    private readonly options: TrackerOptions,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.task = new PeriodicTask(() => this.round(), this.options.intervalMs, (error) => {
      this.stats.errors++;
      this.logger.warn({ err: (error as Error).message }, 'tracker round failed; retrying next round');
    });
    this.task.start();
  }

  async stop(): Promise<void> {
    await this.task?.stop();
    await this.lifecycle.releaseAccounts(this.options.owner).catch(() => undefined);
  }

  /** This replica's lease on one account, when no other replica holds it (operator resync). */
  leaseFor(chainId: number, address: string): Promise<AccountLease | undefined> {
    return this.lifecycle.claimAccount(this.options.owner, chainId, address, this.options.accountLeaseMs);
  }

  /** One pass over the accounts with open work that this replica can lease now. */
  async round(): Promise<void> {
    this.stats.rounds++;
    try {
      await this.claimAndTrack();
      this.stats.roundsOk++;
    } catch (error) {
      this.stats.roundsFailed++;
      throw error;
    }
  }

  private async claimAndTrack(): Promise<void> {
    const { owner, accountLeaseMs, maxAccounts, floorSyncMs } = this.options;
    const chainId = await this.chain.chainId();
    // Idle accounts (nothing open) only need their floor read every floorSyncMs: finding them scans
    // every counter row, so it is done about four times per period (and again at once while a scan
    // fills the round), not every round.
    const includeIdle = Date.now() >= this.nextIdleScanAt;
    const work = await this.lifecycle.claimWork(owner, { chainId, leaseMs: accountLeaseMs, limit: maxAccounts, floorSyncMs, detailsAfterMs: this.detailsAfterMs(), includeIdle });
    if (includeIdle && work.length < maxAccounts) this.nextIdleScanAt = Date.now() + Math.max(1, Math.floor(floorSyncMs / 4));
    // Only accounts with open work are remembered.
    const leased = new Set(work.map((w) => accountKey(w.lease)));
    for (const key of this.heads.keys()) if (!leased.has(key)) this.heads.delete(key);
    if (work.length) await this.track(work, false);
  }

  /** Raw bytes and fields are first needed by a re-send: of an unpooled or of a stuck transaction. */
  private detailsAfterMs(): number {
    return Math.min(this.options.stuckAfterMs, this.options.unpooledAfterMs);
  }

  /** Everything a round does, for one account and with every check forced: the operator's "resync". */
  async trackAccount(lease: AccountLease): Promise<void> {
    if ((await this.chain.chainId()) !== lease.chainId) return; // another chain's account: not ours to follow
    const work = await this.lifecycle.accountWork(lease, this.options.floorSyncMs, this.detailsAfterMs());
    if (work) await this.track([work], true);
  }

  /**
   * One round over leased accounts. `force` (resync): read the counts and sync the floor even when
   * nothing asks for it, and check mined transactions even when the head did not move.
   */
  private async track(works: AccountWork[], force: boolean): Promise<void> {
    const { owner } = this.options;
    const states: AccountState[] = works.map((work) => ({ work, key: accountKey(work.lease) }));

    // 1. One batch: the latest block, and the counts of the accounts that need them (a mined-only
    //    account needs none; the pending count only to reap an expired allocation).
    const calls: { method: string; params: unknown[] }[] = [{ method: 'eth_getBlockByNumber', params: ['latest', false] }];
    const asked: { state: AccountState; field: 'mined' | 'pending'; index: number }[] = [];
    for (const state of states) {
      const { transactions, holes, floorDue, lease } = state.work;
      if (force || transactions.length > 0 || holes.length > 0 || floorDue) {
        asked.push({ state, field: 'mined', index: calls.length });
        calls.push({ method: 'eth_getTransactionCount', params: [lease.address, 'latest'] });
      }
      if (transactions.some((t) => t.status === 'allocated' && t.leaseExpired) || this.mayBeUnpooled(transactions)) {
        asked.push({ state, field: 'pending', index: calls.length });
        calls.push({ method: 'eth_getTransactionCount', params: [lease.address, 'pending'] });
      }
    }
    const answers = await this.batch(calls);
    if (!answers[0].ok) throw answers[0].error;
    const headBlock = answers[0].result as { number: string; hash: string };
    const head = { number: Number(BigInt(headBlock.number)), hash: headBlock.hash.toLowerCase() };
    const failed = new Set<AccountState>();
    for (const a of asked) {
      const answer = answers[a.index];
      if (answer.ok) a.state[a.field] = Number(BigInt(answer.result as string));
      else if (!failed.has(a.state)) {
        failed.add(a.state);
        this.stats.errors++;
        this.logger.warn({ address: a.state.work.lease.address, chainId: a.state.work.lease.chainId, err: answer.error.message }, 'tracking an account failed');
      }
    }
    const live = states.filter((s) => !failed.has(s));

    // 2. The chain's mined count as a floor, in one statement, where it can change something: the
    //    chain ahead of the counter, released nonces (dropped below it, a released top rewound), or
    //    the floor not read for NONCE_FLOOR_SYNC_MS.
    const counted = live.filter(hasMinedCount);
    const floors = counted.filter((s) => force || s.work.floorDue || s.work.holes.length > 0 || s.mined > s.work.nextNonce);
    if (floors.length) {
      const chainId = floors[0].work.lease.chainId;
      const synced = await this.lifecycle.syncFloors(chainId, floors.map((s) => ({ address: s.work.lease.address, minedCount: s.mined })));
      for (const s of floors) {
        if (synced.get(s.work.lease.address)?.raised) {
          this.logger.warn({ chainId, address: s.work.lease.address, mined: s.mined }, 'the chain is ahead of the ledger (key used outside hsm-signer?): counter raised to it');
        }
      }
    }

    // 3. One batch: receipts of every attempt of the transactions the chain consumed (nonce below
    //    the mined count: only those can have one), and, where the head moved since the account was
    //    last checked, the canonical block at each height holding its mined transactions.
    const hashes = new Set<string>();
    const heights = new Set<number>();
    for (const s of counted) {
      for (const tx of consumed(s)) {
        if (tx.hash) hashes.add(tx.hash);
        for (const h of tx.previousHashes) hashes.add(h);
      }
    }
    for (const s of live) if (this.headMoved(s, head.hash, force)) for (const b of s.work.minedBlocks) heights.add(b.blockNumber);
    const receiptHashes = [...hashes];
    const blockHeights = [...heights];
    const second = await this.batch([
      ...receiptHashes.map((h) => ({ method: 'eth_getTransactionReceipt', params: [h] })),
      ...blockHeights.map((n) => ({ method: 'eth_getBlockByNumber', params: ['0x' + n.toString(16), false] })),
    ]);
    // undefined = the lookup failed (unknown); null = the node has none.
    const receipts: Receipts = new Map();
    receiptHashes.forEach((h, i) => receipts.set(h, second[i].ok ? ((second[i].result as RawReceipt | null) ?? null) : undefined));
    const canonical = new Map<number, string | null | undefined>();
    blockHeights.forEach((n, i) => {
      const r = second[receiptHashes.length + i];
      canonical.set(n, r.ok ? ((r.result as { hash: string } | null)?.hash.toLowerCase() ?? null) : undefined);
    });

    // 4. Consumed transactions: mined or failed (one statement for all), or superseded.
    const minedItems: MinedItem[] = [];
    for (const s of counted) for (const tx of consumed(s)) await this.resolveConsumed(s.work.lease, tx, receipts, head.number, minedItems);
    const minedIds = new Set(await this.lifecycle.markMinedMany(owner, minedItems));
    this.stats.mined += minedIds.size;

    // 5. Confirmed, in one statement, when NONCE_CONFIRMATIONS deep in a block that is still the
    //    one at its height (or that a receipt just named); a block no longer at its height: its
    //    transactions' own receipts decide (reorganised out, or mined elsewhere).
    const verified = new Set<string>();
    const confirmLeases = new Map<string, AccountLease>();
    const doubtful: { state: AccountState; blocks: string[] }[] = [];
    let checked: AccountState[] = [];
    for (const s of live) {
      if (!this.headMoved(s, head.hash, force)) continue;
      let complete = true;
      const blocks: string[] = [];
      for (const b of s.work.minedBlocks) {
        const at = canonical.get(b.blockNumber);
        if (at === undefined) complete = false;
        else if (at === b.blockHash.toLowerCase()) verified.add(at);
        else blocks.push(b.blockHash);
      }
      if (s.work.minedBlocks.length) confirmLeases.set(s.key, s.work.lease);
      if (blocks.length) doubtful.push({ state: s, blocks });
      if (complete) checked.push(s);
    }
    for (const item of minedItems) {
      if (!minedIds.has(item.id) || item.receipt.status !== 1 || item.confirmations < this.options.confirmations) continue;
      verified.add(item.receipt.blockHash);
      confirmLeases.set(accountKey(item.lease), item.lease);
    }
    this.stats.confirmed += await this.lifecycle.confirmMined(owner, [...confirmLeases.values()], [...verified], head.number, this.options.confirmations);
    for (const { state, blocks } of doubtful) {
      try {
        await this.followReorg(state.work.lease, blocks, head.number);
      } catch (error) {
        checked = checked.filter((s) => s !== state); // asked again next round
        this.accountFailed(state.work.lease, error);
      }
    }
    for (const s of checked) this.heads.set(s.key, head.hash);

    // 6. Per account, what needs the node or signer-service one transaction at a time (reaping,
    //    re-sends, replacements, gap fills): a few accounts at a time, so one slow account does not
    //    delay the rest.
    const queue = [...counted];
    const workers = Array.from({ length: Math.min(8, queue.length) }, async () => {
      for (let s = queue.shift(); s; s = queue.shift()) {
        try {
          await this.act(s);
        } catch (error) {
          this.accountFailed(s.work.lease, error);
        }
      }
    });
    await Promise.all(workers);
  }

  /** JSON-RPC batches of at most MAX_BATCH calls (geth refuses batches above 1,000 by default). */
  private async batch(calls: { method: string; params: unknown[] }[]): Promise<BatchResult[]> {
    const out: BatchResult[] = [];
    for (let i = 0; i < calls.length; i += MAX_BATCH) out.push(...(await this.chain.batch(calls.slice(i, i + MAX_BATCH))));
    return out;
  }

  private headMoved(s: AccountState, head: string, force: boolean): boolean {
    return force || this.heads.get(s.key) !== head;
  }

  private accountFailed(lease: AccountLease, error: unknown): void {
    this.stats.errors++;
    this.logger.warn({ address: lease.address, chainId: lease.chainId, err: (error as Error).message }, 'tracking an account failed');
  }

  /** Reaping, re-sends of signed and stuck transactions, and gap fills of one account. */
  private async act(s: Counted): Promise<void> {
    const { lease, transactions, holes } = s.work;
    const { mined } = s;
    for (const tx of transactions) {
      if (tx.status === 'allocated') {
        if (!tx.leaseExpired || s.pending === undefined) continue;
        // The caller never came back (gateway died or stalled): the nonce goes back for reuse by the
        // next request, or to the gap filler below when nothing comes (issue 3 scope 5). Only when
        // the chain proves nothing sits at this nonce: it is the node's next executable nonce (a
        // caller that broadcast but has not recorded yet would have raised the pending count), or
        // it is already consumed (released as not reusable). A slot above the pending count may
        // hold a queued broadcast we cannot see; it waits until the slots below it are settled.
        if (tx.nonce !== s.pending && tx.nonce >= mined) continue;
        const released = await this.ledger.release(tx.id, 'abandoned', LEASE_EXPIRED_ERROR, mined);
        if (released.kind === 'ok') {
          this.stats.reaped++;
          this.logger.info({ chainId: lease.chainId, address: lease.address, nonce: tx.nonce, transactionId: tx.id, reusable: released.reusable }, 'nonce lease expired: released');
        }
        continue;
      }
      if (tx.nonce < mined) continue; // consumed: resolved by its receipts above
      if (tx.status === 'signed') {
        // Signed and stored, but its sender's lease ran out: it may or may not have been sent. The
        // same bytes are safe to send again (issue 3 scope 4 "maybe sent").
        if (tx.leaseExpired && tx.raw && tx.hash) await this.send(lease, tx, tx.raw, tx.hash, false);
        continue;
      }
      if (tx.sinceSentMs >= this.options.stuckAfterMs) await this.unstick(lease, tx, mined);
      else if (tx.nonce === mined && s.pending !== undefined && s.pending <= tx.nonce && tx.sinceSentMs >= this.options.unpooledAfterMs) await this.reclaim(lease, tx, mined);
    }
    await this.fillGaps(lease, transactions, holes, mined);
  }

  /**
   * A consumed nonce: the first of its hashes with a receipt makes it mined (or failed, status 0);
   * collected into `mined` for one statement. None of our hashes and every lookup answered: a
   * transaction from outside the ledger took the nonce (OZ's rule, research §6.2 "nonce too low").
   */
  private async resolveConsumed(lease: AccountLease, tx: OpenTransaction, receipts: Receipts, head: number, mined: MinedItem[]): Promise<void> {
    const hashes = [tx.hash, ...tx.previousHashes].filter((h): h is string => !!h);
    let allKnown = true;
    for (const h of hashes) {
      const receipt = receipts.get(h);
      if (receipt === undefined) allKnown = false;
      if (receipt) {
        const record = toRecord(receipt);
        mined.push({ lease, id: tx.id, receipt: record, confirmations: Math.max(0, head - record.blockNumber + 1) });
        return;
      }
    }
    if (allKnown && (await this.lifecycle.markSuperseded(lease, tx.id, `nonce ${tx.nonce} was consumed by a transaction that is not in the ledger`))) {
      this.stats.superseded++;
      this.logger.warn({ address: lease.address, nonce: tx.nonce, transactionId: tx.id }, 'nonce consumed outside the ledger: transaction superseded');
    }
  }

  /** Mined transactions in blocks the node no longer has at their height: their receipts decide. */
  private async followReorg(lease: AccountLease, blocks: string[], head: number): Promise<void> {
    const txs = await this.lifecycle.minedIn(lease.chainId, lease.address, blocks);
    const hashes = txs.map((t) => t.hash).filter((h): h is string => !!h);
    const results = await this.batch(hashes.map((h) => ({ method: 'eth_getTransactionReceipt', params: [h] })));
    const receipts: Receipts = new Map();
    results.forEach((r, i) => receipts.set(hashes[i], r.ok ? ((r.result as RawReceipt | null) ?? null) : undefined));
    for (const tx of txs) await this.followMined(lease, tx, receipts, head);
  }

  private async followMined(lease: AccountLease, tx: OpenTransaction, receipts: Receipts, head: number): Promise<void> {
    const { hash, raw, blockHash } = tx;
    if (!hash || !raw || !blockHash) return; // a mined row always has them (markMined)
    const receipt = receipts.get(hash);
    if (receipt === undefined) return; // lookup failed: ask next round
    if (receipt === null || receipt.blockHash.toLowerCase() !== blockHash.toLowerCase()) {
      // Reorganised out (research §7.4 confirmer step 3): back to submitted, same bytes re-sent.
      if (await this.lifecycle.markReorged(lease, tx.id, blockHash)) {
        this.stats.reorged++;
        this.logger.warn({ address: lease.address, nonce: tx.nonce, hash, block: tx.blockNumber }, 'transaction reorganised out of its block: back to submitted');
        if (receipt === null) await this.send(lease, { ...tx, status: 'submitted' }, raw, hash, true);
      }
      return;
    }
    const confirmations = Math.max(0, head - Number(BigInt(receipt.blockNumber)) + 1);
    const confirmed = confirmations >= this.options.confirmations;
    if ((await this.lifecycle.updateConfirmations(lease, tx.id, blockHash, confirmations, confirmed)) && confirmed) this.stats.confirmed++;
  }

  /**
   * Whether the account's lowest open transaction is submitted and was sent NONCE_UNPOOLED_AFTER_MS
   * ago: then the node's pending count is read, to tell whether the node still holds it.
   */
  private mayBeUnpooled(transactions: OpenTransaction[]): boolean {
    const lowest = transactions[0]; // ordered by nonce
    return lowest !== undefined && lowest.status === 'submitted' && lowest.sinceSentMs >= this.options.unpooledAfterMs && lowest.sinceSentMs < this.options.stuckAfterMs;
  }

  /**
   * The chain's next nonce is ours, submitted, and the node does not hold it as executable: its
   * pending count (geth, Besu and anvil count only the gap-free run of pooled transactions) stays
   * at the mined count. The node lost it (dropped, evicted, restarted without its pool), and every
   * later nonce waits behind it, so it is not left for NONCE_STUCK_AFTER_MS: the same bytes go again
   * now. A node that answers "already known" while still not holding it is wedged on that hash
   * (anvil's auto-miner can lose a transaction it accepted out of order under load and then refuse
   * it as "already imported", foundry-rs/foundry#10122): only another transaction at the nonce
   * frees it, so it is replaced with bumped fees, as a stuck one would be after two periods.
   */
  private async reclaim(lease: AccountLease, tx: OpenTransaction, mined: number): Promise<void> {
    if (!tx.raw || !tx.hash) return;
    this.stats.unpooled++;
    this.logger.info({ address: lease.address, nonce: tx.nonce, hash: tx.hash }, 'the node does not hold the transaction at the next nonce: re-sent');
    const outcome = await this.send(lease, tx, tx.raw, tx.hash, true);
    // Replaced this way at most once (attempts counts the hashes it had): a node whose pending count
    // means nothing (some load-balanced endpoints answer the latest count) would otherwise have a
    // healthy transaction re-priced every NONCE_UNPOOLED_AFTER_MS; further bumps wait for the stuck path.
    if (outcome !== 'known' || tx.nonceSource === 'fixed' || tx.attempts > 1) return;
    // Asked again, after the re-send: a transaction mined in between must not be replaced.
    const [latest, pending] = await this.chain.batch([
      { method: 'eth_getTransactionCount', params: [lease.address, 'latest'] },
      { method: 'eth_getTransactionCount', params: [lease.address, 'pending'] },
    ]);
    if (!latest.ok || !pending.ok) return;
    if (Number(BigInt(latest.result as string)) !== mined || Number(BigInt(pending.result as string)) > tx.nonce) return;
    this.logger.warn({ address: lease.address, nonce: tx.nonce, hash: tx.hash }, 'the node says it knows the transaction but does not hold it: replaced with bumped fees');
    await this.replaceWithBumpedFees(lease, tx);
  }

  /**
   * Not mined for NONCE_STUCK_AFTER_MS: first the same bytes again (a dropped or never-propagated
   * transaction), then a replacement at the same nonce with bumped fees (research §6.2 "stuck").
   */
  private async unstick(lease: AccountLease, tx: OpenTransaction, mined: number): Promise<void> {
    if (!tx.raw || !tx.hash) return;
    // Above the chain's next nonce it waits for a lower one (a hole being reused or filled): higher
    // fees would not help, so only the same bytes go again, at most once per stuck period.
    if (tx.resends < 1 || tx.nonce > mined) {
      await this.send(lease, tx, tx.raw, tx.hash, true);
      return;
    }
    if (tx.nonceSource === 'fixed') {
      // The client chose this nonce: we do not decide to spend more on it. Keep re-sending.
      await this.lifecycle.noteError(tx.id, `stuck at client-fixed nonce ${tx.nonce}: not replaced automatically; send a replacement with higher fees yourself`);
      await this.send(lease, tx, tx.raw, tx.hash, true);
      return;
    }
    await this.replaceWithBumpedFees(lease, tx);
  }

  /** A replacement at the same nonce with fees bumped (capped), stored, then broadcast. */
  private async replaceWithBumpedFees(lease: AccountLease, tx: OpenTransaction): Promise<void> {
    if (!tx.fields || tx.type === null || !tx.hash || !tx.raw) return;
    const market = await this.market();
    const current = unsignedFromFields(lease.chainId, tx.nonce, tx.type, tx.fields);
    const bump = bumpTransaction(current, market, this.options.bump, feeOf(tx.firstFields ?? tx.fields));
    if (bump.kind === 'capped') {
      await this.lifecycle.noteError(tx.id, `stuck, and a replacement would need ${bump.wanted} wei per gas, above the cap ${bump.cap}`);
      await this.send(lease, tx, tx.raw, tx.hash, true);
      return;
    }
    const signed = await this.sign(lease, bump.tx);
    const decoded = decodeRawTransaction(signed.raw);
    // Stored before it is broadcast: after a crash the ledger knows this hash (issue 3 scope 2).
    if (!(await this.lifecycle.replace(lease, tx.id, tx.hash, { hash: signed.hash, raw: signed.raw, fields: decoded.fields }))) return;
    this.stats.replaced++;
    this.logger.info({ address: lease.address, nonce: tx.nonce, old: tx.hash, hash: signed.hash }, 'stuck transaction replaced with bumped fees');
    await this.broadcast(lease, tx, signed.raw, signed.hash, false);
  }

  /**
   * Holes (released nonces) that nobody reused for NONCE_GAP_FILL_AFTER_MS while later nonces wait
   * behind them get a zero-value self-transfer. The claim happens under the counter's row lock, so a
   * request reusing the nonce at the same moment wins or loses cleanly.
   */
  private async fillGaps(lease: AccountLease, transactions: OpenTransaction[], holes: { nonce: number; ageMs: number }[], mined: number): Promise<void> {
    const highest = transactions.reduce((m, t) => Math.max(m, t.nonce), -1);
    for (const hole of holes) {
      if (hole.nonce < mined || hole.nonce > highest || hole.ageMs < this.options.gapFillAfterMs) continue;
      const id = await this.lifecycle.claimGap(lease.chainId, lease.address, hole.nonce, this.options.gapFillAfterMs, this.options.nonceLeaseMs);
      if (!id) continue;
      try {
        const tx = gapFillTransaction(lease.chainId, lease.address, hole.nonce, await this.market());
        const signed = await this.sign(lease, tx);
        const decoded = decodeRawTransaction(signed.raw);
        if (!(await this.lifecycle.markSigned(id, { hash: signed.hash, raw: signed.raw, type: decoded.type, fields: decoded.fields }, this.options.nonceLeaseMs))) continue;
        this.stats.gapFilled++;
        this.logger.info({ address: lease.address, nonce: hole.nonce, hash: signed.hash }, 'hole filled with a zero-value self-transfer');
        await this.broadcast(lease, { id, nonce: hole.nonce, status: 'signed' }, signed.raw, signed.hash, false);
      } catch (error) {
        // Signing failed: give the nonce back (it stays a hole; the next round tries again).
        await this.ledger.release(id, 'abandoned', `gap fill failed: ${(error as Error).message}`.slice(0, 2000), mined).catch(() => undefined);
        throw error;
      }
    }
  }

  private async send(lease: AccountLease, tx: Pick<OpenTransaction, 'id' | 'nonce' | 'status'>, raw: string, hash: string, resend: boolean): Promise<BroadcastOutcome> {
    if (resend) this.stats.resent++;
    return this.broadcast(lease, tx, raw, hash, resend);
  }

  /**
   * eth_sendRawTransaction, then record it. "Already known" is a success; "nonce too low" means the
   * nonce is consumed (by this or another attempt): the receipt lookup of the next round resolves it.
   * Any other refusal is noted on the row and retried later; a connection failure is "maybe sent".
   */
  private async broadcast(lease: AccountLease, tx: Pick<OpenTransaction, 'id' | 'nonce' | 'status'>, raw: string, hash: string, resend: boolean): Promise<BroadcastOutcome> {
    let outcome: { kind: 'sent' } | { kind: 'node-error'; error: NodeError };
    try {
      outcome = await this.chain.sendRaw(raw);
    } catch (error) {
      this.logger.warn({ address: lease.address, nonce: tx.nonce, hash, err: (error as Error).message }, 'broadcast outcome unknown; the same bytes go again next time');
      await this.lifecycle.markSent(lease, tx.id, hash, resend);
      return 'unknown';
    }
    let result: BroadcastOutcome = 'sent';
    if (outcome.kind === 'node-error') {
      if (outcome.error instanceof TransactionAlreadyKnownError) result = 'known';
      else if (outcome.error instanceof NonceTooLowError) result = 'consumed';
      else {
        result = 'refused';
        this.logger.warn({ address: lease.address, nonce: tx.nonce, hash, err: outcome.error.message }, 'the node refused a re-send');
        await this.lifecycle.noteError(tx.id, `node refused a re-send: ${outcome.error.message}`);
      }
    }
    await this.lifecycle.markSent(lease, tx.id, hash, resend);
    return result;
  }

  private async market(): Promise<MarketFees> {
    const [block, tip, price] = await this.chain.batch([
      { method: 'eth_getBlockByNumber', params: ['latest', false] },
      { method: 'eth_maxPriorityFeePerGas', params: [] },
      { method: 'eth_gasPrice', params: [] },
    ]);
    if (!block.ok) throw block.error;
    const base = (block.result as { baseFeePerGas?: string } | null)?.baseFeePerGas;
    const baseFeePerGas = base ? BigInt(base) : null;
    let priorityFee = 1_000_000_000n;
    if (baseFeePerGas !== null && tip.ok) priorityFee = BigInt(tip.result as string);
    if (baseFeePerGas === null && price.ok) priorityFee = BigInt(price.result as string);
    return { baseFeePerGas, priorityFee };
  }

  /** Re-signing goes through signer-service, with the account's key from key-discovery (cached 60 s). */
  private async sign(lease: AccountLease, tx: UnsignedTransaction): Promise<{ raw: string; hash: string }> {
    const cached = this.keys.get(lease.address);
    let key = cached && Date.now() - cached.at < 60_000 ? cached.key : undefined;
    if (!key) {
      const { account } = await this.bus.request(Routes.accountsResolve, { address: lease.address });
      if (!account) throw new Error(`no key for ${lease.address} in key-discovery: cannot re-sign`);
      key = { backendId: account.backendId, keyId: account.keyId };
      this.keys.set(lease.address, { key, at: Date.now() });
    }
    return this.bus.request(Routes.signerSignTransaction, { from: lease.address, key, tx });
  }
}

function toRecord(r: RawReceipt): ReceiptRecord {
  return {
    hash: r.transactionHash.toLowerCase(),
    blockNumber: Number(BigInt(r.blockNumber)),
    blockHash: r.blockHash.toLowerCase(),
    status: r.status === undefined ? 1 : Number(BigInt(r.status)),
    gasUsed: BigInt(r.gasUsed),
    effectiveGasPrice: r.effectiveGasPrice ? BigInt(r.effectiveGasPrice) : null,
  };
}

function accountKey(lease: Pick<AccountLease, 'chainId' | 'address'>): string {
  return `${lease.chainId}:${lease.address}`;
}
