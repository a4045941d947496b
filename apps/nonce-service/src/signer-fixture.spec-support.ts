import type { NatsConnection } from 'nats';
import type { Wallet } from 'ethers';
import { Routes } from '@hsm-signer/contracts';
import { serveFixture, signWithWallet } from '@hsm-signer/testing';

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
