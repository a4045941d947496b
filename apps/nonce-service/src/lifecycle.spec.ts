import { JSONCodec } from 'nats';
import { keccak256, parseEther, toBeHex, type Wallet } from 'ethers';
import type { Client } from 'pg';
import { ErrorCode, Routes } from '@hsm-signer/contracts';
import { RemoteServiceError, type NatsBus } from '@hsm-signer/messaging';
import { waitFor, type AnvilNode } from '@hsm-signer/testing';
import type { NonceService } from './app';
import { startServiceHarness, type ServiceHarness } from './service-harness.spec-support';

// Real Postgres, anvil and nats-server (JetStream on). Tracker timings shrunk to test scale.
jest.setTimeout(120_000);

const codec = JSONCodec<unknown>();
const GWEI = 1_000_000_000n;

describe('nonce-service transaction lifecycle (tracker, outbox, operator view; real Postgres, anvil, JetStream)', () => {
  let anvil: AnvilNode;
  let service: NonceService;
  let bus: NatsBus;
  let pg: Client;
  let chainId: number;
  let harness: ServiceHarness | undefined;
  const newWallet = () => {
    if (!harness) throw new Error('the harness did not start (see the beforeAll error)');
    return harness.newWallet();
  };
  const allocate = (address: string, extra: { requestId?: string; fixedNonce?: number } = {}) => bus.request(Routes.nonceAllocate, { chainId, address, ...extra });
  /** What a gateway does after allocation: sign, broadcast, record. */
  const sendAt = async (wallet: Wallet, allocation: { transactionId: string; nonce: number }, fees = { maxFeePerGas: 5n * GWEI, maxPriorityFeePerGas: GWEI }) => {
    const raw = await wallet.signTransaction({ type: 2, chainId, nonce: allocation.nonce, to: '0x' + '11'.repeat(20), value: 1n, gasLimit: 21_000n, ...fees });
    const hash = keccak256(raw);
    await anvil.rpc('eth_sendRawTransaction', [raw]);
    await bus.request(Routes.nonceRecordOutcome, { transactionId: allocation.transactionId, outcome: 'submitted', hash, raw });
    return { raw, hash };
  };
  const row = async (id: string) => (await pg.query(`SELECT status::text, hash, attempts, resends, kind, nonce::int, block_number::int, confirmations, error FROM transactions WHERE id = $1`, [id])).rows[0];
  const waitStatus = (id: string, statuses: string[], timeoutMs = 30_000) =>
    waitFor(`transaction ${id} in ${statuses.join('/')}`, async () => statuses.includes((await row(id))?.status), timeoutMs, 50);
  const minedCount = async (address: string) => Number(BigInt(await anvil.rpc<string>('eth_getTransactionCount', [address, 'latest'])));
  /** Every JetStream event of one ledger transaction, in stream order. */
  const streamEvents = async (transactionId: string) => {
    const jsm = await bus.connection.jetstreamManager();
    const info = await jsm.streams.info('HSM_TX');
    const out: { subject: string; status: string; hash: string | null; id: string }[] = [];
    for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
      const m = await jsm.streams.getMessage('HSM_TX', { seq }).catch(() => undefined);
      if (!m) continue;
      const e = codec.decode(m.data) as { transactionId: string; status: string; hash: string | null; id: string };
      if (e.transactionId === transactionId) out.push({ subject: m.subject, status: e.status, hash: e.hash, id: e.id });
    }
    return out;
  };

  beforeAll(async () => {
    harness = await startServiceHarness({
      name: 'nonce-lifecycle',
      env: {
        NONCE_LEASE_MS: '1000',
        NONCE_TRACK_INTERVAL_MS: '100',
        NONCE_STUCK_AFTER_MS: '1000',
        NONCE_GAP_FILL_AFTER_MS: '2500',
        NONCE_CONFIRMATIONS: '3',
        NONCE_MAX_FEE_PER_GAS_WEI: String(2_000n * GWEI),
        NONCE_OUTBOX_INTERVAL_MS: '50',
      },
    });
    ({ anvil, service, bus, pg, chainId } = harness);
  }, 60_000);

  afterAll(async () => {
    await harness?.close();
  });

  afterEach(async () => {
    await anvil.rpc('evm_setAutomine', [true]);
    // Back to a cheap base fee for the next test (the replacement test raises it).
    await anvil.rpc('anvil_setNextBlockBaseFeePerGas', [toBeHex(GWEI)]);
    await anvil.rpc('anvil_mine', [1]);
    // No two live transactions at one nonce, ever.
    const { rows } = await pg.query(
      `SELECT chain_id, from_address, nonce FROM transactions WHERE live_nonce IS NOT NULL GROUP BY 1,2,3 HAVING count(*) > 1`,
    );
    expect(rows).toEqual([]);
  });

  it('follows a receipt to mined, then confirmed after NONCE_CONFIRMATIONS blocks, and publishes each state to JetStream once', async () => {
    const { wallet, address } = await newWallet();
    const a = await allocate(address);
    expect(a.leaseMs).toBe(1000);
    const { hash } = await sendAt(wallet, a);
    await waitStatus(a.transactionId, ['mined']);
    expect(await row(a.transactionId)).toMatchObject({ hash, confirmations: 1 });
    await anvil.rpc('anvil_mine', [2]);
    await waitStatus(a.transactionId, ['confirmed']);
    expect(await row(a.transactionId)).toMatchObject({ confirmations: 3 });

    await waitFor('events relayed', async () => (await streamEvents(a.transactionId)).some((e) => e.status === 'confirmed'), 10_000, 50);
    const events = await streamEvents(a.transactionId);
    expect(events.map((e) => e.status)).toEqual(['allocated', 'submitted', 'mined', 'confirmed']);
    expect(events[1]).toMatchObject({ subject: `hsm.v1.tx.${chainId}.submitted`, hash });
    // Nats-Msg-Id dedupe: publishing an already relayed event again is stored once.
    const js = bus.connection.jetstream();
    const again = await js.publish(events[0].subject, codec.encode({}), { msgID: events[0].id });
    expect(again.duplicate).toBe(true);
    expect((await pg.query(`SELECT count(*)::int AS n FROM outbox_events WHERE transaction_id = $1 AND published_at IS NULL`, [a.transactionId])).rows[0].n).toBe(0);
  });

  it('stops polling an account once nothing is open: its tracker lease is no longer taken or renewed', async () => {
    const { wallet, address } = await newWallet();
    const a = await allocate(address);
    await sendAt(wallet, a);
    await waitStatus(a.transactionId, ['mined']);
    await anvil.rpc('anvil_mine', [2]);
    await waitStatus(a.transactionId, ['confirmed']);
    const leaseUntil = async () => (await pg.query(`SELECT lease_until FROM nonces WHERE chain_id = $1 AND address = $2`, [chainId, address])).rows[0].lease_until as Date | null;
    // The round that confirmed it may still be finishing; from the next one on, the account is left alone.
    const rounds = () => service.tracker.stats.rounds;
    const afterConfirmed = rounds();
    await waitFor('two more tracker rounds', async () => rounds() >= afterConfirmed + 2, 10_000, 10);
    const before = await leaseUntil();
    const counted = rounds();
    await waitFor('three more tracker rounds', async () => rounds() >= counted + 3, 10_000, 10);
    expect(await leaseUntil()).toEqual(before);
  });

  it('re-sends the same bytes of a transaction the node dropped, and it is mined', async () => {
    const { wallet, address } = await newWallet();
    await anvil.rpc('evm_setAutomine', [false]);
    const a = await allocate(address);
    const { hash } = await sendAt(wallet, a);
    await anvil.rpc('anvil_dropTransaction', [hash]);
    expect(await anvil.rpc('eth_getTransactionByHash', [hash])).toBeNull();
    await waitFor('the dropped transaction re-sent', async () => (await anvil.rpc('eth_getTransactionByHash', [hash])) !== null, 20_000, 50);
    await anvil.rpc('anvil_mine', [1]);
    await waitStatus(a.transactionId, ['mined', 'confirmed']);
    // Normally the re-sent original is what mines; on a starved machine the tracker may have replaced
    // it before the block (the next step for a still-stuck transaction). Either way one tx, this nonce.
    const r = await row(a.transactionId);
    expect(r.resends).toBeGreaterThanOrEqual(1);
    if (r.hash !== hash) expect(r.attempts).toBeGreaterThanOrEqual(2);
    expect(await minedCount(address)).toBe(a.nonce + 1);
  });

  it('replaces a transaction priced below the base fee with bumped fees; the ledger keeps the old hash', async () => {
    const { wallet, address } = await newWallet();
    await anvil.rpc('evm_setAutomine', [false]);
    const a = await allocate(address);
    const { hash: oldHash } = await sendAt(wallet, a, { maxFeePerGas: 3n * GWEI, maxPriorityFeePerGas: GWEI });
    // The next block's base fee is far above the transaction's fee cap: it cannot be included.
    await anvil.rpc('anvil_setNextBlockBaseFeePerGas', [toBeHex(100n * GWEI)]);
    await anvil.rpc('anvil_mine', [1]);
    expect(await minedCount(address)).toBe(0);
    await anvil.rpc('evm_setAutomine', [true]);
    // Re-sent first (same bytes, still too cheap), then replaced; automine includes the replacement.
    await waitStatus(a.transactionId, ['mined', 'confirmed'], 40_000);
    const r = await row(a.transactionId);
    expect(r.hash).not.toBe(oldHash);
    expect(r.attempts).toBeGreaterThanOrEqual(2);
    const attempts = (await pg.query(`SELECT hash, replaced_by, fields FROM transaction_attempts WHERE transaction_id = $1 ORDER BY created_at`, [a.transactionId])).rows;
    expect(attempts[0]).toMatchObject({ hash: oldHash });
    expect(attempts[0].replaced_by).toMatch(/^0x[0-9a-f]{64}$/);
    const mined = (await anvil.rpc<{ maxFeePerGas: string; maxPriorityFeePerGas: string }>('eth_getTransactionByHash', [r.hash]))!;
    expect(BigInt(mined.maxFeePerGas)).toBeGreaterThanOrEqual((3n * GWEI * 110n) / 100n);
    expect(BigInt(mined.maxPriorityFeePerGas)).toBeGreaterThanOrEqual((GWEI * 110n) / 100n);
    expect(await minedCount(address)).toBe(1);
    // The replacement is visible as an event with the previous hash.
    await waitFor('replacement event', async () => (await streamEvents(a.transactionId)).some((e) => e.hash === r.hash), 10_000, 50);
  });

  it('releases a nonce whose lease expired while a later nonce waits, and the next request reuses it', async () => {
    const { wallet, address } = await newWallet();
    const hole = await allocate(address); // the "gateway" dies holding this one
    const later = await allocate(address);
    await sendAt(wallet, later); // queued by the node behind the hole
    await waitStatus(hole.transactionId, ['abandoned'], 10_000);
    const reuse = await allocate(address);
    expect(reuse.nonce).toBe(hole.nonce);
    await sendAt(wallet, reuse);
    await waitStatus(later.transactionId, ['mined', 'confirmed']);
    expect(await minedCount(address)).toBe(2);
    expect((await row(reuse.transactionId)).kind).toBe('user');
  });

  it('fills a hole nobody reuses with a zero-value self-transfer, so the later nonces are mined', async () => {
    const { wallet, address } = await newWallet();
    const hole = await allocate(address);
    const later = [await allocate(address), await allocate(address)];
    for (const l of later) await sendAt(wallet, l);
    await waitStatus(hole.transactionId, ['abandoned'], 10_000);
    for (const l of later) await waitStatus(l.transactionId, ['mined', 'confirmed'], 20_000);
    const filler = (await pg.query(`SELECT id, hash, status::text FROM transactions WHERE from_address = $1 AND kind = 'gap-fill'`, [address])).rows;
    expect(filler).toHaveLength(1);
    const tx = await anvil.rpc<{ from: string; to: string; value: string; nonce: string }>('eth_getTransactionByHash', [filler[0].hash]);
    expect(tx).toMatchObject({ from: address, to: address, value: '0x0', nonce: '0x' + hole.nonce.toString(16) });
    expect(await minedCount(address)).toBe(3);
  });

  it('moves a mined transaction back to submitted when a reorg removes it, re-sends it, and it is mined again', async () => {
    const { wallet, address } = await newWallet();
    const snapshot = await anvil.rpc<string>('evm_snapshot', []);
    const a = await allocate(address);
    const { hash } = await sendAt(wallet, a);
    await waitStatus(a.transactionId, ['mined']);
    const before = await row(a.transactionId);
    await anvil.rpc('evm_revert', [snapshot]);
    await anvil.rpc('anvil_setBalance', [address, toBeHex(parseEther('100'))]);
    await waitFor('re-mined after the reorg', async () => (await streamEvents(a.transactionId)).filter((e) => e.status === 'mined').length >= 2, 20_000, 50);
    const statuses = (await streamEvents(a.transactionId)).map((e) => e.status);
    expect(statuses.slice(0, 5)).toEqual(['allocated', 'submitted', 'mined', 'submitted', 'mined']);
    const after = await row(a.transactionId);
    expect(after.hash).toBe(hash);
    expect(['mined', 'confirmed']).toContain(after.status);
    expect(before.block_number).toBeGreaterThan(0);
  });

  it('makes a repeat of an in-flight request id wait for the first send, never a second transaction', async () => {
    const { wallet, address } = await newWallet();
    const first = await allocate(address, { requestId: 'inflight-1' });
    const repeat = allocate(address, { requestId: 'inflight-1' });
    await new Promise((r) => setTimeout(r, 100));
    const { hash } = await sendAt(wallet, first);
    expect(await repeat).toMatchObject({ transactionId: first.transactionId, nonce: first.nonce, existingHash: hash });
  });

  it('refuses a signed outcome once the nonce lease expired (nothing may be broadcast then)', async () => {
    const { wallet, address } = await newWallet();
    const a = await allocate(address);
    const raw = await wallet.signTransaction({ type: 2, chainId, nonce: a.nonce, to: address, value: 0n, gasLimit: 21_000n, maxFeePerGas: 5n * GWEI, maxPriorityFeePerGas: GWEI });
    await bus.request(Routes.nonceRecordOutcome, { transactionId: a.transactionId, outcome: 'signed', hash: keccak256(raw), raw });
    expect(await row(a.transactionId)).toMatchObject({ status: 'signed', hash: keccak256(raw) });
    const b = await allocate(address);
    await waitStatus(b.transactionId, ['abandoned'], 10_000);
    const late = await bus
      .request(Routes.nonceRecordOutcome, { transactionId: b.transactionId, outcome: 'signed', hash: keccak256(raw), raw })
      .then(() => 'accepted', (e) => (e instanceof RemoteServiceError ? e.code : String(e)));
    expect(late).toBe(ErrorCode.NonceConflict);
    // The signed-but-unreported one is broadcast by the tracker once its lease ends, and mined.
    await waitStatus(a.transactionId, ['mined', 'confirmed'], 20_000);
  });

  it('takes back a reaped transaction whose late `submitted` arrives while its nonce is still free', async () => {
    const { wallet, address } = await newWallet();
    const a = await allocate(address);
    await waitStatus(a.transactionId, ['abandoned'], 10_000); // nothing at this nonce on the node: reaped
    // The gateway had been stalled, not dead: it broadcasts now and reports late.
    const { hash } = await sendAt(wallet, a);
    await waitStatus(a.transactionId, ['mined', 'confirmed']);
    expect(await row(a.transactionId)).toMatchObject({ hash, error: null });
    expect((await allocate(address)).nonce).toBe(a.nonce + 1);
  });

  it('shows an account and its recent transactions, and resyncs it with the chain on request', async () => {
    const { wallet, address } = await newWallet();
    const a = await allocate(address);
    await sendAt(wallet, a);
    // The key is used outside the system: the chain runs ahead of the ledger.
    for (let n = 1; n <= 2; n++) {
      const raw = await wallet.signTransaction({ type: 2, chainId, nonce: n, to: address, value: 0n, gasLimit: 21_000n, maxFeePerGas: 5n * GWEI, maxPriorityFeePerGas: GWEI });
      await anvil.rpc('eth_sendRawTransaction', [raw]);
    }
    const resync = await fetch(`${service.httpUrl}/accounts/${chainId}/${address}/resync`, { method: 'POST' });
    expect(resync.status).toBe(200);
    expect(await resync.json()).toMatchObject({ address, chainId, nextNonce: 3, chainNonce: 3 });
    const view = await fetch(`${service.httpUrl}/accounts/${chainId}/${address.toUpperCase().replace('0X', '0x')}`);
    expect(view.status).toBe(200);
    const body = (await view.json()) as { transactions: { transactionId: string; nonce: number; status: string }[] };
    expect(body.transactions).toEqual([expect.objectContaining({ transactionId: a.transactionId, nonce: 0 })]);
    expect((await allocate(address)).nonce).toBe(3);
    expect((await fetch(`${service.httpUrl}/accounts/${chainId}/0x${'ab'.repeat(20)}`)).status).toBe(404);
    expect((await fetch(`${service.httpUrl}/accounts/x/${address}`)).status).toBe(400);
  });
});
