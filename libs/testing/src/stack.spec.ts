import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { formatEther } from 'ethers';
import { createTestDatabase, testDatabaseAdminUrl } from './postgres';
import { isAlive } from './proc-tree';
import { envForApp, startStack, type Stack } from './stack';

describe('envForApp', () => {
  const bag = {
    NATS_URL: 'nats://127.0.0.1:1',
    DATABASE_URL: 'postgresql://postgres@127.0.0.1:5432/x',
    ETH_NODE_URL: 'http://127.0.0.1:2',
    PKCS11_PIN: '1234',
    PKCS11_TOKEN_LABEL: 't',
    DISCOVERY_POLL_INTERVAL_MS: '500',
    UNRELATED: 'x',
  };
  it('gives each app only the variables its config schema declares', () => {
    const signer = envForApp('signer-service', bag);
    expect(signer.PKCS11_PIN).toBe('1234');
    expect(signer.DATABASE_URL).toBeUndefined();
    const rpc = envForApp('rpc-gateway', bag);
    expect(rpc).toMatchObject({ NATS_URL: bag.NATS_URL, ETH_NODE_URL: bag.ETH_NODE_URL });
    expect(rpc.PKCS11_PIN).toBeUndefined();
    expect(rpc.DATABASE_URL).toBeUndefined();
    expect(envForApp('key-discovery', bag)).toMatchObject({ DATABASE_URL: bag.DATABASE_URL, DISCOVERY_POLL_INTERVAL_MS: '500' });
    expect(Object.values(envForApp('nonce-service', bag))).not.toContain('x');
  });
  it('lets explicit extras through unfiltered', () => {
    expect(envForApp('rpc-gateway', bag, { SOFTHSM2_CONF: '/c' }).SOFTHSM2_CONF).toBe('/c');
  });
});

async function databaseExists(name: string): Promise<boolean> {
  const client = new Client({ connectionString: testDatabaseAdminUrl() });
  await client.connect();
  try {
    return ((await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount ?? 0) > 0;
  } finally {
    await client.end();
  }
}

function pidsOf(stack: Stack): number[] {
  return [...Object.values(stack.services).flatMap((list) => list.map((s) => s.pid)), stack.anvil.process.pid!];
}

describe('startStack (real anvil, SoftHSM2, Postgres, NATS and the five built apps)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'stack-spec-'));
  let stack: Stack | undefined;
  afterEach(async () => {
    await stack?.stop();
    stack = undefined;
  }, 60_000);
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));
  let firstAddresses: string[] = [];

  it('starts with a token in the data dir, funded keys, two signer replicas; stop leaves no process behind', async () => {
    const db = await createTestDatabase();
    try {
      stack = await startStack({ dataDir, keys: 2, signerReplicas: 2, databaseUrl: db.url });
      firstAddresses = stack.addresses;
      expect(stack.addresses).toHaveLength(2);
      expect((await stack.accounts()).map((a) => a.toLowerCase()).sort()).toEqual(stack.addresses.map((a) => a.toLowerCase()).sort());
      for (const address of stack.addresses) {
        expect(formatEther(BigInt(await stack.anvil.rpc<string>('eth_getBalance', [address, 'latest'])))).toBe('100.0');
      }
      const signers = stack.services['signer-service'];
      expect(signers.map((s) => s.name)).toEqual(['signer-service-1', 'signer-service-2']);
      expect(new Set(signers.map((s) => s.port)).size).toBe(2);
      expect(stack.rpcUrls).toEqual([stack.rpcUrl]);
      expect(await (await fetch(`${stack.restUrl}/status`)).json()).toEqual({ ok: true });
      // The PIN goes to signer-service alone.
      expect(signers[0]!.env.PKCS11_PIN).toBe(stack.token.pin);
      expect(stack.services['rpc-gateway'][0]!.env.PKCS11_PIN).toBeUndefined();
      expect(stack.databaseUrl).toBe(db.url);

      const pids = pidsOf(stack);
      expect(pids.every(isAlive)).toBe(true);
      await stack.stop();
      stack = undefined;
      expect(pids.filter(isAlive)).toEqual([]);
    } finally {
      await db.drop();
    }
  }, 180_000);

  it('reuses the token on the next start, and drops the test database it created itself', async () => {
    expect(firstAddresses).toHaveLength(2);
    stack = await startStack({ dataDir, keys: 2 });
    expect(stack.addresses).toEqual(firstAddresses);
    const name = new URL(stack.databaseUrl).pathname.slice(1);
    expect(name).toMatch(/^hsm_test_/);
    expect(await databaseExists(name)).toBe(true);
    const extra = await stack.startService('rpc-gateway');
    expect(stack.rpcUrls).toEqual([stack.rpcUrl, extra.url]);
    const stopped = await stack.stopService('rpc-gateway', 1);
    expect(stopped).toEqual([extra]);
    expect(extra.running).toBe(false);
    await stack.stop();
    stack = undefined;
    expect(await databaseExists(name)).toBe(false);
  }, 180_000);
});
