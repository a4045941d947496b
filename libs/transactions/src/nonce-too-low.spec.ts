import { Routes, type RecordOutcomeRequest, type Route } from '@hsm-signer/contracts';
import { NonceTooLowError, parseTransactionRequest } from '@hsm-signer/ethereum';
import { NatsBus } from '@hsm-signer/messaging';
import { serveFixture, startAnvil, startNatsServer, waitFor, type AnvilNode, type NatsServer } from '@hsm-signer/testing';
import { Wallet, keccak256 } from 'ethers';
import type { Subscription } from 'nats';
import { AccountDirectory } from './account-directory';
import { EthNodeClient } from './eth-node-client';
import { requestPayloadHash } from './payload-hash';
import { TransactionSender } from './transaction-sender';

// The "nonce too low" path of the send path (issue 3 scope 4) against a real anvil and a private
// nats-server. FIXTURES — not the real services: NATS responders speaking the real wire contract for
// key-discovery, signer-service (an in-memory ethers Wallet) and a nonce-service whose counter the
// test sets, so the ledger can be made to lag behind the chain.


describe('TransactionSender: nonce too low → reconcile and retry with a new nonce (real anvil, FIXTURES)', () => {
  let nats: NatsServer;
  let anvil: AnvilNode;
  let bus: NatsBus;
  let sender: TransactionSender;
  const subs: Subscription[] = [];
  const wallet = Wallet.createRandom();
  const from = wallet.address.toLowerCase();
  let counter = 0;
  const allocations: { nonce: number; requestId?: string; payloadHash?: string }[] = [];
  const outcomes: RecordOutcomeRequest[] = [];

  function serve<Req, Rep>(route: Route<Req, Rep>, handler: (req: Req) => Rep | Promise<Rep>): void {
    subs.push(serveFixture(bus.connection, route, handler) as Subscription);
  }

  beforeAll(async () => {
    [nats, anvil] = await Promise.all([startNatsServer(), startAnvil()]);
    bus = await NatsBus.connect({ servers: nats.url, name: 'nonce-too-low-spec', requestTimeoutMs: 2_000 });
    await anvil.rpc('anvil_setBalance', [from, '0x' + (10n ** 20n).toString(16)]);
    serve(Routes.accountsResolve, () => ({ account: { address: from, backendId: 'fixture', keyId: 'k', status: 'active' as const } }));
    serve(Routes.nonceAllocate, (req) => {
      const nonce = counter++;
      allocations.push({ nonce, requestId: req.requestId, payloadHash: req.payloadHash });
      return { transactionId: `t${allocations.length}`, nonce };
    });
    serve(Routes.nonceRecordOutcome, (req) => {
      outcomes.push(req);
      return { ok: 1 as const };
    });
    serve(Routes.signerSignTransaction, async ({ tx }) => {
      const raw = await wallet.signTransaction({
        type: tx.type, chainId: tx.chainId, nonce: tx.nonce, to: tx.to, value: BigInt(tx.value), data: tx.data, gasLimit: BigInt(tx.gasLimit),
        maxFeePerGas: tx.maxFeePerGas === undefined ? undefined : BigInt(tx.maxFeePerGas),
        maxPriorityFeePerGas: tx.maxPriorityFeePerGas === undefined ? undefined : BigInt(tx.maxPriorityFeePerGas),
        gasPrice: tx.gasPrice === undefined ? undefined : BigInt(tx.gasPrice),
      });
      return { raw, hash: keccak256(raw) };
    });
    await bus.connection.flush(); // the fixtures' subscriptions are on the server before the first request
    sender = new TransactionSender({ bus, node: new EthNodeClient({ url: anvil.url, timeoutMs: 2_000 }), accounts: new AccountDirectory({ bus }), gasMultiplier: 1 });
  });
  afterAll(async () => {
    for (const s of subs) s.unsubscribe();
    await bus?.close();
    await nats?.stop();
    await anvil?.stop();
  });

  it('records the consumed nonce as rejected and sends again at a new nonce, without the client seeing an error', async () => {
    // The key is used outside the system: nonces 0 and 1 are mined; the ledger still hands out 0.
    for (let n = 0; n < 2; n++) {
      const raw = await wallet.signTransaction({ type: 2, chainId: anvil.chainId, nonce: n, to: from, value: 0n, gasLimit: 21_000n, maxFeePerGas: 10n ** 10n, maxPriorityFeePerGas: 1n });
      await anvil.rpc('eth_sendRawTransaction', [raw]);
    }
    const result = await sender.send({ from, to: from, value: '0x1' }, { requestId: 'r-1' });
    expect(result.nonce).toBe(2);
    expect(allocations.map((a) => a.nonce)).toEqual([0, 1, 2]);
    await sender.flush(); // the `submitted` record follows the answer in the background
    // With a request id every attempt records `signed` (hash + raw) before its broadcast.
    expect(outcomes.map((o) => o.outcome)).toEqual(['signed', 'rejected', 'signed', 'rejected', 'signed', 'submitted']);
    expect(outcomes.filter((o) => o.outcome === 'signed').every((o) => typeof o.hash === 'string' && typeof o.raw === 'string')).toBe(true);
    expect(outcomes[1].error).toMatch(/nonce too low/i);
    // The same request id and payload hash on every allocation (the id is free again after a rejection).
    expect(new Set(allocations.map((a) => `${a.requestId}/${a.payloadHash}`)).size).toBe(1);
    expect(allocations[0].payloadHash).toBe(requestPayloadHash(parseTransactionRequest({ from, to: from, value: '0x1' })));
    // The send at nonce 2 reaches the chain (automine mines it right after the send returns; on a busy
    // machine the block can come a moment later, so wait for it, bounded).
    await waitFor('nonce 2 mined', async () => (await anvil.rpc('eth_getTransactionCount', [from, 'latest'])) === '0x3', 10_000, 50);
  });

  it('gives up after a bounded number of new nonces and returns the node error', async () => {
    counter = 0; // far behind the chain (3 mined): three allocations, all too low
    allocations.length = 0;
    outcomes.length = 0;
    await expect(sender.send({ from, to: from, value: '0x2' })).rejects.toBeInstanceOf(NonceTooLowError);
    expect(allocations).toHaveLength(3);
    expect(outcomes.map((o) => o.outcome)).toEqual(['rejected', 'rejected', 'rejected']);
  });

  it('hashes equivalent spellings of one request alike and different payloads differently', () => {
    const a = requestPayloadHash(parseTransactionRequest({ from: from.toUpperCase().replace('0X', '0x'), to: from, value: '0x01', data: '0xAB' }));
    const b = requestPayloadHash(parseTransactionRequest({ from, to: from, value: '0x1', data: '0xab' }));
    expect(a).toBe(b);
    expect(requestPayloadHash(parseTransactionRequest({ from, to: from, value: '0x2', data: '0xab' }))).not.toBe(b);
  });
});
