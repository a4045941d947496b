import { Wallet } from 'ethers';
import { loadConfig, nonceServiceConfig } from '@hsm-signer/config';
import { BatchRoutes, ErrorCode, Routes } from '@hsm-signer/contracts';
import { createLogger } from '@hsm-signer/logging';
import { NatsBus, RemoteServiceError } from '@hsm-signer/messaging';
import { startAnvil, startNatsServer, startPrivatePostgres, type AnvilNode, type NatsServer, type PrivatePostgres } from '@hsm-signer/testing';
import { startNonceService, type NonceService } from './app';

jest.setTimeout(120_000);

// nonce-service on its own real Postgres, which is stopped and started again: while it is down every
// request gets HSM30003 LedgerUnavailable (retryable, no driver text) — never a hang, never HSM99999 —
// and once it is back the service works again by itself.
describe('nonce-service while its Postgres is down', () => {
  let pg: PrivatePostgres;
  let anvil: AnvilNode;
  let nats: NatsServer;
  let service: NonceService;
  let bus: NatsBus;

  beforeAll(async () => {
    [pg, anvil, nats] = await Promise.all([startPrivatePostgres(), startAnvil(), startNatsServer()]);
    const config = loadConfig(nonceServiceConfig, { DATABASE_URL: pg.url, NATS_URL: nats.url, ETH_NODE_URL: anvil.url, NONCE_HTTP_HOST: '127.0.0.1', NONCE_HTTP_PORT: '0' });
    service = await startNonceService({ ...config, serviceName: 'nonce-outage', trackerEnabled: false }, createLogger('nonce-outage-test', 'silent'));
    bus = await NatsBus.connect({ servers: nats.url, name: 'nonce-outage-spec', requestTimeoutMs: 30_000 });
  });
  afterAll(async () => {
    await bus?.close();
    await service?.close().catch(() => undefined);
    await Promise.all([nats?.stop(), anvil?.stop()]);
    await pg?.remove();
  });

  it('answers HSM30003 on both routes while Postgres is stopped, and allocates again once it is back', async () => {
    const address = Wallet.createRandom().address.toLowerCase();
    const chainId = anvil.chainId;
    const first = await bus.request(Routes.nonceAllocate, { chainId, address });
    expect(first.nonce).toBe(0);

    await pg.stop({ mode: 'fast' });
    const single = await bus.request(Routes.nonceAllocate, { chainId, address }).catch((e) => e);
    const batched = await Promise.allSettled([
      bus.requestBatched(BatchRoutes.nonceAllocate, { chainId, address }),
      bus.requestBatched(BatchRoutes.nonceRecordOutcome, { transactionId: first.transactionId, outcome: 'abandoned', error: 'spec' }),
    ]);
    for (const error of [single, ...batched.map((r) => (r.status === 'rejected' ? r.reason : r))]) {
      expect(error).toBeInstanceOf(RemoteServiceError);
      expect(error.code).toBe(ErrorCode.LedgerUnavailable);
      expect(error.message).toMatch(/database cannot be reached.*retry/);
      expect(error.message).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|terminat/i);
    }

    await pg.start();
    await bus.request(Routes.nonceRecordOutcome, { transactionId: first.transactionId, outcome: 'abandoned', error: 'spec' });
    expect((await bus.request(Routes.nonceAllocate, { chainId, address })).nonce).toBe(0); // the released nonce, reused
  });
});
