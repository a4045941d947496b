import { Transaction, Wallet } from 'ethers';
import { ErrorCode, type UnsignedTransaction } from '@hsm-signer/contracts';
import { verifySignedTransactionSender } from '@hsm-signer/ethereum';
import { createTestCertificates, VaultEthsignFixtureServer, waitFor, type TestCertificates } from '@hsm-signer/testing';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { captureLogger } from '../cloud/test-support';
import { BackendUnavailableError, KeyNotFoundError, UnsupportedOperationError } from '../errors';
import { BackendRegistry } from '../registry';
import { VaultEthsignBackend, type VaultEthsignBackendOptions } from './vault-ethsign-backend';

// Integration tests against the Vault + ethsign fixture server, through the real node-vault.
jest.setTimeout(60_000);

const KEY = '0x4646464646464646464646464646464646464646464646464646464646464646';
const ADDRESS = new Wallet(KEY).address.toLowerCase();

function legacy(over: Partial<UnsignedTransaction> = {}): UnsignedTransaction {
  return { type: 0, chainId: 31337, nonce: 7, to: '0x3535353535353535353535353535353535353535', value: '0xde0b6b3a7640000', data: '0x', gasLimit: '0x5208', gasPrice: '0x4a817c800', ...over };
}

describe('VaultEthsignBackend against the Vault ethsign fixture', () => {
  const vault = new VaultEthsignFixtureServer({ mount: 'eth-signing', appRole: { roleId: 'signer-role', secretId: 'approle-secret-value-123' }, kubernetes: { role: 'signer', jwt: 'k8s.jwt.secret-value' } });
  const options = (over: Partial<VaultEthsignBackendOptions> = {}): VaultEthsignBackendOptions => ({
    id: 'vault',
    endpoint: vault.url,
    mount: 'eth-signing',
    auth: { method: 'token', token: vault.rootToken },
    requestTimeoutMs: 3_000,
    ...over,
  });

  beforeAll(() => vault.start());
  afterAll(() => vault.stop());

  it('connects to an empty mount (404 LIST) and lists accounts once they exist, lowercase', async () => {
    const backend = new VaultEthsignBackend(options());
    await backend.connect();
    expect(await backend.listKeys()).toEqual([]);
    vault.createAccount(KEY);
    const second = vault.createAccount();
    expect(await backend.listKeys()).toEqual([
      { keyId: ADDRESS, address: ADDRESS },
      { keyId: second, address: second },
    ]);
    expect(backend.capabilities).toEqual({ signs: 'transaction', transactionTypes: [0] });
    // A checksummed id still finds the account (the connector lowercases, §A.2).
    expect(await backend.getKey(new Wallet(KEY).address)).toEqual({ keyId: ADDRESS, address: ADDRESS });
    expect(await backend.getKey('0x' + '11'.repeat(20))).toBeUndefined();
  });

  it('signs a legacy EIP-155 transaction through the plugin, sending its quirks right', async () => {
    const backend = new VaultEthsignBackend(options());
    await backend.connect();
    const tx = legacy();
    const raw = await backend.signTransaction(new Wallet(KEY).address, tx);
    const { hash } = verifySignedTransactionSender(raw, ADDRESS);
    const parsed = Transaction.from(raw);
    expect(parsed).toMatchObject({ type: 0, chainId: 31337n, nonce: 7, gasPrice: 20000000000n, gasLimit: 21000n, value: 10n ** 18n });
    expect(parsed.hash).toBe(hash);
    const sent = vault.signRequests[vault.signRequests.length - 1];
    expect(sent.address).toBe(ADDRESS);
    expect(sent.body).toEqual({ to: '0x3535353535353535353535353535353535353535', data: '0x', value: '1000000000000000000', nonce: '7', gas: '21000', gasPrice: '20000000000', chainId: '31337' });
  });

  it('signs a contract creation (to = null) with data', async () => {
    const backend = new VaultEthsignBackend(options());
    await backend.connect();
    const raw = await backend.signTransaction(ADDRESS, legacy({ to: null, data: '0x6080604052', value: '0x0', gasLimit: '0x30d40' }));
    const parsed = Transaction.from(raw);
    expect(parsed.to).toBeNull();
    expect(parsed.data).toBe('0x6080604052');
    expect(parsed.from?.toLowerCase()).toBe(ADDRESS);
  });

  it('refuses a type 2 (and type 1) transaction with a clear UnsupportedTransaction error, sending nothing', async () => {
    const backend = new VaultEthsignBackend(options());
    await backend.connect();
    const before = vault.signRequests.length;
    const error = await backend.signTransaction(ADDRESS, { ...legacy(), type: 2, gasPrice: undefined, maxFeePerGas: '0x10', maxPriorityFeePerGas: '0x1' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnsupportedOperationError);
    expect((error as UnsupportedOperationError).code).toBe(ErrorCode.UnsupportedTransaction);
    expect((error as Error).message).toMatch(/legacy \(type 0\) transactions only; a type 2 transaction was requested/);
    await expect(backend.signTransaction(ADDRESS, { ...legacy(), type: 1, accessList: [] })).rejects.toBeInstanceOf(UnsupportedOperationError);
    expect(vault.signRequests.length).toBe(before);
  });

  it('maps an unknown signing account to KeyNotFoundError', async () => {
    const backend = new VaultEthsignBackend(options());
    await backend.connect();
    await expect(backend.signTransaction('0x' + '22'.repeat(20), legacy())).rejects.toBeInstanceOf(KeyNotFoundError);
  });

  it('logs in with AppRole and with Kubernetes (JWT from a file), and logs in again when the token is revoked', async () => {
    vault.createAccount(KEY);
    const approle = new VaultEthsignBackend(options({ auth: { method: 'approle', roleId: 'signer-role', secretId: 'approle-secret-value-123' } }));
    await approle.connect();
    expect((await approle.listKeys()).map((k) => k.address)).toContain(ADDRESS);
    expect(vault.logins[vault.logins.length - 1]).toBe('approle');

    const dir = mkdtempSync(join(tmpdir(), 'k8s-jwt-'));
    try {
      writeFileSync(join(dir, 'token'), 'k8s.jwt.secret-value\n');
      const k8s = new VaultEthsignBackend(options({ auth: { method: 'kubernetes', role: 'signer', jwtPath: join(dir, 'token') } }));
      await k8s.connect();
      const raw = await k8s.signTransaction(ADDRESS, legacy({ nonce: 9 }));
      expect(Transaction.from(raw).nonce).toBe(9);
      // Every issued token expires: the next call gets 403, logs in again once and succeeds.
      const logins = vault.logins.length;
      vault.revokeIssuedTokens();
      const again = await k8s.signTransaction(ADDRESS, legacy({ nonce: 10 }));
      expect(Transaction.from(again).nonce).toBe(10);
      expect(vault.logins.slice(logins)).toEqual(['kubernetes']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('server stopped → a clear unavailable error and unhealthy; started again → signs without a restart', async () => {
    const registry = new BackendRegistry({ backoff: { initialMs: 100, maxMs: 300 } });
    registry.add(new VaultEthsignBackend(options()));
    await registry.start();
    await registry.waitUntilReady(5_000);
    const ref = { backendId: 'vault', keyId: ADDRESS };
    expect(await registry.signTransaction(ref, legacy())).toMatch(/^0x/);

    await vault.stop();
    const started = Date.now();
    const error = await registry.signTransaction(ref, legacy()).catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(error).toBeInstanceOf(BackendUnavailableError);
    // A pooled keep-alive socket is reset, a new one refused: either way the reason says so.
    expect((error as Error).message).toMatch(/connection (refused|reset)/);
    expect(registry.status()[0]).toMatchObject({ healthy: false, reason: expect.stringMatching(/connection (refused|reset)/) });

    await vault.start();
    await waitFor('vault backend reconnected', async () => registry.status()[0].healthy, 10_000, 50);
    expect(await registry.signTransaction(ref, legacy({ nonce: 8 }))).toMatch(/^0x/);
    await registry.close();
  });

  it.each([
    ['a bad token', { method: 'token', token: 'hvs.bad-token-secret-value' }, 'hvs.bad-token-secret-value', /permission denied \(HTTP 403\)/],
    ['a bad AppRole secret id', { method: 'approle', roleId: 'signer-role', secretId: 'wrong-secret-id-value' }, 'wrong-secret-id-value', /approle login .* failed: HTTP 400: invalid role or secret ID/],
    ['a bad Kubernetes JWT', { method: 'kubernetes', role: 'signer', jwt: 'forged.jwt.value' }, 'forged.jwt.value', /kubernetes login .* failed: permission denied/],
  ] as const)('bad credentials (%s) → unhealthy with a reason that does not contain the secret', async (_name, auth, secret, reason) => {
    const logger = captureLogger();
    const registry = new BackendRegistry({ backoff: { initialMs: 100, maxMs: 300 }, logger });
    registry.add(new VaultEthsignBackend(options({ auth, logger })));
    await registry.start();
    const [status] = registry.status();
    expect(status.healthy).toBe(false);
    expect(status.reason).toMatch(reason);
    expect(status.reason).not.toContain(secret);
    const [listing] = await registry.listAll();
    expect(listing).toMatchObject({ healthy: false, keys: [] });
    expect(logger.lines.join('\n')).toMatch(reason);
    expect(logger.lines.join('\n')).not.toContain(secret);
    await registry.close();
  });
});

describe('VaultEthsignBackend over mutual TLS', () => {
  let certs: TestCertificates;
  let vault: VaultEthsignFixtureServer;

  beforeAll(async () => {
    certs = createTestCertificates();
    vault = new VaultEthsignFixtureServer({ tls: { cert: certs.serverCert, key: certs.serverKey, ca: certs.caCert, requireClientCert: true } });
    await vault.start();
    vault.createAccount(KEY);
  });
  afterAll(async () => {
    await vault.stop();
    certs.cleanup();
  });

  it('lists and signs with the CA bundle and a client certificate', async () => {
    const backend = new VaultEthsignBackend({ id: 'vault-tls', endpoint: vault.url, auth: { method: 'token', token: vault.rootToken }, tls: { ca: certs.caCert, cert: certs.clientCert, key: certs.clientKey } });
    await backend.connect();
    expect(await backend.listKeys()).toEqual([{ keyId: ADDRESS, address: ADDRESS }]);
    verifySignedTransactionSender(await backend.signTransaction(ADDRESS, legacy()), ADDRESS);
  });

  it('is unavailable without a client certificate, or without the CA', async () => {
    const noCert = new VaultEthsignBackend({ id: 'vault-tls', endpoint: vault.url, auth: { method: 'token', token: vault.rootToken }, tls: { ca: certs.caCert } });
    await expect(noCert.connect()).rejects.toBeInstanceOf(BackendUnavailableError);
    const noCa = new VaultEthsignBackend({ id: 'vault-tls', endpoint: vault.url, auth: { method: 'token', token: vault.rootToken }, tls: { cert: certs.clientCert, key: certs.clientKey } });
    await expect(noCa.connect()).rejects.toThrow(/certificate/i);
  });
});
