import type { RestAsyncRequest, RestTransaction } from '@hsm-signer/contracts';
import { NodeError, NoUnlockedAccountError, ServiceUnavailableError } from '@hsm-signer/ethereum';
import type { SendResult } from '@hsm-signer/transactions';
import { RestError, RestErrorCode } from '../errors';
import { ReceiptWaiter, type LedgerState, type ReceiptWaiterPorts } from '../replies/receipt-waiter';
import type { NodeReceipt } from '../replies/reply-bodies';
import { PENDING_META, type PendingMeta } from '../replies/reply-completer';
import { TransactionDispatcher, type DispatcherPorts, type RequestContext, type RestTransactionRequest } from './transaction-dispatcher';

const FROM = '0x' + 'f'.repeat(40);
const TO = '0x' + 'c'.repeat(40);
const hash = (n: number) => '0x' + n.toString(16).padStart(64, '0');
const RECEIVED = Date.parse('2026-12-01T09:00:00.000Z');
const SYNC_TIMEOUT_MS = 150;

const tx: RestTransaction = { from: FROM, to: TO, data: '0x60fe47b1' + '0'.repeat(63) + '5' };
const sendRequest: RestTransactionRequest = { kind: 'send', tx, abiId: 'abi-1' };
const deployTx: RestTransaction = { from: FROM, data: '0x6080' };
const deployRequest: RestTransactionRequest = { kind: 'deploy', tx: deployTx, abiId: 'abi-2', registerAs: 'MyToken' };
const context = (requestId = 'req-1'): RequestContext => ({ requestId, receivedAt: RECEIVED, baseUrl: 'https://gw.example/api', requestPayload: '{"x":"5"}' });

const receiptOf = (h: string, over: Partial<NodeReceipt> = {}): NodeReceipt => ({
  transactionHash: h,
  transactionIndex: '0x1',
  blockHash: hash(0xb10c),
  blockNumber: '0x64',
  from: FROM,
  to: TO,
  cumulativeGasUsed: '0x5208',
  gasUsed: '0x5208',
  contractAddress: null,
  status: '0x1',
  ...over,
});

/**
 * Fixture ports: the send path, the reply store and the contract registry as recorded plain
 * functions; the node and ledger behind the real ReceiptWaiter as maps. The reply store keeps
 * RestStore's rules (createPendingReply: 'exists' for a stored id; a final reply is never overwritten).
 */
function fixture() {
  const sends: Array<{ tx: RestTransaction; requestId: string }> = [];
  let sendResult: (n: number) => Promise<SendResult> = async (n) => ({ hash: hash(n), nonce: 40 + n, transactionId: `ledger-${n}`, duplicate: false });
  const stored = new Map<string, { body: object; pending: boolean; transactionId?: string | null; from?: string | null; to?: string | null }>();
  const saved: Array<Parameters<DispatcherPorts['replies']['saveReply']>[0]> = [];
  const events: string[] = [];
  const registered: Array<[string, string, string | undefined]> = [];
  let registerFailure: Error | undefined;
  const receipts = new Map<string, NodeReceipt>();
  const states = new Map<string, LedgerState>();
  const published: RestAsyncRequest[] = [];
  let publishFailure: Error | undefined;

  const replies = {
    createPendingReply: async (input: { id: string; body: object; transactionId?: string | null; from?: string | null; to?: string | null }) => {
      events.push(`createPendingReply:${input.id}`);
      if (stored.has(input.id)) return 'exists' as const;
      stored.set(input.id, { ...input, pending: true });
      return 'created' as const;
    },
    saveReply: async (input: Parameters<DispatcherPorts['replies']['saveReply']>[0]) => {
      saved.push(input);
      const current = stored.get(input.id);
      if (current && !current.pending) return false;
      stored.set(input.id, input);
      return true;
    },
    /** Not used by the dispatcher today: a pending-only delete, as the fix proposed in the report would need. */
    deletePendingReply: async (id: string) => {
      if (stored.get(id)?.pending) stored.delete(id);
    },
  };
  const ports: DispatcherPorts = {
    send: (t, requestId) => {
      sends.push({ tx: t, requestId });
      events.push(`send:${requestId}`);
      return sendResult(sends.length);
    },
    replies,
    registerDeployed: async (address, abiId, registerAs) => {
      if (registerFailure) throw registerFailure;
      registered.push([address, abiId, registerAs]);
    },
  };
  const waiterPorts: ReceiptWaiterPorts = {
    ledgerStates: async (ids) => new Map(ids.filter((id) => states.has(id)).map((id) => [id, states.get(id) as LedgerState])),
    receipt: async (h) => receipts.get(h) ?? null,
  };
  const queue = {
    publish: async (message: RestAsyncRequest) => {
      events.push(`publish:${message.id}`);
      if (publishFailure) throw publishFailure;
      published.push(message);
      return { duplicate: false };
    },
  };
  const log = { warn: jest.fn() };
  const waiter = new ReceiptWaiter(waiterPorts, 5);
  const dispatcher = new TransactionDispatcher(ports, waiter, queue, SYNC_TIMEOUT_MS, log);
  return {
    dispatcher,
    waiter,
    sends,
    stored,
    saved,
    events,
    registered,
    receipts,
    states,
    published,
    log,
    sendWith: (f: (n: number) => Promise<SendResult>) => (sendResult = f),
    failRegister: (e: Error | undefined) => (registerFailure = e),
    failPublish: (e: Error | undefined) => (publishFailure = e),
  };
}

async function restErrorOf(p: Promise<unknown>): Promise<RestError> {
  const error = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(RestError);
  return error as RestError;
}

describe('TransactionDispatcher', () => {
  let f: ReturnType<typeof fixture>;
  beforeEach(() => (f = fixture()));
  afterEach(() => f.waiter.close());

  describe('sync', () => {
    it('sends with the request id and answers 200 with the receipt once mined', async () => {
      f.receipts.set(hash(1), receiptOf(hash(1)));
      const answer = await f.dispatcher.sync(sendRequest, context('req-sync'));
      expect(f.sends).toEqual([{ tx, requestId: 'req-sync' }]);
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({
        headers: { type: 'TransactionSuccess', requestId: 'req-sync', timeReceived: '2026-12-01T09:00:00.000Z' },
        transactionHash: hash(1),
        nonce: '41',
        status: '1',
        blockNumber: '100',
        from: FROM,
        to: TO,
      });
    });

    it("the receipt's headers name the ABI (requestABIId), as the asynchronous reply of the same request does", async () => {
      f.receipts.set(hash(1), receiptOf(hash(1)));
      const sync = await f.dispatcher.sync(sendRequest, context('req-sync'));
      const meta: PendingMeta = { kind: 'send', baseUrl: 'https://gw.example/api', requestId: 'req-async', receivedAt: RECEIVED, abiId: 'abi-1' };
      const async = await f.dispatcher.finishPending(receiptOf(hash(1)), 41n, meta);
      expect((async['headers'] as Record<string, unknown>)['requestABIId']).toBe('abi-1');
      expect((sync.body as { headers: Record<string, unknown> }).headers['requestABIId']).toBe('abi-1');
    });

    it('answers with the receipt of the replacement the ledger now has', async () => {
      f.states.set('ledger-1', { status: 'mined', hash: hash(77), nonce: 41n, blockNumber: 100n });
      f.receipts.set(hash(77), receiptOf(hash(77)));
      const answer = await f.dispatcher.sync(sendRequest, context());
      expect((answer.body as { transactionHash: string }).transactionHash).toBe(hash(77));
    });

    it('answers 500 with the receipt when the transaction was mined with status 0', async () => {
      f.receipts.set(hash(1), receiptOf(hash(1), { status: '0x0' }));
      const answer = await f.dispatcher.sync(sendRequest, context());
      expect(answer.status).toBe(500);
      expect(answer.body).toMatchObject({ headers: { type: 'TransactionFailure' }, status: '0', transactionHash: hash(1) });
    });

    it('no receipt within the sync timeout: RestError 500 FFEC100107 naming the hash', async () => {
      const started = Date.now();
      const error = await restErrorOf(f.dispatcher.sync(sendRequest, context()));
      expect(Date.now() - started).toBeGreaterThanOrEqual(SYNC_TIMEOUT_MS);
      expect([error.status, error.code]).toEqual([500, RestErrorCode.ReceiptTimeout]);
      expect(error.code).toBe('FFEC100107');
      expect(error.message).toContain(hash(1));
    });

    it('the ledger gave the transaction up: RestError 500 HSM40003', async () => {
      f.states.set('ledger-1', { status: 'rejected', hash: hash(1), nonce: 41n, blockNumber: null });
      const error = await restErrorOf(f.dispatcher.sync(sendRequest, context()));
      expect([error.status, error.code]).toEqual([500, RestErrorCode.NotMined]);
      expect(error.message).toContain('rejected');
    });

    it('the gateway shuts down while waiting: RestError 500 (internal, nothing more said)', async () => {
      const pending = restErrorOf(f.dispatcher.sync(sendRequest, context()));
      await new Promise((r) => setTimeout(r, 20));
      f.waiter.close();
      const error = await pending;
      expect([error.status, error.code]).toEqual([500, RestErrorCode.Internal]);
    });

    it.each([
      ['the node refuses (NodeError)', () => new NodeError({ code: -32000, message: 'insufficient funds for gas * price + value' }), 400, 'HSM40002', /insufficient funds/],
      ['a service is down', () => new ServiceUnavailableError('nonce-service', 'down'), 503, 'HSM40001', /nonce-service is not available/],
      ['no key for from', () => new NoUnlockedAccountError(FROM), 400, 'HSM10002', new RegExp(FROM)],
      ['anything else', () => new Error('secret internals'), 500, 'HSM99999', /^Internal error/],
    ])('send fails, %s: RestError %i %s, nothing waited for', async (_name, makeError, status, code, message) => {
      f.sendWith(async () => {
        throw makeError();
      });
      const error = await restErrorOf(f.dispatcher.sync(sendRequest, context()));
      expect([error.status, error.code]).toEqual([status, code]);
      expect(error.message).toMatch(message);
      expect(error.message).not.toContain('secret internals');
      expect(f.waiter.size).toBe(0);
    });

    it('a deploy: registers the new contract (lowercase address, ABI, name) and adds the openapi/apiexerciser links', async () => {
      f.receipts.set(hash(1), receiptOf(hash(1), { to: null, contractAddress: '0xABCDEF' + '0'.repeat(34) }));
      const answer = await f.dispatcher.sync(deployRequest, context());
      expect(answer.status).toBe(200);
      expect(f.registered).toEqual([['0xabcdef' + '0'.repeat(34), 'abi-2', 'MyToken']]);
      expect(answer.body).toMatchObject({
        contractAddress: '0xabcdef' + '0'.repeat(34),
        openapi: 'https://gw.example/api/contracts/MyToken?openapi',
        apiexerciser: 'https://gw.example/api/contracts/MyToken?ui',
        registerAs: 'MyToken',
      });
    });

    it('a deploy whose registration fails: still the receipt, with registerError, and a warning', async () => {
      f.receipts.set(hash(1), receiptOf(hash(1), { to: null, contractAddress: '0x' + 'd'.repeat(40) }));
      f.failRegister(new Error('name MyToken is taken'));
      const answer = await f.dispatcher.sync(deployRequest, context());
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({ contractAddress: '0x' + 'd'.repeat(40), registerError: 'name MyToken is taken' });
      expect(answer.body).not.toHaveProperty('openapi');
      expect(f.log.warn).toHaveBeenCalledTimes(1);
    });

    it('a failed deploy (status 0) or one without an ABI registers nothing', async () => {
      f.receipts.set(hash(1), receiptOf(hash(1), { to: null, contractAddress: '0x' + 'd'.repeat(40), status: '0x0' }));
      expect((await f.dispatcher.sync(deployRequest, context('a'))).status).toBe(500);
      f.receipts.set(hash(2), receiptOf(hash(2), { to: null, contractAddress: '0x' + 'e'.repeat(40) }));
      const noAbi = await f.dispatcher.sync({ kind: 'deploy', tx: deployTx }, context('b'));
      expect(noAbi.body).not.toHaveProperty('openapi');
      expect(f.registered).toEqual([]);
    });
  });

  describe('async', () => {
    it('publishes the request and answers 202 {sent, id}; no reply stored yet', async () => {
      const answer = await f.dispatcher.async(deployRequest, context('req-a'));
      expect(answer).toEqual({ status: 202, body: { sent: true, id: 'req-a' } });
      expect(f.published).toEqual([
        { id: 'req-a', kind: 'deploy', tx: deployTx, receivedAt: RECEIVED, baseUrl: 'https://gw.example/api', requestPayload: '{"x":"5"}', abiId: 'abi-2', registerAs: 'MyToken' },
      ]);
      expect(f.stored.size).toBe(0);
      expect(f.sends).toEqual([]);
    });

    it('acktype=receipt: the pending reply is written before the request is published', async () => {
      const answer = await f.dispatcher.async(sendRequest, context('req-r'), { ackType: 'receipt' });
      expect(answer.status).toBe(202);
      expect(f.events).toEqual(['createPendingReply:req-r', 'publish:req-r']);
      const record = f.stored.get('req-r');
      expect(record).toMatchObject({ pending: true, from: FROM, to: TO });
      expect(record?.body).toMatchObject({ headers: { type: 'TransactionPending', requestId: 'req-r', requestABIId: 'abi-1' }, pending: true, requestPayload: '{"x":"5"}' });
    });

    it('acktype=receipt with an id used before: 409 FFEC100219, nothing published again', async () => {
      await f.dispatcher.async(sendRequest, context('req-dup'), { ackType: 'receipt' });
      const error = await restErrorOf(f.dispatcher.async(sendRequest, context('req-dup'), { ackType: 'receipt' }));
      expect([error.status, error.code]).toEqual([409, RestErrorCode.DuplicateRequestId]);
      expect(error.code).toBe('FFEC100219');
      expect(error.message).toContain('req-dup');
      expect(f.published.map((m) => m.id)).toEqual(['req-dup']);
    });

    it('JetStream refuses the request: 503 HSM40001, saying nothing was sent', async () => {
      f.failPublish(new Error('no responders'));
      const error = await restErrorOf(f.dispatcher.async(sendRequest, context()));
      expect([error.status, error.code]).toEqual([503, RestErrorCode.Unavailable]);
      expect(error.message).toMatch(/no responders.*nothing was sent, retry/);
    });

    it('acktype=receipt, JetStream refuses: the retry the 503 asks for is accepted with the same id (not 409)', async () => {
      f.failPublish(new Error('no responders'));
      expect((await restErrorOf(f.dispatcher.async(sendRequest, context('req-retry'), { ackType: 'receipt' }))).status).toBe(503);
      f.failPublish(undefined);
      const answer = await f.dispatcher.async(sendRequest, context('req-retry'), { ackType: 'receipt' }).catch((e: unknown) => e);
      expect(answer).toEqual({ status: 202, body: { sent: true, id: 'req-retry' } });
    });
  });

  describe('processAsync', () => {
    const accepted = (over: Partial<RestAsyncRequest> = {}): RestAsyncRequest => ({
      id: 'req-w',
      kind: 'send',
      tx,
      receivedAt: RECEIVED,
      baseUrl: 'https://gw.example/api',
      requestPayload: '{"x":"5"}',
      abiId: 'abi-1',
      ...over,
    });

    it('sends with the request id and stores the pending reply with the hash, nonce, ledger id and the completion meta', async () => {
      expect(await f.dispatcher.processAsync(accepted(), { attempt: 1, last: false })).toBe('done');
      expect(f.sends).toEqual([{ tx, requestId: 'req-w' }]);
      expect(f.saved).toHaveLength(1);
      const { body, ...where } = f.saved[0];
      expect(where).toEqual({ id: 'req-w', from: FROM, to: TO, pending: true, transactionId: 'ledger-1' });
      expect(body).toMatchObject({
        headers: { type: 'TransactionPending', requestId: 'req-w', requestABIId: 'abi-1' },
        pending: true,
        requestPayload: '{"x":"5"}',
        transactionHash: hash(1),
        nonce: '41',
        [PENDING_META]: { kind: 'send', baseUrl: 'https://gw.example/api', requestId: 'req-w', receivedAt: RECEIVED, abiId: 'abi-1' },
      });
      expect((body as Record<string, PendingMeta>)[PENDING_META]).not.toHaveProperty('registerAs');
    });

    it('a deploy keeps registerAs in the meta; a deploy has no to', async () => {
      await f.dispatcher.processAsync(accepted({ kind: 'deploy', tx: deployTx, abiId: 'abi-2', registerAs: 'MyToken' }), { attempt: 1, last: false });
      expect(f.saved[0].to).toBeNull();
      expect((f.saved[0].body as Record<string, unknown>)[PENDING_META]).toEqual({
        kind: 'deploy',
        baseUrl: 'https://gw.example/api',
        requestId: 'req-w',
        receivedAt: RECEIVED,
        abiId: 'abi-2',
        registerAs: 'MyToken',
      });
    });

    it("a 503-class failure: 'retry' and nothing stored, while deliveries remain", async () => {
      f.sendWith(async () => {
        throw new ServiceUnavailableError('nonce-service', 'down');
      });
      expect(await f.dispatcher.processAsync(accepted(), { attempt: 2, last: false })).toBe('retry');
      expect(f.saved).toEqual([]);
      expect(f.log.warn).toHaveBeenCalledWith(expect.objectContaining({ id: 'req-w', attempt: 2 }), expect.any(String));
    });

    it("a 503-class failure on the last delivery: an Error reply (HSM40001), 'done'", async () => {
      f.sendWith(async () => {
        throw new ServiceUnavailableError('nonce-service', 'down');
      });
      expect(await f.dispatcher.processAsync(accepted(), { attempt: 5, last: true })).toBe('done');
      expect(f.saved).toHaveLength(1);
      expect(f.saved[0]).toMatchObject({ id: 'req-w', pending: false, from: FROM, to: TO });
      expect(f.saved[0].body).toMatchObject({
        headers: { type: 'Error', requestId: 'req-w' },
        errorCode: 'HSM40001',
        errorMessage: 'nonce-service is not available: down',
        requestPayload: '{"x":"5"}',
      });
    });

    it("the node refuses (NodeError): an Error reply with HSM40002 and the node's message at once, 'done'", async () => {
      f.sendWith(async () => {
        throw new NodeError({ code: -32000, message: 'nonce too low' });
      });
      expect(await f.dispatcher.processAsync(accepted(), { attempt: 1, last: false })).toBe('done');
      expect(f.saved).toHaveLength(1);
      expect(f.saved[0].pending).toBe(false);
      expect(f.saved[0].body).toMatchObject({ headers: { type: 'Error' }, errorCode: RestErrorCode.NodeRejected, errorMessage: 'nonce too low', requestPayload: '{"x":"5"}' });
      expect(f.saved[0].body).not.toHaveProperty('transactionHash');
    });

    it('the Error reply replaces an acktype=receipt pending record', async () => {
      await f.dispatcher.async(sendRequest, context('req-w'), { ackType: 'receipt' });
      f.sendWith(async () => {
        throw new NodeError({ code: -32000, message: 'insufficient funds' });
      });
      await f.dispatcher.processAsync(accepted(), { attempt: 1, last: false });
      expect(f.stored.get('req-w')).toMatchObject({ pending: false, body: { errorCode: 'HSM40002' } });
    });
  });

  describe('finishPending (the completer)', () => {
    it('finishes a deploy from the meta processAsync stored: receipt, registration, links, headers', async () => {
      await f.dispatcher.processAsync(
        { id: 'req-d', kind: 'deploy', tx: deployTx, receivedAt: RECEIVED, baseUrl: 'http://h:8080', requestPayload: '{}', abiId: 'abi-2', registerAs: 'Coin' },
        { attempt: 1, last: false },
      );
      const meta = (f.saved[0].body as Record<string, PendingMeta>)[PENDING_META];
      const body = await f.dispatcher.finishPending(receiptOf(hash(1), { to: null, contractAddress: '0x' + 'A'.repeat(40) }), 41n, meta);
      expect(f.registered).toEqual([['0x' + 'a'.repeat(40), 'abi-2', 'Coin']]);
      expect(body).toMatchObject({
        headers: { type: 'TransactionSuccess', requestId: 'req-d', requestABIId: 'abi-2', timeReceived: '2026-12-01T09:00:00.000Z' },
        contractAddress: '0x' + 'a'.repeat(40),
        nonce: '41',
        openapi: 'http://h:8080/contracts/Coin?openapi',
        apiexerciser: 'http://h:8080/contracts/Coin?ui',
        registerAs: 'Coin',
      });
    });

    it('a deploy without a friendly name links by the address', async () => {
      const meta: PendingMeta = { kind: 'deploy', baseUrl: 'http://h', requestId: 'r', receivedAt: RECEIVED, abiId: 'abi-2' };
      const body = await f.dispatcher.finishPending(receiptOf(hash(1), { to: null, contractAddress: '0x' + 'b'.repeat(40) }), 1n, meta);
      expect(body['openapi']).toBe(`http://h/contracts/${'b'.repeat(40)}?openapi`);
      expect(body).not.toHaveProperty('registerAs');
      expect(f.registered).toEqual([['0x' + 'b'.repeat(40), 'abi-2', undefined]]);
    });

    it('a send gets the plain receipt', async () => {
      const meta: PendingMeta = { kind: 'send', baseUrl: 'http://h', requestId: 'r', receivedAt: RECEIVED };
      const body = await f.dispatcher.finishPending(receiptOf(hash(3)), 7n, meta);
      expect(body).toMatchObject({ transactionHash: hash(3), nonce: '7', status: '1' });
      expect(body).not.toHaveProperty('openapi');
      expect(f.registered).toEqual([]);
    });
  });
});
