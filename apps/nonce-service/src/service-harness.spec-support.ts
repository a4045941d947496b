import { Wallet, parseEther, toBeHex } from 'ethers';
import type { NatsConnection } from 'nats';
import { Client } from 'pg';
import { loadConfig, nonceServiceConfig } from '@hsm-signer/config';
import { Routes } from '@hsm-signer/contracts';
import { createLogger } from '@hsm-signer/logging';
import { NatsBus } from '@hsm-signer/messaging';
import { createTestDatabase, serveFixture, signWithWallet, startAnvil, startNatsServer, type AnvilNode, type NatsServer, type TestDatabase } from '@hsm-signer/testing';
import { startNonceService, type NonceService } from './app';

/**
 * FIXTURE standing in for key-discovery + signer-service on NATS (nonce-service-level tests only):
 * answers accounts.resolve and signer.sign-transaction (Nest's reply envelope, libs/testing
 * serveFixture), signing with an ethers Wallet whose address is funded on anvil. The real
 * signer-service path is covered by the e2e tests.
 */
export function startSignerFixture(connection: NatsConnection, wallets: Map<string, Wallet>): { unsubscribe(): void }[] {
  return [
    serveFixture(connection, Routes.accountsResolve, ({ address }) => {
      const lower = address.toLowerCase();
      return { account: wallets.has(lower) ? { address: lower, backendId: 'fixture', keyId: lower, status: 'active' as const } : null };
    }),
    serveFixture(connection, Routes.signerSignTransaction, ({ key, tx }) => {
      const wallet = wallets.get(key.keyId);
      if (!wallet) throw new Error('unknown key');
      return signWithWallet(wallet, tx);
    }),
  ];
}

/** One nonce-service replica on real Postgres, anvil and nats-server (JetStream), with the signer fixture. */
export interface ServiceHarness {
  db: TestDatabase;
  anvil: AnvilNode;
  nats: NatsServer;
  service: NonceService;
  /** The test's own NATS client (requests as a gateway makes them). */
  bus: NatsBus;
  /** The test's own Postgres connection (reads of the ledger). */
  pg: Client;
  chainId: number;
  /** A fresh key the signer fixture signs for, funded with 100 ETH on anvil. */
  newWallet(): Promise<{ wallet: Wallet; address: string }>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  /** nonce-service settings on top of the database, NATS and node ones. */
  env: Record<string, string>;
  name: string;
  /** The node URL nonce-service is given (default anvil's own), e.g. a fixture proxy in front of it. */
  nodeUrl?: (anvil: AnvilNode) => Promise<string>;
}

export async function startServiceHarness(options: HarnessOptions): Promise<ServiceHarness> {
  const [db, anvil, nats] = await Promise.all([createTestDatabase(), startAnvil(), startNatsServer({ jetstream: true })]);
  const wallets = new Map<string, Wallet>();
  const nodeUrl = options.nodeUrl ? await options.nodeUrl(anvil) : anvil.url;
  const config = loadConfig(nonceServiceConfig, {
    DATABASE_URL: db.url,
    NATS_URL: nats.url,
    ETH_NODE_URL: nodeUrl,
    NONCE_HTTP_HOST: '127.0.0.1',
    NONCE_HTTP_PORT: '0',
    ...options.env,
  });
  const bus = await NatsBus.connect({ servers: nats.url, name: `${options.name}-spec`, requestTimeoutMs: 15_000 });
  const fixture = startSignerFixture(bus.connection, wallets);
  const service = await startNonceService({ ...config, serviceName: options.name }, createLogger(`${options.name}-test`, 'error'));
  const pg = new Client({ connectionString: db.url });
  await pg.connect();
  return {
    db,
    anvil,
    nats,
    service,
    bus,
    pg,
    chainId: anvil.chainId,
    newWallet: async () => {
      const wallet = Wallet.createRandom() as unknown as Wallet;
      const address = wallet.address.toLowerCase();
      wallets.set(address, wallet);
      await anvil.rpc('anvil_setBalance', [address, toBeHex(parseEther('100'))]);
      return { wallet, address };
    },
    close: async () => {
      for (const s of fixture) s.unsubscribe();
      await service.close();
      await bus.close();
      await pg.end();
      await nats.stop();
      await anvil.stop();
      await db.drop();
    },
  };
}
