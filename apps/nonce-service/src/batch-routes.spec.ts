import { Wallet, keccak256 } from 'ethers';
import { Client } from 'pg';
import { loadConfig, nonceServiceConfig } from '@hsm-signer/config';
import { BatchRoutes, ErrorCode, type AllocateNonceRequest } from '@hsm-signer/contracts';
import { createLogger } from '@hsm-signer/logging';
import { NatsBus, RemoteServiceError } from '@hsm-signer/messaging';
import { createTestDatabase, startAnvil, startNatsServer, type AnvilNode, type NatsServer, type TestDatabase } from '@hsm-signer/testing';
import { startNonceService, type NonceService } from './app';

jest.setTimeout(120_000);

// anvil's dev account #4 (a public test key).
const DEV = { address: '0x15d34aaf54267db7d7c367839aaf71a00a2c6a65', key: '0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a' };
const random = () => Wallet.createRandom().address.toLowerCase();

// The gateways' hot path: the batched routes of nonce-service (contracts batch.ts), against the real
// service on real Postgres, anvil and nats-server.
describe('nonce-service batched routes', () => {
  let db: TestDatabase;
  let anvil: AnvilNode;
  let nats: NatsServer;
  let service: NonceService;
  let bus: NatsBus;
  let pg: Client;
  let chainId: number;

  beforeAll(async () => {
    [db, anvil, nats] = await Promise.all([createTestDatabase(), startAnvil(), startNatsServer()]);
    chainId = anvil.chainId;
    const config = loadConfig(nonceServiceConfig, { DATABASE_URL: db.url, NATS_URL: nats.url, ETH_NODE_URL: anvil.url, NONCE_HTTP_HOST: '127.0.0.1', NONCE_HTTP_PORT: '0' });
    service = await startNonceService({ ...config, serviceName: 'nonce-batch', trackerEnabled: false }, createLogger('nonce-batch-test', 'error'));
    bus = await NatsBus.connect({ servers: nats.url, name: 'nonce-batch-spec', requestTimeoutMs: 15_000 });
    pg = new Client({ connectionString: db.url });
    await pg.connect();
  });
  afterAll(async () => {
    await pg?.end();
    await bus?.close();
    await service?.close();
    await Promise.all([nats?.stop(), anvil?.stop(), db?.drop()]);
  });

  const allocate = (request: Omit<AllocateNonceRequest, 'chainId'>) => bus.requestBatched(BatchRoutes.nonceAllocate, { chainId, ...request });

  it('one message of allocations over several accounts: contiguous per account, each caller its own nonce', async () => {
    const [a, b] = [random(), random()];
    const replies = await Promise.all([allocate({ address: a }), allocate({ address: b }), allocate({ address: a }), allocate({ address: a }), allocate({ address: b })]);
    expect(replies.map((r) => r.nonce)).toEqual([0, 0, 1, 2, 1]);
    expect(new Set(replies.map((r) => r.transactionId)).size).toBe(5);
    const rows = await pg.query(`SELECT from_address, nonce::int AS nonce FROM transactions WHERE from_address = ANY($1) ORDER BY from_address, nonce`, [[a, b]]);
    expect(rows.rows.filter((r) => r.from_address === a).map((r) => r.nonce)).toEqual([0, 1, 2]);
    expect(rows.rows.filter((r) => r.from_address === b).map((r) => r.nonce)).toEqual([0, 1]);
  });

  it('a failing item fails alone: a fixed nonce already held is refused while its neighbours allocate', async () => {
    const a = random();
    const first = await allocate({ address: a });
    const results = await Promise.allSettled([allocate({ address: a }), allocate({ address: a, fixedNonce: first.nonce }), allocate({ address: a })]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    const refused = (results[1] as PromiseRejectedResult).reason;
    expect(refused).toBeInstanceOf(RemoteServiceError);
    expect(refused.code).toBe(ErrorCode.NonceConflict);
  });

  it('records a turn of outcomes in one message: submitted, abandoned (nonce reused next) and an unknown id each get their own answer', async () => {
    const from = DEV.address;
    const [x, y] = await Promise.all([allocate({ address: from }), allocate({ address: from })]);
    const raw = await new Wallet(DEV.key).signTransaction({ type: 2, chainId, nonce: x.nonce, to: random(), value: 1n, gasLimit: 21_000n, maxFeePerGas: 2_000_000_000n, maxPriorityFeePerGas: 1n });
    const results = await Promise.allSettled([
      bus.requestBatched(BatchRoutes.nonceRecordOutcome, { transactionId: x.transactionId, outcome: 'submitted', hash: keccak256(raw), raw }),
      bus.requestBatched(BatchRoutes.nonceRecordOutcome, { transactionId: y.transactionId, outcome: 'abandoned', error: 'spec' }),
      bus.requestBatched(BatchRoutes.nonceRecordOutcome, { transactionId: '00000000-0000-4000-8000-000000000000', outcome: 'abandoned' }),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected']);
    expect((results[2] as PromiseRejectedResult).reason.code).toBe(ErrorCode.TransactionNotFound);
    const rows = await pg.query(`SELECT id::text, status::text, hash FROM transactions WHERE id = ANY($1::uuid[])`, [[x.transactionId, y.transactionId]]);
    const byId = new Map(rows.rows.map((r) => [r.id, r]));
    expect(byId.get(x.transactionId)).toMatchObject({ status: 'submitted', hash: keccak256(raw) });
    expect(byId.get(y.transactionId)).toMatchObject({ status: 'abandoned' });
    expect((await allocate({ address: from })).nonce).toBe(y.nonce);
  });
});
