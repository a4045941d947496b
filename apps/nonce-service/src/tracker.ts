import { PeriodicTask } from './periodic-task';
import type { Logger } from 'pino';
import { Routes, type KeyRef, type UnsignedTransaction } from '@hsm-signer/contracts';
import { NonceTooLowError, TransactionAlreadyKnownError, type NodeError } from '@hsm-signer/ethereum';
import type { NatsBus } from '@hsm-signer/messaging';
import { LEASE_EXPIRED_ERROR, type AccountLease, type LifecycleLedger, type NonceLedger, type OpenTransaction, type ReceiptRecord } from '@hsm-signer/persistence';
import { bumpTransaction, feeOf, gapFillTransaction, unsignedFromFields, type BumpPolicy, type MarketFees } from './fees';
import type { ChainReader, RawReceipt } from './node-client';
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
  gapFillAfterMs: number;
  floorSyncMs: number;
  bump: BumpPolicy;
}

/** Counters for tests and the operator (what the tracker did since start). */
export interface TrackerStats {
  rounds: number;
  reaped: number;
  mined: number;
  confirmed: number;
  reorged: number;
  resent: number;
  replaced: number;
  gapFilled: number;
  superseded: number;
  errors: number;
}

/**
 * Follows transactions after submission, per account (research/nonce-and-lifecycle.md §7.4):
 * reaps expired nonce leases (the hole goes back for reuse), applies the chain's mined count as a
 * floor, polls receipts in one batch per account, counts confirmations and moves reorganised
 * transactions back to submitted, re-sends stuck transactions and then replaces them with bumped
 * fees, and fills holes nobody reused with zero-value self-transfers.
 *
 * Safe with N replicas: each round a replica leases the accounts it works on (nonces.lease_owner /
 * lease_until, SKIP LOCKED), every write is fenced on that lease's epoch, and no database
 * transaction is open while the node or signer-service is asked.
 */
export class Tracker {
  readonly stats: TrackerStats = { rounds: 0, reaped: 0, mined: 0, confirmed: 0, reorged: 0, resent: 0, replaced: 0, gapFilled: 0, superseded: 0, errors: 0 };
  private task?: PeriodicTask;
  private readonly keys = new Map<string, { key: KeyRef; at: number }>();
  /** Head block hash per account at its last round (receipts of mined transactions are re-read on change). */
  private readonly heads = new Map<string, string>();

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

  /** One pass over the accounts this replica can lease now. */
  async round(): Promise<void> {
    this.stats.rounds++;
    const leases = await this.lifecycle.claimAccounts(this.options.owner, this.options.accountLeaseMs, this.options.maxAccounts, this.options.floorSyncMs);
    // Accounts are independent: a few at a time keeps one slow account from delaying the rest.
    const queue = [...leases];
    const workers = Array.from({ length: Math.min(8, queue.length) }, async () => {
      for (let lease = queue.shift(); lease; lease = queue.shift()) {
        try {
          await this.trackAccount(lease);
        } catch (error) {
          this.stats.errors++;
          this.logger.warn({ address: lease.address, chainId: lease.chainId, err: (error as Error).message }, 'tracking an account failed');
        }
      }
    });
    await Promise.all(workers);
  }

  /** Everything the tracker does for one account in one round. Also the operator's "resync". */
  async trackAccount(lease: AccountLease): Promise<void> {
    const { chainId, address } = lease;
    if ((await this.chain.chainId()) !== chainId) return; // another chain's account: not ours to follow
    const [count, pendingCount, head] = await this.chain.batch([
      { method: 'eth_getTransactionCount', params: [address, 'latest'] },
      { method: 'eth_getTransactionCount', params: [address, 'pending'] },
      { method: 'eth_getBlockByNumber', params: ['latest', false] },
    ]);
    if (!count.ok) throw count.error;
    if (!pendingCount.ok) throw pendingCount.error;
    if (!head.ok) throw head.error;
    const mined = Number(BigInt(count.result as string));
    const pending = Number(BigInt(pendingCount.result as string));
    const headBlock = head.result as { number: string; hash: string };
    const headNumber = Number(BigInt(headBlock.number));
    // Receipts of mined transactions only need a new look when the head changed (new block or reorg).
    const key = `${chainId}:${address}`;
    const headChanged = this.heads.get(key) !== headBlock.hash;

    const floor = await this.lifecycle.syncFloor(chainId, address, mined);
    if (floor?.raised) this.logger.warn({ chainId, address, mined }, 'the chain is ahead of the ledger (key used outside hsm-signer?): counter raised to it');

    const { transactions, holes } = await this.lifecycle.openWork(chainId, address);
    const receipts = await this.receipts(transactions, mined, headChanged);

    for (const tx of transactions) {
      if (tx.status === 'allocated') {
        if (!tx.leaseExpired) continue;
        // The caller never came back (gateway died or stalled): the nonce goes back for reuse by the
        // next request, or to the gap filler below when nothing comes (issue 3 scope 5). Only when
        // the chain proves nothing sits at this nonce: it is the node's next executable nonce (a
        // caller that broadcast but has not recorded yet would have raised the pending count), or
        // it is already consumed (released as not reusable). A slot above the pending count may
        // hold a queued broadcast we cannot see; it waits until the slots below it are settled.
        if (tx.nonce !== pending && tx.nonce >= mined) continue;
        const released = await this.ledger.release(tx.id, 'abandoned', LEASE_EXPIRED_ERROR, mined);
        if (released.kind === 'ok') {
          this.stats.reaped++;
          this.logger.info({ chainId, address, nonce: tx.nonce, transactionId: tx.id, reusable: released.reusable }, 'nonce lease expired: released');
        }
        continue;
      }
      if (tx.status === 'mined') {
        await this.followMined(lease, tx, receipts, headNumber);
        continue;
      }
      // signed or submitted
      if (tx.nonce < mined) {
        await this.resolveConsumed(lease, tx, receipts, headNumber);
        continue;
      }
      if (tx.status === 'signed') {
        // Signed and stored, but its sender's lease ran out: it may or may not have been sent. The
        // same bytes are safe to send again (issue 3 scope 4 "maybe sent").
        if (tx.leaseExpired && tx.raw && tx.hash) await this.send(lease, tx, tx.raw, tx.hash, false);
        continue;
      }
      if (tx.sinceSentMs >= this.options.stuckAfterMs) await this.unstick(lease, tx, mined);
    }
    this.heads.set(key, headBlock.hash);

    await this.fillGaps(lease, transactions, holes, mined);
  }

  /** eth_getTransactionReceipt for every hash that can have one, in one batch. */
  private async receipts(transactions: OpenTransaction[], mined: number, headChanged: boolean): Promise<Map<string, RawReceipt | null | undefined>> {
    const hashes: string[] = [];
    for (const tx of transactions) {
      if (tx.status === 'mined') {
        if (tx.hash && headChanged) hashes.push(tx.hash);
      }
      else if ((tx.status === 'submitted' || tx.status === 'signed') && tx.nonce < mined) {
        if (tx.hash) hashes.push(tx.hash);
        hashes.push(...tx.previousHashes);
      }
    }
    const out = new Map<string, RawReceipt | null | undefined>();
    if (hashes.length === 0) return out;
    const results = await this.chain.batch(hashes.map((h) => ({ method: 'eth_getTransactionReceipt', params: [h] })));
    // undefined = the lookup failed (unknown); null = the node has no receipt.
    results.forEach((r, i) => out.set(hashes[i], r.ok ? ((r.result as RawReceipt | null) ?? null) : undefined));
    return out;
  }

  private async resolveConsumed(lease: AccountLease, tx: OpenTransaction, receipts: Map<string, RawReceipt | null | undefined>, head: number): Promise<void> {
    const hashes = [tx.hash, ...tx.previousHashes].filter((h): h is string => !!h);
    let allKnown = true;
    for (const h of hashes) {
      const receipt = receipts.get(h);
      if (receipt === undefined) allKnown = false;
      if (receipt) {
        const record = toRecord(receipt);
        const confirmations = Math.max(0, head - record.blockNumber + 1);
        if (await this.lifecycle.markMined(lease, tx.id, record, confirmations)) {
          this.stats.mined++;
          if (record.status === 1 && confirmations >= this.options.confirmations) {
            if (await this.lifecycle.updateConfirmations(lease, tx.id, record.blockHash, confirmations, true)) this.stats.confirmed++;
          }
        }
        return;
      }
    }
    // OZ's rule (research §6.2 "nonce too low"): only when every lookup succeeded.
    if (allKnown && (await this.lifecycle.markSuperseded(lease, tx.id, `nonce ${tx.nonce} was consumed by a transaction that is not in the ledger`))) {
      this.stats.superseded++;
      this.logger.warn({ address: lease.address, nonce: tx.nonce, transactionId: tx.id }, 'nonce consumed outside the ledger: transaction superseded');
    }
  }

  private async followMined(lease: AccountLease, tx: OpenTransaction, receipts: Map<string, RawReceipt | null | undefined>, head: number): Promise<void> {
    const { hash, raw, blockHash } = tx;
    if (!hash || !raw || !blockHash) return; // a mined row always has them (markMined)
    if (!receipts.has(hash)) return; // same head as last round: nothing new to learn
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
    if (!tx.fields || tx.type === null) return;
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

  private async send(lease: AccountLease, tx: Pick<OpenTransaction, 'id' | 'nonce' | 'status'>, raw: string, hash: string, resend: boolean): Promise<void> {
    if (resend) this.stats.resent++;
    await this.broadcast(lease, tx, raw, hash, resend);
  }

  /**
   * eth_sendRawTransaction, then record it. "Already known" is a success; "nonce too low" means the
   * nonce is consumed (by this or another attempt): the receipt lookup of the next round resolves it.
   * Any other refusal is noted on the row and retried later; a connection failure is "maybe sent".
   */
  private async broadcast(lease: AccountLease, tx: Pick<OpenTransaction, 'id' | 'nonce' | 'status'>, raw: string, hash: string, resend: boolean): Promise<void> {
    let outcome: { kind: 'sent' } | { kind: 'node-error'; error: NodeError };
    try {
      outcome = await this.chain.sendRaw(raw);
    } catch (error) {
      this.logger.warn({ address: lease.address, nonce: tx.nonce, hash, err: (error as Error).message }, 'broadcast outcome unknown; the same bytes go again next time');
      await this.lifecycle.markSent(lease, tx.id, hash, resend);
      return;
    }
    if (outcome.kind === 'node-error' && !(outcome.error instanceof TransactionAlreadyKnownError)) {
      if (!(outcome.error instanceof NonceTooLowError)) {
        this.logger.warn({ address: lease.address, nonce: tx.nonce, hash, err: outcome.error.message }, 'the node refused a re-send');
        await this.lifecycle.noteError(tx.id, `node refused a re-send: ${outcome.error.message}`);
      }
    }
    await this.lifecycle.markSent(lease, tx.id, hash, resend);
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
