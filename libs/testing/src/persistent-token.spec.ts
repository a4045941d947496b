import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openPersistentToken } from './persistent-token';

describe('openPersistentToken (the npm start dev token)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'persistent-token-spec-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('creates a token with N secp256k1 keys on first use and reuses it (same keys) after', async () => {
    const first = await openPersistentToken(dir, { keys: 2 });
    expect(first.created).toBe(true);
    const keys = await first.keys();
    expect(keys.map((k) => k.label).sort()).toEqual(['key-1', 'key-2']);
    expect(keys.every((k) => /^0x[0-9a-fA-F]{40}$/.test(k.address))).toBe(true);
    expect(statSync(join(dir, 'token.json')).mode & 0o077).toBe(0);

    const again = await openPersistentToken(dir, { keys: 2 });
    expect(again.created).toBe(false);
    expect(again.pin).toBe(first.pin);
    expect((await again.keys()).map((k) => k.address).sort()).toEqual(keys.map((k) => k.address).sort());
    expect(again.env).toEqual({ SOFTHSM2_CONF: join(dir, 'softhsm2.conf'), PKCS11_MODULE: first.module, PKCS11_TOKEN_LABEL: first.label, PKCS11_PIN: first.pin });
  });

  it('adds and deletes keys, and tops up to the wanted count on the next open', async () => {
    const token = await openPersistentToken(dir, { keys: 2 });
    const added = await token.addKey('extra');
    expect((await token.keys()).map((k) => k.address)).toContain(added.address);
    await token.deleteKey('extra');
    await token.deleteKey('key-1');
    expect((await token.keys()).map((k) => k.label)).toEqual(['key-2']);
    const reopened = await openPersistentToken(dir, { keys: 2 });
    expect((await reopened.keys()).map((k) => k.label).sort()).toEqual(['key-1', 'key-2']);
  });
});
