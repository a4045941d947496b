import type { NodeReceipt } from './reply-bodies';
import { ReceiptTimeoutError, ReceiptWaiter, TransactionNotMinedError, type LedgerState, type ReceiptWaiterPorts } from './receipt-waiter';

const POLL_MS = 10;
const hash = (n: number) => '0x' + n.toString(16).padStart(64, '0');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const receiptOf = (h: string): NodeReceipt => ({
  transactionHash: h,
  transactionIndex: '0x0',
  blockHash: hash(999),
  blockNumber: '0x10',
  from: '0x' + '1'.repeat(40),
  to: '0x' + '2'.repeat(40),
  cumulativeGasUsed: '0x5208',
  gasUsed: '0x5208',
  contractAddress: null,
  status: '0x1',
});

const ledger = (status: string, h: string | null, nonce = 1n): LedgerState => ({ status, hash: h, nonce, blockNumber: null });

/**
 * Fixture ports: the waiter's two ports are plain functions (the ledger read and
 * eth_getTransactionReceipt); these fakes answer from maps the tests fill in, and record the calls.
 */
function fixturePorts() {
  const states = new Map<string, LedgerState>();
  const mined = new Map<string, NodeReceipt>();
  const ledgerCalls: string[][] = [];
  const receiptCalls: string[] = [];
  let ledgerFailure: Error | undefined;
  let receiptFailure: Error | undefined;
  const ports: ReceiptWaiterPorts = {
    ledgerStates: async (ids) => {
      ledgerCalls.push([...ids]);
      if (ledgerFailure) throw ledgerFailure;
      return new Map(ids.filter((id) => states.has(id)).map((id) => [id, states.get(id) as LedgerState]));
    },
    receipt: async (h) => {
      receiptCalls.push(h);
      if (receiptFailure) throw receiptFailure;
      return mined.get(h) ?? null;
    },
  };
  return {
    ports,
    states,
    mined,
    ledgerCalls,
    receiptCalls,
    failLedger: (e: Error | undefined) => (ledgerFailure = e),
    failReceipt: (e: Error | undefined) => (receiptFailure = e),
  };
}

async function until(condition: () => boolean, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(2);
  }
}

describe('ReceiptWaiter', () => {
  let waiter: ReceiptWaiter;
  afterEach(() => waiter?.close());

  it('serves many waiters with one ledger read and one receipt lookup each per round', async () => {
    const f = fixturePorts();
    // Mined from the third round on: two rounds find nothing.
    const ports: ReceiptWaiterPorts = { ledgerStates: f.ports.ledgerStates, receipt: async (h) => (f.ledgerCalls.length >= 3 ? receiptOf(h) : f.ports.receipt(h)) };
    waiter = new ReceiptWaiter(ports, POLL_MS);
    const ids = ['t1', 't2', 't3', 't4', 't5'];
    const waits = ids.map((id, i) => waiter.wait(id, hash(i + 1), 5_000));
    expect(waiter.size).toBe(5);
    const results = await Promise.all(waits);
    expect(results.map((r) => r.hash)).toEqual(ids.map((_id, i) => hash(i + 1)));
    expect(results[2].receipt.transactionHash).toBe(hash(3));
    // One ledger statement per round, with every waiting id.
    expect(f.ledgerCalls).toHaveLength(3);
    for (const call of f.ledgerCalls) expect([...call].sort()).toEqual(ids);
    // One receipt lookup per transaction per round (the fixture records the first two rounds').
    expect(f.receiptCalls).toHaveLength(10);
    expect(waiter.size).toBe(0);
  });

  it('asks no more once nobody waits', async () => {
    const f = fixturePorts();
    waiter = new ReceiptWaiter(f.ports, POLL_MS);
    f.mined.set(hash(1), receiptOf(hash(1)));
    await waiter.wait('t1', hash(1), 5_000);
    const rounds = f.ledgerCalls.length;
    await sleep(POLL_MS * 5);
    expect(f.ledgerCalls.length).toBe(rounds);
  });

  it('follows the hash the ledger has now (a fee-bumped replacement) and resolves with it', async () => {
    const f = fixturePorts();
    waiter = new ReceiptWaiter(f.ports, POLL_MS);
    f.states.set('t1', ledger('submitted', hash(2)));
    f.mined.set(hash(1), receiptOf(hash(1))); // the replaced transaction's receipt must not be used
    f.mined.set(hash(2), receiptOf(hash(2)));
    const result = await waiter.wait('t1', hash(1), 5_000);
    expect(result.hash).toBe(hash(2));
    expect(result.receipt.transactionHash).toBe(hash(2));
    expect(f.receiptCalls).toEqual([hash(2)]);
  });

  it('switches to the replacement hash mid-wait', async () => {
    const f = fixturePorts();
    waiter = new ReceiptWaiter(f.ports, POLL_MS);
    f.states.set('t1', ledger('submitted', hash(1)));
    const result = waiter.wait('t1', hash(1), 5_000);
    await until(() => f.receiptCalls.length >= 2);
    f.states.set('t1', ledger('submitted', hash(7)));
    f.mined.set(hash(7), receiptOf(hash(7)));
    expect((await result).hash).toBe(hash(7));
    expect(f.receiptCalls.at(-1)).toBe(hash(7));
  });

  it('keeps the hash it was given while the ledger has no row (or no hash) for the id', async () => {
    const f = fixturePorts();
    waiter = new ReceiptWaiter(f.ports, POLL_MS);
    f.states.set('t2', ledger('signed', null));
    f.mined.set(hash(1), receiptOf(hash(1)));
    f.mined.set(hash(2), receiptOf(hash(2)));
    const [a, b] = await Promise.all([waiter.wait('t1', hash(1), 5_000), waiter.wait('t2', hash(2), 5_000)]);
    expect([a.hash, b.hash]).toEqual([hash(1), hash(2)]);
  });

  it.each(['rejected', 'abandoned', 'replaced'])('ledger says %s: TransactionNotMinedError with the status and current hash, no receipt lookup', async (status) => {
    const f = fixturePorts();
    waiter = new ReceiptWaiter(f.ports, POLL_MS);
    f.states.set('t1', ledger(status, hash(5)));
    f.mined.set(hash(5), receiptOf(hash(5)));
    const error = await waiter.wait('t1', hash(4), 5_000).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransactionNotMinedError);
    expect((error as TransactionNotMinedError).status).toBe(status);
    expect((error as TransactionNotMinedError).hash).toBe(hash(5));
    expect((error as Error).message).toContain(status);
    expect(f.receiptCalls).toEqual([]);
    expect(waiter.size).toBe(0);
  });

  it('a mined ledger state does not settle by itself: the node receipt does', async () => {
    const f = fixturePorts();
    waiter = new ReceiptWaiter(f.ports, POLL_MS);
    f.states.set('t1', ledger('mined', hash(1)));
    const result = waiter.wait('t1', hash(1), 5_000);
    await until(() => f.receiptCalls.length >= 3);
    expect(waiter.size).toBe(1);
    f.mined.set(hash(1), receiptOf(hash(1)));
    expect((await result).receipt.transactionHash).toBe(hash(1));
  });

  it('times out with ReceiptTimeoutError (hash and timeout) and forgets the waiter', async () => {
    const f = fixturePorts();
    waiter = new ReceiptWaiter(f.ports, POLL_MS);
    f.states.set('t1', ledger('submitted', hash(9)));
    const started = Date.now();
    const error = await waiter.wait('t1', hash(8), 60).catch((e: unknown) => e);
    expect(Date.now() - started).toBeGreaterThanOrEqual(60);
    expect(error).toBeInstanceOf(ReceiptTimeoutError);
    expect((error as ReceiptTimeoutError).hash).toBe(hash(9));
    expect((error as ReceiptTimeoutError).timeoutMs).toBe(60);
    expect((error as Error).message).toContain('60 ms');
    expect(waiter.size).toBe(0);
    const rounds = f.ledgerCalls.length;
    await sleep(POLL_MS * 5);
    expect(f.ledgerCalls.length).toBe(rounds);
  });

  it('times out one waiter of a transaction while another one (longer timeout) keeps waiting and gets the receipt', async () => {
    const f = fixturePorts();
    waiter = new ReceiptWaiter(f.ports, POLL_MS);
    const short = waiter.wait('t1', hash(1), 30).catch((e: unknown) => e);
    const long = waiter.wait('t1', hash(1), 5_000);
    expect(await short).toBeInstanceOf(ReceiptTimeoutError);
    expect(waiter.size).toBe(1);
    f.mined.set(hash(1), receiptOf(hash(1)));
    expect((await long).hash).toBe(hash(1));
  });

  it('a failed ledger read does not stop the node lookups of the known hashes', async () => {
    const f = fixturePorts();
    const roundErrors: Error[] = [];
    waiter = new ReceiptWaiter(f.ports, POLL_MS, (e) => roundErrors.push(e));
    f.failLedger(new Error('postgres down'));
    f.mined.set(hash(3), receiptOf(hash(3)));
    const result = await waiter.wait('t1', hash(3), 5_000);
    expect(result.hash).toBe(hash(3));
    expect(f.receiptCalls).toEqual([hash(3)]);
    expect(roundErrors.map((e) => e.message)).toEqual(['postgres down']);
  });

  it('a failed node lookup is reported and retried next round', async () => {
    const f = fixturePorts();
    const roundErrors: Error[] = [];
    waiter = new ReceiptWaiter(f.ports, POLL_MS, (e) => roundErrors.push(e));
    f.failReceipt(new Error('node down'));
    const result = waiter.wait('t1', hash(1), 5_000);
    await until(() => roundErrors.length >= 2);
    f.failReceipt(undefined);
    f.mined.set(hash(1), receiptOf(hash(1)));
    expect((await result).hash).toBe(hash(1));
    expect(roundErrors.every((e) => e.message === 'node down')).toBe(true);
  });

  it('never runs two rounds at once, however slow a round is', async () => {
    const f = fixturePorts();
    let active = 0;
    let maxActive = 0;
    const ports: ReceiptWaiterPorts = {
      ledgerStates: async (ids) => {
        active++;
        maxActive = Math.max(maxActive, active);
        await sleep(POLL_MS * 3);
        active--;
        return f.ports.ledgerStates(ids);
      },
      receipt: f.ports.receipt,
    };
    waiter = new ReceiptWaiter(ports, 1);
    const a = waiter.wait('t1', hash(1), 5_000);
    await sleep(POLL_MS);
    const b = waiter.wait('t2', hash(2), 5_000); // arrives during a round
    await until(() => f.ledgerCalls.length >= 3);
    f.mined.set(hash(1), receiptOf(hash(1)));
    f.mined.set(hash(2), receiptOf(hash(2)));
    await Promise.all([a, b]);
    expect(maxActive).toBe(1);
  });

  it('close() rejects every waiter, stops the rounds and refuses new waits', async () => {
    const f = fixturePorts();
    waiter = new ReceiptWaiter(f.ports, POLL_MS);
    const waits = [waiter.wait('t1', hash(1), 5_000), waiter.wait('t2', hash(2), 5_000), waiter.wait('t2', hash(2), 5_000)].map((p) => p.catch((e: unknown) => e));
    await until(() => f.ledgerCalls.length >= 1);
    waiter.close();
    for (const error of await Promise.all(waits)) {
      expect(error).toBeInstanceOf(Error);
      expect((error as Error).message).toMatch(/shutting down/);
    }
    expect(waiter.size).toBe(0);
    const rounds = f.ledgerCalls.length;
    await sleep(POLL_MS * 5);
    expect(f.ledgerCalls.length).toBeLessThanOrEqual(rounds + 1); // at most the round already under way
    await expect(waiter.wait('t3', hash(3), 5_000)).rejects.toThrow(/shutting down/);
  });

  it('close() during a round\'s node lookup leaves no waiter behind', async () => {
    const f = fixturePorts();
    let answer!: (r: NodeReceipt | null) => void;
    const ports: ReceiptWaiterPorts = {
      ledgerStates: f.ports.ledgerStates,
      receipt: () => new Promise((resolve) => (answer = resolve)),
    };
    waiter = new ReceiptWaiter(ports, POLL_MS);
    const wait = waiter.wait('t1', hash(1), 5_000).catch((e: unknown) => e);
    await until(() => answer !== undefined);
    waiter.close();
    expect(await wait).toBeInstanceOf(Error);
    answer(null); // the round goes on after close
    await sleep(POLL_MS);
    expect(waiter.size).toBe(0);
  });
});
