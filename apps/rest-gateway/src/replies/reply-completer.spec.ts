import { RestErrorCode } from '../errors';
import type { LedgerState } from './receipt-waiter';
import type { NodeReceipt } from './reply-bodies';
import { completePendingReplies, LEDGER_LAG_MS, PENDING_META, type CompleterPorts, type PendingMeta, type StoredPending } from './reply-completer';

const hash = (n: number) => '0x' + n.toString(16).padStart(64, '0');
const uuid = (n: number) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
const FROM = '0x' + '1'.repeat(40);
const TO = '0x' + '2'.repeat(40);

const receiptOf = (h: string): NodeReceipt => ({
  transactionHash: h,
  transactionIndex: '0x0',
  blockHash: hash(999),
  blockNumber: '0x10',
  from: FROM,
  to: TO,
  cumulativeGasUsed: '0x5208',
  gasUsed: '0x5208',
  contractAddress: null,
  status: '0x1',
});

const RECEIVED = 1_700_000_000_000;
const meta = (n: number): PendingMeta => ({ kind: 'send', baseUrl: 'http://gw', requestId: `req-${n}`, receivedAt: RECEIVED + n, abiId: 'abi-1' });
/** "Now" for a reply just sent, and for one older than the ledger's lag. */
const FRESH = RECEIVED + 1_000;
const OLD = RECEIVED + LEDGER_LAG_MS + 1_000;

/** A pending reply as processAsync stores it: the hash it sent, the completion meta. */
const pending = (n: number, options: { sentHash?: string | null; withMeta?: boolean } = {}): StoredPending => {
  const sentHash = options.sentHash === undefined ? hash(n) : options.sentHash;
  return {
    id: `req-${n}`,
    body: {
      headers: { type: 'TransactionPending' },
      pending: true,
      requestPayload: `{"n":${n}}`,
      ...(sentHash ? { transactionHash: sentHash } : {}),
      ...(options.withMeta === false ? {} : { [PENDING_META]: meta(n) }),
    },
    transactionId: uuid(n),
    from: FROM,
    to: TO,
  };
};

const ledger = (status: string, h: string | null, nonce = 5n): LedgerState => ({ status, hash: h, nonce, blockNumber: status === 'mined' ? 16n : null });

/** Fixture ports: the reply store's rows, the node's receipts and the dispatcher's finish, as plain recorded functions. */
function fixturePorts(rows: Array<{ reply: StoredPending; ledger: LedgerState | null }>, receipts: Map<string, NodeReceipt>) {
  const saved: Array<Parameters<CompleterPorts['saveReply']>[0]> = [];
  const finished: Array<{ receipt: NodeReceipt; nonce: bigint; meta: PendingMeta }> = [];
  const receiptCalls: string[] = [];
  const limits: number[] = [];
  const ports: CompleterPorts = {
    pendingRepliesWithLedger: async (limit) => {
      limits.push(limit);
      return rows;
    },
    saveReply: async (input) => {
      saved.push(input);
      return true;
    },
    receipt: async (h) => {
      receiptCalls.push(h);
      return receipts.get(h) ?? null;
    },
    finish: async (receipt, nonce, m) => {
      finished.push({ receipt, nonce, meta: m });
      return { final: true, transactionHash: receipt.transactionHash, nonce: nonce.toString(), requestId: m.requestId };
    },
  };
  return { ports, saved, finished, receiptCalls, limits };
}

describe('completePendingReplies', () => {
  it.each(['mined', 'confirmed', 'failed'])('ledger %s: the receipt goes through finish and is saved as the final reply', async (status) => {
    const f = fixturePorts([{ reply: pending(1), ledger: ledger(status, hash(1), 9n) }], new Map([[hash(1), receiptOf(hash(1))]]));
    expect(await completePendingReplies(f.ports, 500, FRESH)).toBe(1);
    expect(f.receiptCalls).toEqual([hash(1)]);
    expect(f.finished).toEqual([{ receipt: receiptOf(hash(1)), nonce: 9n, meta: meta(1) }]);
    expect(f.saved).toEqual([
      { id: 'req-1', transactionId: uuid(1), from: FROM, to: TO, pending: false, body: { final: true, transactionHash: hash(1), nonce: '9', requestId: 'req-1' } },
    ]);
  });

  it('mined under a replacement hash (fee bump): the ledger hash and the sent one are both asked, the mined one answers', async () => {
    const f = fixturePorts([{ reply: pending(1), ledger: ledger('mined', hash(0x51)) }], new Map([[hash(0x51), receiptOf(hash(0x51))]]));
    expect(await completePendingReplies(f.ports, 500, FRESH)).toBe(1);
    expect([...f.receiptCalls].sort()).toEqual([hash(1), hash(0x51)].sort());
    expect(f.finished.map((x) => x.receipt.transactionHash)).toEqual([hash(0x51)]);
  });

  it.each(['rejected', 'abandoned', 'replaced'])('ledger %s and no receipt: an Error reply with the NotMined code, the hash and the request payload', async (status) => {
    const f = fixturePorts([{ reply: pending(2), ledger: ledger(status, hash(2)) }], new Map());
    expect(await completePendingReplies(f.ports, 500, FRESH)).toBe(1);
    expect(f.receiptCalls).toEqual([hash(2)]);
    expect(f.finished).toEqual([]);
    expect(f.saved).toHaveLength(1);
    const { body, ...where } = f.saved[0];
    expect(where).toEqual({ id: 'req-2', transactionId: uuid(2), from: FROM, to: TO, pending: false });
    expect(body).toMatchObject({
      headers: { type: 'Error', requestId: 'req-2', timeReceived: new Date(meta(2).receivedAt).toISOString() },
      errorCode: RestErrorCode.NotMined,
      requestPayload: '{"n":2}',
      transactionHash: hash(2),
    });
    expect((body as { errorCode: string }).errorCode).toBe('HSM40003');
    expect((body as { errorMessage: string }).errorMessage).toContain(status);
  });

  it('ledger gave up, but the hash the reply recorded was mined after all: the receipt, not an Error', async () => {
    const f = fixturePorts([{ reply: pending(3), ledger: ledger('abandoned', null) }], new Map([[hash(3), receiptOf(hash(3))]]));
    expect(await completePendingReplies(f.ports, 500, FRESH)).toBe(1);
    expect(f.saved[0].body).toMatchObject({ final: true, transactionHash: hash(3) });
  });

  it('ledger gave up without a hash of its own: the Error reply names the hash the reply recorded', async () => {
    const f = fixturePorts([{ reply: pending(3), ledger: ledger('rejected', null) }], new Map());
    expect(await completePendingReplies(f.ports, 500, FRESH)).toBe(1);
    expect(f.saved[0].body).toMatchObject({ errorCode: 'HSM40003', transactionHash: hash(3) });
  });

  it.each(['allocated', 'signed', 'submitted'])('ledger %s and the reply is fresh: nothing, not even a node lookup', async (status) => {
    const f = fixturePorts([{ reply: pending(4), ledger: ledger(status, status === 'submitted' ? hash(4) : null) }], new Map([[hash(4), receiptOf(hash(4))]]));
    expect(await completePendingReplies(f.ports, 500, FRESH)).toBe(0);
    expect(f.receiptCalls).toEqual([]);
    expect(f.saved).toEqual([]);
  });

  it('ledger submitted, reply older than the ledger lag, not mined: nothing', async () => {
    const f = fixturePorts([{ reply: pending(4), ledger: ledger('submitted', hash(4)) }], new Map());
    expect(await completePendingReplies(f.ports, 500, OLD)).toBe(0);
    expect(f.receiptCalls).toEqual([hash(4)]);
    expect(f.saved).toEqual([]);
  });

  it('a replica died between broadcast and `submitted` (ledger row without hash): found by the reply\'s own hash once older than the lag', async () => {
    const rows = [{ reply: pending(5), ledger: ledger('signed', null, 12n) }];
    const receipts = new Map([[hash(5), receiptOf(hash(5))]]);
    const fresh = fixturePorts(rows, receipts);
    expect(await completePendingReplies(fresh.ports, 500, FRESH)).toBe(0);
    const old = fixturePorts(rows, receipts);
    expect(await completePendingReplies(old.ports, 500, OLD)).toBe(1);
    expect(old.finished).toEqual([{ receipt: receiptOf(hash(5)), nonce: 12n, meta: meta(5) }]);
  });

  it('mined but the node has no receipt (reorged away): nothing', async () => {
    const f = fixturePorts([{ reply: pending(5), ledger: ledger('mined', hash(5)) }], new Map());
    expect(await completePendingReplies(f.ports, 500, OLD)).toBe(0);
    expect(f.receiptCalls).toEqual([hash(5)]);
    expect(f.finished).toEqual([]);
    expect(f.saved).toEqual([]);
  });

  it('no ledger row, or a pending reply without its meta: nothing', async () => {
    const f = fixturePorts(
      [
        { reply: pending(6), ledger: null },
        { reply: pending(7, { withMeta: false }), ledger: ledger('mined', hash(7)) },
      ],
      new Map([
        [hash(6), receiptOf(hash(6))],
        [hash(7), receiptOf(hash(7))],
      ]),
    );
    expect(await completePendingReplies(f.ports, 500, OLD)).toBe(0);
    expect(f.saved).toEqual([]);
  });

  it('completes a mixed batch and counts only what it completed; passes the limit on', async () => {
    const f = fixturePorts(
      [
        { reply: pending(1), ledger: ledger('mined', hash(1)) },
        { reply: pending(2), ledger: ledger('submitted', hash(2)) },
        { reply: pending(3), ledger: ledger('abandoned', hash(3)) },
        { reply: pending(4), ledger: ledger('mined', hash(4)) }, // no receipt
      ],
      new Map([[hash(1), receiptOf(hash(1))]]),
    );
    expect(await completePendingReplies(f.ports, 25, FRESH)).toBe(2);
    expect(f.limits).toEqual([25]);
    expect(f.saved.map((s) => s.id).sort()).toEqual(['req-1', 'req-3']);
  });

  it('reads 500 rows by default', async () => {
    const f = fixturePorts([], new Map());
    expect(await completePendingReplies(f.ports)).toBe(0);
    expect(f.limits).toEqual([500]);
  });
});
