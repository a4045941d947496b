import { ErrorCode } from '@hsm-signer/contracts';
import { AwsKmsFixtureServer, AWS_KMS_FIXTURE_ACCESS_KEY_ID, AWS_KMS_FIXTURE_SECRET_ACCESS_KEY, waitFor } from '@hsm-signer/testing';
import { randomBytes } from 'node:crypto';
import { captureLogger, signManyTransactions } from '../cloud/test-support';
import { BackendSigningError, BackendUnavailableError, InvalidDigestError, KeyNotFoundError } from '../errors';
import { BackendRegistry } from '../registry';
import { AwsKmsBackend, type AwsKmsBackendOptions } from './aws-kms-backend';

// Integration tests against the AWS KMS fixture server, through the real @aws-sdk/client-kms.
jest.setTimeout(60_000);

describe('AwsKmsBackend against the KMS fixture', () => {
  const kms = new AwsKmsFixtureServer({ pageSize: 2 });
  let eth1: { keyId: string; address: string };
  let eth2: { keyId: string; address: string };
  let tagged: { keyId: string; address: string };
  const options = (over: Partial<AwsKmsBackendOptions> = {}): AwsKmsBackendOptions => ({
    id: 'kms',
    region: kms.region,
    endpoint: kms.url,
    credentials: { accessKeyId: AWS_KMS_FIXTURE_ACCESS_KEY_ID, secretAccessKey: AWS_KMS_FIXTURE_SECRET_ACCESS_KEY },
    selector: { aliasPrefix: 'eth/' },
    maxAttempts: 2,
    requestTimeoutMs: 3_000,
    ...over,
  });

  beforeAll(async () => {
    await kms.start();
    eth1 = kms.createKey({ aliases: ['eth/one'] });
    eth2 = kms.createKey({ aliases: ['alias/eth/two'], tags: { 'hsm-signer': 'yes' } });
    tagged = kms.createKey({ tags: { 'hsm-signer': 'yes' } });
    kms.createKey({ aliases: ['eth/p256'], keySpec: 'ECC_NIST_P256' });
    kms.createKey({ aliases: ['eth/disabled'], enabled: false });
    kms.createKey({ aliases: ['other/three'] });
  });
  afterAll(() => kms.stop());

  it('finds ECC_SECG_P256K1 keys by alias prefix, skipping other specs and disabled keys', async () => {
    const backend = new AwsKmsBackend(options());
    await backend.connect();
    const keys = await backend.listKeys();
    expect(keys.map((k) => ({ keyId: k.keyId, address: k.address, label: k.label }))).toEqual([
      { keyId: eth1.keyId, address: eth1.address, label: 'alias/eth/one' },
      { keyId: eth2.keyId, address: eth2.address, label: 'alias/eth/two' },
    ]);
    expect(keys[0].publicKey).toHaveLength(65);
    await backend.close();
  });

  it('finds keys by tag across ListKeys pages', async () => {
    const backend = new AwsKmsBackend(options({ selector: { tag: 'hsm-signer=yes' } }));
    await backend.connect();
    expect((await backend.listKeys()).map((k) => k.keyId).sort()).toEqual([eth2.keyId, tagged.keyId].sort());
    await backend.close();
  });

  it('caches public keys: GetPublicKey once per key however often keys are listed or looked up', async () => {
    const backend = new AwsKmsBackend(options());
    await backend.connect();
    const before = kms.callCount('GetPublicKey');
    await backend.listKeys();
    await backend.listKeys();
    await backend.getKey(eth1.keyId);
    await backend.close();
    await backend.connect();
    await backend.listKeys();
    expect(kms.callCount('GetPublicKey') - before).toBe(2);
    await backend.close();
  });

  it('signs 200 transactions: 0 invalid after DER post-processing, high s and both recovery ids hit', async () => {
    const backend = new AwsKmsBackend(options());
    await backend.connect();
    const key = (await backend.getKey(eth1.keyId))!;
    const highBefore = kms.stats.highS;
    const run = await signManyTransactions(backend, key, 200);
    expect(run.invalid).toBe(0);
    expect(run.yParity[0]).toBeGreaterThan(0);
    expect(run.yParity[1]).toBeGreaterThan(0);
    expect(kms.stats.highS - highBefore).toBeGreaterThan(0);
    expect(kms.stats.highS - highBefore).toBeLessThan(200);
    await backend.close();
  });

  it('refuses non-32-byte input, unknown and disabled keys with named errors', async () => {
    const backend = new AwsKmsBackend(options());
    await backend.connect();
    await expect(backend.signDigest(eth1.keyId, randomBytes(31))).rejects.toBeInstanceOf(InvalidDigestError);
    await expect(backend.signDigest('00000000-0000-0000-0000-000000000000', randomBytes(32))).rejects.toBeInstanceOf(KeyNotFoundError);
    expect(await backend.getKey('00000000-0000-0000-0000-000000000000')).toBeUndefined();
    const k = kms.createKey({ aliases: ['eth/soon-disabled'] });
    kms.setEnabled(k.keyId, false);
    await expect(backend.signDigest(k.keyId, randomBytes(32))).rejects.toThrow(BackendSigningError);
    await backend.close();
  });

  it('rides out throttling (ThrottlingException) with the SDK retries', async () => {
    const backend = new AwsKmsBackend(options({ maxAttempts: 4 }));
    await backend.connect();
    kms.throttle(2, ['Sign']);
    const before = kms.callCount('Sign');
    expect((await backend.signDigest(eth1.keyId, randomBytes(32)))[0]).toBe(0x30);
    expect(kms.callCount('Sign') - before).toBe(3);
    // Still throttled after every attempt: a signing error, the backend stays up.
    kms.throttle(10, ['Sign']);
    const error = await backend.signDigest(eth1.keyId, randomBytes(32)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendSigningError);
    expect((error as Error).message).toMatch(/ThrottlingException/);
    kms.throttle(0);
    await backend.close();
  });

  it('server stopped → a clear unavailable error and unhealthy; started again → signs without a restart', async () => {
    const registry = new BackendRegistry({ backoff: { initialMs: 100, maxMs: 300 } });
    registry.add(new AwsKmsBackend(options()));
    await registry.start();
    await registry.waitUntilReady(5_000);
    const ref = { backendId: 'kms', keyId: eth1.keyId };
    await registry.listAll();
    expect((await registry.signDigest(ref, randomBytes(32)))).toBeInstanceOf(Uint8Array);

    await kms.stop();
    const started = Date.now();
    const error = await registry.signDigest(ref, randomBytes(32)).catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(error).toBeInstanceOf(BackendUnavailableError);
    expect((error as BackendUnavailableError).code).toBe(ErrorCode.BackendUnavailable);
    expect((error as Error).message).toMatch(/connection (refused|reset)/);
    expect(registry.status()[0]).toMatchObject({ healthy: false });

    await kms.start();
    await waitFor('kms backend reconnected', async () => registry.status()[0].healthy, 10_000, 50);
    expect(await registry.signDigest(ref, randomBytes(32))).toBeInstanceOf(Uint8Array);
    await registry.close();
  });

  it('bad credentials → unhealthy with a reason that does not contain the secret', async () => {
    const secret = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
    const logger = captureLogger();
    const registry = new BackendRegistry({ backoff: { initialMs: 100, maxMs: 300 }, logger });
    registry.add(new AwsKmsBackend(options({ credentials: { accessKeyId: 'AKIAUNKNOWN000000000', secretAccessKey: secret }, logger })));
    await registry.start();
    const [status] = registry.status();
    expect(status.healthy).toBe(false);
    expect(status.reason).toMatch(/credentials refused \(UnrecognizedClientException, HTTP 400\)/);
    expect(status.reason).not.toContain(secret);
    const [listing] = await registry.listAll();
    expect(listing).toMatchObject({ healthy: false, keys: [] });
    expect(logger.lines.join('\n')).toMatch(/UnrecognizedClientException/);
    expect(logger.lines.join('\n')).not.toContain(secret);
    await registry.close();
  });
});
