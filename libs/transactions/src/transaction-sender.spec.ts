import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Events, Routes, type Account, type RecordOutcomeRequest, type Route, type UnsignedTransaction } from '@hsm-signer/contracts';
import {
  ExecutionRevertedError,
  InvalidParamsError,
  NonceTooLowError,
  NoUnlockedAccountError,
  ServiceUnavailableError,
} from '@hsm-signer/ethereum';
import { NatsBus } from '@hsm-signer/messaging';
import { serveFixture, signWithWallet, startAnvil, startNatsServer, waitFor, type AnvilNode, type NatsServer } from '@hsm-signer/testing';
import { Wallet, type BaseWallet } from 'ethers';
import { connect, type NatsConnection, type Subscription } from 'nats';
import { AccountDirectory } from './account-directory';
import { EthNodeClient } from './eth-node-client';
import { TransactionSender } from './transaction-sender';

// The send path against a real anvil and a private nats-server.
//
// FIXTURES — not the real services: NATS responders speaking the real wire contract (Routes +
// Nest's envelope) for key-discovery, nonce-service and signer-service. The signer fixture signs
// with in-memory ethers Wallets; it stands in for the signer-service contract, it is not a backend.


function serve<Req, Rep>(nc: NatsConnection, route: Route<Req, Rep>, handler: (req: Req) => Rep | Promise<Rep>): Subscription {
  return serveFixture(nc, route, handler) as Subscription;
}

class ServiceFixtures {
  readonly wallets = new Map<string, BaseWallet>();
  /** Signable types per account (as key-discovery carries them from the backend); absent: not sent. */
  readonly types = new Map<string, Account['transactionTypes']>();
  readonly allocations: Array<{ address: string; nonce: number; fixedNonce?: number }> = [];
  readonly outcomes: RecordOutcomeRequest[] = [];
  /** When set, the signer fixture returns this instead of signing (to replay a transaction). */
  replay?: { raw: string; hash: string };
  lastSigned?: { raw: string; hash: string; tx: UnsignedTransaction };
  private readonly subs: Subscription[] = [];
  private readonly next = new Map<string, number>();

  constructor(
    private readonly nc: NatsConnection,
    private readonly anvil: AnvilNode,
  ) {}

  account(address: string): Account {
    const types = this.types.get(address);
    return { address, backendId: 'fixture', keyId: address.slice(2, 8), status: 'active', ...(types ? { transactionTypes: types } : {}) };
  }

  start(options: { accounts?: boolean } = {}): this {
    if (options.accounts !== false) this.startAccounts();
    this.subs.push(
      serve(this.nc, Routes.nonceAllocate, async (req) => {
        const key = req.address;
        if (!this.next.has(key)) this.next.set(key, Number(await this.anvil.rpc<string>('eth_getTransactionCount', [req.address, 'pending'])));
        const nonce = req.fixedNonce ?? this.next.get(key)!;
        this.next.set(key, Math.max(this.next.get(key)!, nonce + 1));
        this.allocations.push({ address: req.address, nonce, ...(req.fixedNonce !== undefined ? { fixedNonce: req.fixedNonce } : {}) });
        return { transactionId: `t${this.allocations.length}`, nonce };
      }),
      serve(this.nc, Routes.nonceRecordOutcome, (req) => {
        this.outcomes.push(req);
        return { ok: 1 as const };
      }),
      serve(this.nc, Routes.signerSignTransaction, async ({ from, tx }) => {
        if (this.replay) return this.replay;
        const signed = await signWithWallet(this.wallets.get(from)!, tx);
        this.lastSigned = { ...signed, tx };
        return signed;
      }),
    );
    return this;
  }

  accountsSubs: Subscription[] = [];
  startAccounts(): void {
    this.accountsSubs = [
      serve(this.nc, Routes.accountsList, () => ({ accounts: [...this.wallets.keys()].map((a) => this.account(a)) })),
      serve(this.nc, Routes.accountsResolve, ({ address }) => ({ account: this.wallets.has(address) ? this.account(address) : null })),
    ];
  }
  stopAccounts(): void {
    for (const s of this.accountsSubs) s.unsubscribe();
  }

  stop(): void {
    this.stopAccounts();
    for (const s of this.subs) s.unsubscribe();
  }
}

async function funded(anvil: AnvilNode): Promise<BaseWallet> {
  const wallet = Wallet.createRandom();
  await anvil.rpc('anvil_setBalance', [wallet.address, '0x' + (10n ** 20n).toString(16)]);
  return wallet;
}

describe('TransactionSender and AccountDirectory (real anvil, private nats-server, service FIXTURES)', () => {
  let nats: NatsServer;
  let nc: NatsConnection;
  let bus: NatsBus;

  beforeAll(async () => {
    nats = await startNatsServer();
    nc = await connect({ servers: nats.url });
    bus = await NatsBus.connect({ servers: nats.url, name: 'sender-spec', requestTimeoutMs: 1_000 });
  });
  afterAll(async () => {
    await bus?.close();
    await nc?.close();
    await nats?.stop();
  });

  describe('on a London chain, transactions held in the pool (anvil --no-mining)', () => {
    let anvil: AnvilNode;
    let fixtures: ServiceFixtures;
    let sender: TransactionSender;
    let wallet: BaseWallet;
    const to = Wallet.createRandom().address.toLowerCase();

    beforeAll(async () => {
      anvil = await startAnvil({ noMining: true });
      wallet = await funded(anvil);
      fixtures = new ServiceFixtures(nc, anvil);
      fixtures.wallets.set(wallet.address.toLowerCase(), wallet);
      fixtures.start();
      await nc.flush(); // the fixtures' subscriptions are on the server before the first request
      const accounts = new AccountDirectory({ bus });
      sender = new TransactionSender({ bus, node: new EthNodeClient({ url: anvil.url, timeoutMs: 2_000 }), accounts, gasMultiplier: 1.5 });
    });
    afterAll(async () => {
      fixtures?.stop();
      await anvil?.stop();
    });

    it('completes, allocates, signs, submits and records: the node holds exactly what was signed', async () => {
      const result = await sender.send({ from: wallet.address, to, value: '0x5' });
      expect(result.duplicate).toBe(false);
      expect(result.tx).toMatchObject({ type: 2, chainId: 31337, to, value: '0x5', gasLimit: '0x7b0c' }); // 21,000 × 1.5
      const pooled = await anvil.rpc<{ hash: string; nonce: string }>('eth_getTransactionByHash', [result.hash]);
      expect(pooled.hash).toBe(result.hash);
      // The client has its hash before the ledger hears of it; flush() waits for the record.
      await sender.flush();
      expect(fixtures.outcomes.at(-1)).toEqual({ transactionId: result.transactionId, outcome: 'submitted', hash: result.hash, raw: fixtures.lastSigned!.raw });
    });

    it('with a request id, `signed` (hash + raw) is recorded before the broadcast; without one, only `submitted` after it', async () => {
      const plain = await sender.send({ from: wallet.address, to, value: '0x6' });
      await sender.flush();
      expect(fixtures.outcomes.filter((o) => o.transactionId === plain.transactionId).map((o) => o.outcome)).toEqual(['submitted']);

      const withId = await sender.send({ from: wallet.address, to, value: '0x7' }, { requestId: `spec-signed-${Date.now()}` });
      await sender.flush();
      const recorded = fixtures.outcomes.filter((o) => o.transactionId === withId.transactionId);
      expect(recorded.map((o) => o.outcome)).toEqual(['signed', 'submitted']);
      expect(recorded[0]).toMatchObject({ hash: withId.hash, raw: fixtures.lastSigned!.raw });
    });

    it('a revert on estimate fails before any nonce is allocated', async () => {
      const before = fixtures.allocations.length;
      await expect(sender.sendTransaction({ from: wallet.address, data: '0x63deadbeef6000526004601cfd' })).rejects.toBeInstanceOf(ExecutionRevertedError);
      expect(fixtures.allocations.length).toBe(before);
    });

    it('a legacy-only account (Vault ethsign) gets legacy EIP-155 by default; an explicit type 2 → -32602 before any nonce', async () => {
      const legacy = await funded(anvil);
      fixtures.wallets.set(legacy.address.toLowerCase(), legacy);
      fixtures.types.set(legacy.address.toLowerCase(), [0]);
      const result = await sender.send({ from: legacy.address, to, value: '0x5' });
      expect(result.tx).toMatchObject({ type: 0, chainId: 31337 });
      expect(result.tx?.maxFeePerGas).toBeUndefined();
      const pooled = await anvil.rpc<{ type: string; v: string }>('eth_getTransactionByHash', [result.hash]);
      expect(pooled.type).toBe('0x0');
      expect([31337n * 2n + 35n, 31337n * 2n + 36n]).toContain(BigInt(pooled.v));

      const before = fixtures.allocations.length;
      const error = await sender.sendTransaction({ from: legacy.address, to, value: '0x5', type: '0x2' }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InvalidParamsError);
      expect((error as InvalidParamsError).code).toBe(-32602);
      expect((error as Error).message).toMatch(/type 0x2 was asked.*only sign types 0x0/);
      expect(fixtures.allocations.length).toBe(before);
    });

    it('"transaction already imported" for our own hash is a success, recorded as submitted', async () => {
      const first = fixtures.lastSigned!;
      fixtures.replay = { raw: first.raw, hash: first.hash };
      try {
        const hash = await sender.sendTransaction({ from: wallet.address, to, value: '0x5' });
        expect(hash).toBe(first.hash);
        await sender.flush();
        expect(fixtures.outcomes.at(-1)).toMatchObject({ outcome: 'submitted', hash: first.hash });
      } finally {
        fixtures.replay = undefined;
      }
    });

    it('a node refusal (nonce too low) is thrown as the node said it and recorded as rejected', async () => {
      await anvil.rpc('evm_mine');
      const error = await sender.sendTransaction({ from: wallet.address, to, nonce: '0x0', gas: '0x5208' }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(NonceTooLowError);
      expect(fixtures.allocations.at(-1)).toMatchObject({ fixedNonce: 0, nonce: 0 });
      expect(fixtures.outcomes.at(-1)).toMatchObject({ outcome: 'rejected', error: 'nonce too low' });
    });

    it('unknown from → NoUnlockedAccountError; a malformed one too; missing from → InvalidParams', async () => {
      await expect(sender.sendTransaction({ from: Wallet.createRandom().address, to })).rejects.toBeInstanceOf(NoUnlockedAccountError);
      await expect(sender.sendTransaction({ from: '0x1234', to })).rejects.toBeInstanceOf(NoUnlockedAccountError);
      await expect(sender.sendTransaction({ to })).rejects.toBeInstanceOf(InvalidParamsError);
    });

    it('eth_sendRawTransaction that times out: the client gets the hash, the ledger the raw bytes (tracked, never a second nonce)', async () => {
      // A proxy that forwards everything to anvil but holds the answer to eth_sendRawTransaction.
      const server: Server = createServer((req, res) => {
        let body = '';
        req.on('data', (c) => (body += c));
        req.on('end', async () => {
          const upstream = await fetch(anvil.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
          const text = await upstream.text();
          if (!body.includes('eth_sendRawTransaction')) res.writeHead(upstream.status, { 'content-type': 'application/json' }).end(text);
        });
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
      try {
        const slow = new TransactionSender({
          bus,
          node: new EthNodeClient({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, timeoutMs: 500 }),
          accounts: new AccountDirectory({ bus }),
          gasMultiplier: 1,
        });
        // An error would invite the client to send again (a second transaction, a new nonce).
        const hash = await slow.sendTransaction({ from: wallet.address, to, value: '0x9' });
        await slow.flush();
        const signed = fixtures.lastSigned!;
        expect(hash).toBe(signed.hash);
        expect(fixtures.outcomes.at(-1)).toEqual({
          transactionId: `t${fixtures.allocations.length}`,
          outcome: 'submitted',
          hash: signed.hash,
          raw: signed.raw,
          error: 'submission outcome unknown: Connection to downstream node timed out',
        });
        // It did reach the node: the ledger was right not to hand the nonce out again.
        expect(await anvil.rpc('eth_getTransactionByHash', [signed.hash])).not.toBeNull();
      } finally {
        server.closeAllConnections();
        server.close();
      }
    });
  });

  describe('on a pre-London chain (anvil --hardfork berlin)', () => {
    let anvil: AnvilNode;
    let fixtures: ServiceFixtures;
    let sender: TransactionSender;
    let wallet: BaseWallet;
    const to = Wallet.createRandom().address.toLowerCase();

    beforeAll(async () => {
      anvil = await startAnvil({ args: ['--hardfork', 'berlin'] });
      wallet = await funded(anvil);
      fixtures = new ServiceFixtures(nc, anvil);
      fixtures.wallets.set(wallet.address.toLowerCase(), wallet);
      fixtures.start();
      await nc.flush(); // the fixtures' subscriptions are on the server before the first request
      sender = new TransactionSender({ bus, node: new EthNodeClient({ url: anvil.url, timeoutMs: 2_000 }), accounts: new AccountDirectory({ bus }), gasMultiplier: 1.2 });
    });
    afterAll(async () => {
      fixtures?.stop();
      await anvil?.stop();
    });

    it('sends legacy EIP-155 by default (again once the chain capability is cached) and type 1 with an access list', async () => {
      for (let i = 0; i < 2; i++) {
        const { hash, tx } = await sender.send({ from: wallet.address, to, value: '0x1' });
        expect(tx).toMatchObject({ type: 0, chainId: 31337 });
        expect(tx!.gasPrice).toMatch(/^0x[0-9a-f]+$/);
        const mined = await waitFor('receipt', () => anvil.rpc<{ status: string } | null>('eth_getTransactionReceipt', [hash]).then((r) => r ?? undefined));
        expect(mined.status).toBe('0x1');
      }
      const { tx } = await sender.send({ from: wallet.address, to, accessList: [{ address: to, storageKeys: [] }] });
      expect(tx!.type).toBe(1);
    });

    it('refuses an explicit type 2 with a clear -32602 instead of a node error', async () => {
      await expect(sender.sendTransaction({ from: wallet.address, to, type: '0x2' })).rejects.toThrow(/does not accept EIP-1559/);
    });
  });

  describe('AccountDirectory', () => {
    let anvil: AnvilNode;
    let fixtures: ServiceFixtures;
    const a = Wallet.createRandom();
    const b = Wallet.createRandom();

    beforeAll(async () => {
      anvil = await startAnvil();
      fixtures = new ServiceFixtures(nc, anvil);
      fixtures.wallets.set(a.address.toLowerCase(), a);
      fixtures.start();
      await nc.flush(); // the fixtures' subscriptions are on the server before the first request
    });
    afterAll(async () => {
      fixtures?.stop();
      await anvil?.stop();
    });

    it('follows accounts.changed: added keys appear, removed keys are refused at once', async () => {
      const directory = new AccountDirectory({ bus });
      directory.start();
      try {
        expect((await directory.list()).map((x) => x.address)).toEqual([a.address.toLowerCase()]);

        fixtures.wallets.set(b.address.toLowerCase(), b);
        bus.publish(Events.accountsChanged, { added: [b.address.toLowerCase()], removed: [], at: new Date().toISOString() });
        await waitFor('b listed', async () => (await directory.list()).length === 2 || undefined, 5_000, 20);
        expect((await directory.list()).map((x) => x.address)).toEqual([a.address, b.address].map((x) => x.toLowerCase()).sort());

        fixtures.wallets.delete(a.address.toLowerCase());
        bus.publish(Events.accountsChanged, { added: [], removed: [a.address.toLowerCase()], at: new Date().toISOString() });
        await waitFor('a gone', async () => (await directory.list()).length === 1 || undefined, 5_000, 20);
        await expect(directory.resolve(a.address)).rejects.toBeInstanceOf(NoUnlockedAccountError);
        expect((await directory.resolve(b.address)).keyId).toBe(b.address.toLowerCase().slice(2, 8));
      } finally {
        directory.stop();
        fixtures.wallets.set(a.address.toLowerCase(), a);
      }
    });

    it('serves the cached list when key-discovery stops answering; without any list, names key-discovery', async () => {
      const warm = new AccountDirectory({ bus, maxAgeMs: 1 });
      await warm.list();
      fixtures.stopAccounts();
      try {
        await new Promise((r) => setTimeout(r, 5));
        expect((await warm.list()).length).toBeGreaterThan(0);
        const cold = new AccountDirectory({ bus });
        const error = await cold.list().catch((e: unknown) => e);
        expect(error).toBeInstanceOf(ServiceUnavailableError);
        expect((error as Error).message).toBe('key-discovery is not available: nothing answers on hsm.v1.accounts.list (is it running?)');
        await expect(cold.resolve(a.address)).rejects.toThrow(/key-discovery is not available/);
      } finally {
        fixtures.startAccounts();
      }
    });
  });
});
