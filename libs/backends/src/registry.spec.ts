import { ErrorCode, type UnsignedTransaction } from '@hsm-signer/contracts';
import { waitFor } from '@hsm-signer/testing';
import { backoffDelay } from './backoff';
import { BackendUnavailableError, KeyNotFoundError, UnknownBackendError, UnsupportedOperationError } from './errors';
import { BackendRegistry } from './registry';
import type { BackendHealth, BackendKeyInfo, SigningBackend } from './types';

/**
 * Test fixture: an in-memory connector whose connect() fails a scripted number of times. It stands in
 * for no real component — it exercises the registry's routing and supervision logic only.
 */
class FixtureBackend implements SigningBackend {
  readonly kind = 'fixture';
  readonly capabilities = { signs: 'digest' as const, transactionTypes: [0, 1, 2] as Array<0 | 1 | 2> };
  connects = 0;
  closes = 0;
  signed: string[] = [];
  connected = false;
  failNextSign?: Error;
  constructor(
    readonly id: string,
    private failConnects = 0,
    private connectError: () => Error = () => new BackendUnavailableError(id, 'HSM unreachable'),
  ) {}
  async connect() {
    this.connects++;
    if (this.failConnects > 0) {
      this.failConnects--;
      throw this.connectError();
    }
    this.connected = true;
  }
  async listKeys(): Promise<BackendKeyInfo[]> {
    return [{ keyId: `${this.id}-k1`, address: '0x' + '11'.repeat(20), label: 'one' }, { keyId: `${this.id}-k2`, address: '0x' + '22'.repeat(20) }];
  }
  async getKey(keyId: string) {
    return (await this.listKeys()).find((k) => k.keyId === keyId);
  }
  async signDigest(keyId: string, digest: Uint8Array) {
    if (this.failNextSign) {
      const e = this.failNextSign;
      this.failNextSign = undefined;
      throw e;
    }
    if (!(await this.getKey(keyId))) throw new KeyNotFoundError(this.id, keyId);
    this.signed.push(keyId);
    return digest.length === 32 ? new Uint8Array(64).fill(1) : new Uint8Array(0);
  }
  async health(): Promise<BackendHealth> {
    return { healthy: this.connected, keyCount: 2 };
  }
  async close() {
    this.closes++;
    this.connected = false;
  }
}

const fast = { backoff: { initialMs: 10, maxMs: 40 } };
const digest = new Uint8Array(32);

describe('BackendRegistry', () => {
  let registry: BackendRegistry;
  afterEach(() => registry?.close());

  it('routes each request to the backend named by KeyRef.backendId', async () => {
    registry = new BackendRegistry(fast);
    const a = new FixtureBackend('a');
    const b = new FixtureBackend('b');
    registry.add(a);
    registry.add(b);
    await registry.start();
    await registry.signDigest({ backendId: 'b', keyId: 'b-k1' }, digest);
    await registry.signDigest({ backendId: 'a', keyId: 'a-k2' }, digest);
    expect(a.signed).toEqual(['a-k2']);
    expect(b.signed).toEqual(['b-k1']);
    expect((await registry.getKey({ backendId: 'a', keyId: 'a-k1' }))?.label).toBe('one');
  });

  it('rejects duplicate ids and unknown backend ids (code BackendUnavailable)', async () => {
    registry = new BackendRegistry(fast);
    registry.add(new FixtureBackend('a'));
    expect(() => registry.add(new FixtureBackend('a'))).toThrow(/duplicate backend id "a"/);
    await registry.start();
    const error = await registry.signDigest({ backendId: 'nope', keyId: 'x' }, digest).catch((e) => e);
    expect(error).toBeInstanceOf(UnknownBackendError);
    expect(error.code).toBe(ErrorCode.BackendUnavailable);
  });

  it('reports a backend that fails to connect as unhealthy with its reason, retries with backoff, and recovers', async () => {
    registry = new BackendRegistry(fast);
    const flaky = new FixtureBackend('flaky', 3);
    const good = new FixtureBackend('good');
    registry.add(flaky);
    registry.add(good);
    await registry.start();

    const listing = await registry.listAll();
    expect(listing.find((l) => l.backendId === 'flaky')).toMatchObject({ healthy: false, error: 'HSM unreachable', keys: [] });
    expect(listing.find((l) => l.backendId === 'good')).toMatchObject({ healthy: true, kind: 'fixture' });
    expect(listing.find((l) => l.backendId === 'good')?.keys).toEqual([
      { keyId: 'good-k1', address: '0x' + '11'.repeat(20), label: 'one' },
      { keyId: 'good-k2', address: '0x' + '22'.repeat(20) },
    ]);
    const error = await registry.signDigest({ backendId: 'flaky', keyId: 'flaky-k1' }, digest).catch((e) => e);
    expect(error).toBeInstanceOf(BackendUnavailableError);
    expect(error.message).toBe('backend flaky is unavailable: HSM unreachable');

    await registry.waitUntilReady(5_000);
    expect(flaky.connects).toBe(4);
    expect(flaky.closes).toBe(3); // every failed attempt is cleaned up
    await registry.signDigest({ backendId: 'flaky', keyId: 'flaky-k1' }, digest);
    expect((await registry.health()).map((s) => [s.id, s.healthy, s.keyCount])).toEqual([
      ['flaky', true, 2],
      ['good', true, 2],
    ]);
  });

  it('does not retry a non-retryable failure (wrong PIN) on its own', async () => {
    registry = new BackendRegistry(fast);
    const locked = new FixtureBackend('locked', 1, () => new BackendUnavailableError('locked', 'login failed: CKR_PIN_INCORRECT', { retryable: false }));
    registry.add(locked);
    await registry.start();
    await new Promise((r) => setTimeout(r, 150));
    expect(locked.connects).toBe(1);
    expect(registry.status()[0]).toMatchObject({ healthy: false, reason: 'login failed: CKR_PIN_INCORRECT' });
  });

  it('takes a backend down on a connection-level failure and reconnects it; key errors leave it up', async () => {
    registry = new BackendRegistry(fast);
    const hsm = new FixtureBackend('hsm');
    registry.add(hsm);
    await registry.start();

    await expect(registry.signDigest({ backendId: 'hsm', keyId: 'missing' }, digest)).rejects.toBeInstanceOf(KeyNotFoundError);
    expect(registry.status()[0].healthy).toBe(true);

    hsm.failNextSign = new BackendUnavailableError('hsm', 'CKR_DEVICE_REMOVED');
    await expect(registry.signDigest({ backendId: 'hsm', keyId: 'hsm-k1' }, digest)).rejects.toThrow(/CKR_DEVICE_REMOVED/);
    expect(registry.status()[0]).toMatchObject({ healthy: false, reason: 'CKR_DEVICE_REMOVED' });
    await waitFor('reconnect', async () => registry.status()[0].healthy, 5_000, 10);
    expect(hsm.connects).toBe(2);
    expect(hsm.closes).toBeGreaterThanOrEqual(1);
    await registry.signDigest({ backendId: 'hsm', keyId: 'hsm-k1' }, digest);
  });

  it('refuses whole-transaction signing on a digest backend', async () => {
    registry = new BackendRegistry(fast);
    registry.add(new FixtureBackend('a'));
    await registry.start();
    const tx = { type: 2, chainId: 1, nonce: 0, to: null, value: '0x0', data: '0x', gasLimit: '0x1' } as UnsignedTransaction;
    const error = await registry.signTransaction({ backendId: 'a', keyId: 'a-k1' }, tx).catch((e) => e);
    expect(error).toBeInstanceOf(UnsupportedOperationError);
    expect(error.code).toBe(ErrorCode.UnsupportedTransaction);
  });

  it('close() closes every backend and stops retrying', async () => {
    registry = new BackendRegistry(fast);
    const down = new FixtureBackend('down', 1000);
    const up = new FixtureBackend('up');
    registry.add(down);
    registry.add(up);
    await registry.start();
    await registry.close();
    const attempts = down.connects;
    await new Promise((r) => setTimeout(r, 100));
    expect(down.connects).toBe(attempts);
    expect(up.closes).toBe(1);
    expect(registry.status().map((s) => s.state)).toEqual(['closed', 'closed']);
  });
});

describe('backoffDelay', () => {
  it('doubles from initialMs up to maxMs, with equal jitter', () => {
    const opts = { initialMs: 100, maxMs: 1000 };
    expect([1, 2, 3, 4, 5, 10].map((a) => backoffDelay(a, opts, () => 0))).toEqual([50, 100, 200, 400, 500, 500]);
    expect([1, 2, 3, 4, 5, 10].map((a) => backoffDelay(a, opts, () => 1))).toEqual([100, 200, 400, 800, 1000, 1000]);
  });
});
