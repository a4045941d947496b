import type { AccessToken, TokenCredential } from '@azure/identity';
import { ErrorCode } from '@hsm-signer/contracts';
import { AzureKeyVaultFixtureServer, AZURE_FIXTURE_TOKEN, waitFor } from '@hsm-signer/testing';
import { randomBytes } from 'node:crypto';
import { captureLogger, signManyTransactions } from '../cloud/test-support';
import { BackendSigningError, BackendUnavailableError, InvalidDigestError, KeyNotFoundError } from '../errors';
import { BackendRegistry } from '../registry';
import { AzureKeyVaultBackend, type AzureKeyVaultBackendOptions } from './azure-key-vault-backend';

// Integration tests against the Azure Key Vault fixture server, through the real @azure/keyvault-keys.
jest.setTimeout(60_000);
const staticToken = (token: string): TokenCredential => ({
  getToken: async (): Promise<AccessToken> => ({ token, expiresOnTimestamp: Date.now() + 3600_000 }),
});

describe('AzureKeyVaultBackend against the Key Vault fixture', () => {
  const vault = new AzureKeyVaultFixtureServer({ pageSize: 2 });
  let eth1: { name: string; version: string; address: string };
  let eth2: { name: string; version: string; address: string };
  const options = (over: Partial<AzureKeyVaultBackendOptions> = {}): AzureKeyVaultBackendOptions => ({
    id: 'azure',
    vaultUrl: vault.url,
    credential: staticToken(AZURE_FIXTURE_TOKEN),
    selector: { tag: 'hsm-signer' },
    allowInsecureConnection: true,
    disableChallengeResourceVerification: true,
    maxRetries: 1,
    requestTimeoutMs: 3_000,
    ...over,
  });

  beforeAll(async () => {
    await vault.start();
    eth1 = vault.createKey('eth-1', { tags: { 'hsm-signer': 'yes' } });
    eth2 = vault.createKey('eth-2', { tags: { 'hsm-signer': 'yes' }, kty: 'EC' });
    vault.createKey('eth-untagged', {});
    vault.createKey('p256', { tags: { 'hsm-signer': 'yes' }, crv: 'P-256' });
    vault.createKey('eth-disabled', { tags: { 'hsm-signer': 'yes' }, enabled: false });
  });
  afterAll(() => vault.stop());

  it('lists the tagged P-256K keys across pages, skipping other curves and disabled keys', async () => {
    const backend = new AzureKeyVaultBackend(options());
    await backend.connect();
    const keys = await backend.listKeys();
    expect(keys.map((k) => ({ keyId: k.keyId, address: k.address, label: k.label }))).toEqual([
      { keyId: `eth-1/${eth1.version}`, address: eth1.address, label: 'eth-1' },
      { keyId: `eth-2/${eth2.version}`, address: eth2.address, label: 'eth-2' },
    ]);
    expect(keys[0].publicKey).toHaveLength(65);
    expect(await backend.getKey(`eth-2/${eth2.version}`)).toMatchObject({ address: eth2.address });
    expect(await backend.getKey('eth-1/0000')).toBeUndefined();
    const byPrefix = new AzureKeyVaultBackend(options({ selector: { namePrefix: 'eth-u' } }));
    await byPrefix.connect();
    expect((await byPrefix.listKeys()).map((k) => k.label)).toEqual(['eth-untagged']);
    await backend.close();
  });

  it('uses the newest enabled version when the current version is disabled, and keeps keyIds per version', async () => {
    const first = vault.createKey('rotated', { tags: { 'hsm-signer': 'yes' } });
    vault.createKey('rotated', {});
    vault.setEnabled('rotated', false);
    const backend = new AzureKeyVaultBackend(options());
    await backend.connect();
    const rotated = (await backend.listKeys()).find((k) => k.label === 'rotated');
    expect(rotated).toMatchObject({ keyId: `rotated/${first.version}`, address: first.address });
  });

  it('lists again without a GET per key when nothing changed, and sees a key disabled meanwhile', async () => {
    const backend = new AzureKeyVaultBackend(options());
    await backend.connect();
    const first = await backend.listKeys();
    const before = vault.requests.length;
    expect(await backend.listKeys()).toEqual(first);
    // One page request per 2 keys (pageSize 2), no GET /keys/{name}/.
    expect(vault.requests.slice(before).every((r) => r.path === '/keys')).toBe(true);
    const k = vault.createKey('eth-later', { tags: { 'hsm-signer': 'yes' } });
    expect((await backend.listKeys()).map((x) => x.keyId)).toContain(`eth-later/${k.version}`);
    vault.setEnabled('eth-later', false);
    expect((await backend.listKeys()).map((x) => x.keyId)).not.toContain(`eth-later/${k.version}`);
  });

  it('signs 200 transactions: 0 invalid after post-processing, high s and both recovery ids hit', async () => {
    const backend = new AzureKeyVaultBackend(options());
    await backend.connect();
    const key = (await backend.listKeys()).find((k) => k.label === 'eth-1')!;
    const highBefore = vault.stats.highS;
    const run = await signManyTransactions(backend, key, 200);
    expect(run.invalid).toBe(0);
    expect(run.yParity[0]).toBeGreaterThan(0);
    expect(run.yParity[1]).toBeGreaterThan(0);
    expect(vault.stats.highS - highBefore).toBeGreaterThan(0);
    expect(vault.stats.highS - highBefore).toBeLessThan(200);
  });

  it('refuses non-32-byte input, unknown keys and disabled keys with named errors', async () => {
    const backend = new AzureKeyVaultBackend(options());
    await backend.connect();
    await expect(backend.signDigest(`eth-1/${eth1.version}`, randomBytes(20))).rejects.toBeInstanceOf(InvalidDigestError);
    await expect(backend.signDigest('nope/123', randomBytes(32))).rejects.toBeInstanceOf(KeyNotFoundError);
    const k = vault.createKey('to-disable', { tags: { 'hsm-signer': 'yes' } });
    await backend.listKeys();
    vault.setEnabled('to-disable', false);
    const error = await backend.signDigest(`to-disable/${k.version}`, randomBytes(32)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendSigningError);
    expect((error as Error).message).toMatch(/disabled/);
  });

  it('waits out 429 Retry-After and signs', async () => {
    const backend = new AzureKeyVaultBackend(options({ maxRetries: 2 }));
    await backend.connect();
    await backend.listKeys();
    vault.throttle(1, 1);
    const sig = await backend.signDigest(`eth-1/${eth1.version}`, randomBytes(32));
    expect(sig).toHaveLength(64);
  });

  it('server stopped → a clear unavailable error and unhealthy; started again → signs without a restart', async () => {
    const logger = captureLogger();
    const registry = new BackendRegistry({ backoff: { initialMs: 100, maxMs: 300 }, logger });
    registry.add(new AzureKeyVaultBackend(options({ logger })));
    await registry.start();
    await registry.waitUntilReady(5_000);
    const ref = { backendId: 'azure', keyId: `eth-1/${eth1.version}` };
    await registry.listAll();
    expect(await registry.signDigest(ref, randomBytes(32))).toHaveLength(64);

    await vault.stop();
    const started = Date.now();
    const error = await registry.signDigest(ref, randomBytes(32)).catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(error).toBeInstanceOf(BackendUnavailableError);
    expect((error as BackendUnavailableError).code).toBe(ErrorCode.BackendUnavailable);
    expect((error as Error).message).toMatch(/connection refused/);
    expect(registry.status()[0]).toMatchObject({ healthy: false, reason: expect.stringMatching(/connection refused/) });
    // While down, requests fail fast with the same clear reason.
    await expect(registry.signDigest(ref, randomBytes(32))).rejects.toThrow(/unavailable/);

    await vault.start();
    await waitFor('azure backend reconnected', async () => registry.status()[0].healthy, 10_000, 50);
    expect(await registry.signDigest(ref, randomBytes(32))).toHaveLength(64);
    await registry.close();
  });

  it('bad credentials → unhealthy with a reason that does not contain the secret', async () => {
    const secret = 'eyJ0eXAi.super-secret-token.abc123';
    const logger = captureLogger();
    const registry = new BackendRegistry({ backoff: { initialMs: 100, maxMs: 300 }, logger });
    registry.add(new AzureKeyVaultBackend(options({ credential: staticToken(secret), secrets: [secret], logger })));
    await registry.start();
    const [status] = registry.status();
    expect(status.healthy).toBe(false);
    expect(status.reason).toMatch(/authentication failed \(HTTP 401/);
    expect(status.reason).not.toContain(secret);
    const [listing] = await registry.listAll();
    expect(listing).toMatchObject({ backendId: 'azure', healthy: false, keys: [] });
    expect(listing.error).not.toContain(secret);
    expect(logger.lines.some((l) => l.includes('authentication failed'))).toBe(true);
    expect(logger.lines.join('\n')).not.toContain(secret);
    await registry.close();
  });
});
