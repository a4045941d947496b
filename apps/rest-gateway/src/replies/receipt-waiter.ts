import type { NodeReceipt } from './reply-bodies';

/** A ledger row as the waiters read it (libs/persistence RestStore.ledgerStates). */
export interface LedgerState {
  status: string;
  hash: string | null;
  nonce: bigint;
  blockNumber: bigint | null;
}

export interface ReceiptWaiterPorts {
  ledgerStates(ids: string[]): Promise<Map<string, LedgerState>>;
  /** eth_getTransactionReceipt (calls of one turn share a JSON-RPC batch: EthNodeClient.call). */
  receipt(hash: string): Promise<NodeReceipt | null>;
}

/** The transaction will not be mined: the node refused it, it never reached the node, or another transaction took its nonce. */
export class TransactionNotMinedError extends Error {
  override name = 'TransactionNotMinedError';
  constructor(
    readonly status: string,
    readonly hash: string,
    readonly ledgerError?: string,
  ) {
    super(`transaction ${hash} will not be mined: the ledger has it as ${status}${ledgerError ? ` (${ledgerError})` : ''}`);
  }
}

export class ReceiptTimeoutError extends Error {
  override name = 'ReceiptTimeoutError';
  constructor(
    readonly hash: string,
    readonly timeoutMs: number,
  ) {
    super(`TX ${hash}: Timed out waiting for transaction receipt after ${timeoutMs} ms; it is still followed and may be mined later (look it up with kld-transaction or the node)`);
  }
}

interface Waiter {
  hash: string;
  deadline: number;
  timeoutMs: number;
  resolve(receipt: { receipt: NodeReceipt; hash: string }): void;
  reject(error: Error): void;
}

/** Ledger states after which the transaction under this ledger id will never be mined. */
const FINAL_UNMINED = new Set(['rejected', 'abandoned', 'replaced']);

/**
 * Waits for the receipts of synchronous sends. One loop for all waiters: each round reads their
 * ledger rows in one statement (the current hash: a fee-bumped replacement changes it, research
 * nonce-and-lifecycle.md §7.4) and asks the node for every hash in one JSON-RPC batch, so a hundred
 * waiting clients cost the same two round trips per round as one. The node is asked directly, not
 * only the ledger's `mined` state, so a reply does not wait for nonce-service's tracker round.
 */
export class ReceiptWaiter {
  private readonly waiters = new Map<string, Waiter[]>();
  private timer?: NodeJS.Timeout;
  private running = false;
  private closed = false;

  constructor(
    private readonly ports: ReceiptWaiterPorts,
    private readonly pollMs: number,
    private readonly onRoundError: (error: Error) => void = () => undefined,
  ) {}

  /** Resolves with the receipt of the transaction under `transactionId` (whose hash is `hash` now). */
  wait(transactionId: string, hash: string, timeoutMs: number): Promise<{ receipt: NodeReceipt; hash: string }> {
    if (this.closed) return Promise.reject(new Error('the gateway is shutting down'));
    return new Promise((resolve, reject) => {
      const list = this.waiters.get(transactionId) ?? [];
      list.push({ hash, deadline: Date.now() + timeoutMs, timeoutMs, resolve, reject });
      this.waiters.set(transactionId, list);
      this.schedule(0);
    });
  }

  get size(): number {
    return this.waiters.size;
  }

  /** Rejects every waiter (shutdown): their transactions stay followed by nonce-service. */
  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    for (const list of this.waiters.values()) for (const w of list) w.reject(new Error('the gateway is shutting down; the transaction is still followed'));
    this.waiters.clear();
  }

  private schedule(delayMs: number): void {
    if (this.timer || this.running || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.round();
    }, delayMs);
  }

  private async round(): Promise<void> {
    this.running = true;
    try {
      const ids = [...this.waiters.keys()];
      if (ids.length === 0) return;
      let states = new Map<string, LedgerState>();
      try {
        states = await this.ports.ledgerStates(ids);
      } catch (error) {
        // The ledger read only refreshes hashes; the node can still answer for the known ones.
        this.onRoundError(error as Error);
      }
      await Promise.all(ids.map((id) => this.check(id, states.get(id))));
    } finally {
      this.running = false;
      if (this.waiters.size > 0) this.schedule(this.pollMs);
    }
  }

  private async check(id: string, state: LedgerState | undefined): Promise<void> {
    const list = this.waiters.get(id);
    if (!list) return;
    if (state?.hash) for (const w of list) w.hash = state.hash;
    const hash = list[0].hash;
    if (state && FINAL_UNMINED.has(state.status)) {
      this.settle(id, (w) => w.reject(new TransactionNotMinedError(state.status, hash)));
      return;
    }
    let receipt: NodeReceipt | null = null;
    try {
      receipt = await this.ports.receipt(hash);
    } catch (error) {
      this.onRoundError(error as Error);
    }
    if (this.closed) return; // close() rejected every waiter while the node answered
    if (receipt) {
      this.settle(id, (w) => w.resolve({ receipt: receipt as NodeReceipt, hash }));
      return;
    }
    const now = Date.now();
    const expired = list.filter((w) => w.deadline <= now);
    for (const w of expired) w.reject(new ReceiptTimeoutError(w.hash, w.timeoutMs));
    const left = list.filter((w) => w.deadline > now);
    if (left.length) this.waiters.set(id, left);
    else this.waiters.delete(id);
  }

  private settle(id: string, f: (w: Waiter) => void): void {
    const list = this.waiters.get(id) ?? [];
    this.waiters.delete(id);
    for (const w of list) f(w);
  }
}
