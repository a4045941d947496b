/**
 * Integration: the PKCS#11 connector against a real SoftHSM2 token (libs/testing createSoftHsmToken).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as nativeSecp from 'secp256k1';
import { getBytes } from 'ethers';
import { isLowS, parseP1363Signature, parsePublicKey, publicKeyToAddress, toEthereumSignature, recoverAddress } from '@hsm-signer/ethereum';
import { createSoftHsmToken, waitFor, type SoftHsmToken } from '@hsm-signer/testing';
import { BackendUnavailableError, InvalidDigestError, KeyNotFoundError } from '../errors';
import { BackendRegistry } from '../registry';
import type { BackendLogger } from '../types';
import { Pkcs11Backend } from './pkcs11-backend';

jest.setTimeout(60_000);

let token: SoftHsmToken;
const backends: Pkcs11Backend[] = [];

function backend(overrides: Partial<ConstructorParameters<typeof Pkcs11Backend>[0]> = {}): Pkcs11Backend {
  const b = new Pkcs11Backend({ id: 'hsm', modulePath: token.module, tokenLabel: token.label, pin: token.pin, sessions: 4, ...overrides });
  backends.push(b);
  return b;
}

/** The public key as pkcs11-tool exports it (SubjectPublicKeyInfo), for an address derived independently of the connector. */
function addressFromPkcs11Tool(label: string): string {
  const out = join(token.dir, `${label}.der`);
  execFileSync('pkcs11-tool', ['--module', token.module, '--token-label', token.label, '--read-object', '--type', 'pubkey', '--label', label, '-o', out], {
    env: { ...process.env, ...token.env },
    stdio: 'ignore',
  });
  return publicKeyToAddress(readFileSync(out));
}

beforeAll(async () => {
  // SoftHSM2 reads SOFTHSM2_CONF from the real environment at C_Initialize; jest.config.js put a shared
  // configuration there (libs/testing/jest-softhsm-env.js) and this file adds its own token to it.
  expect(process.env.SOFTHSM2_CONF).toBeDefined();
  token = await createSoftHsmToken({ conf: process.env.SOFTHSM2_CONF, keys: ['eth-1', 'eth-2', 'other-1'] });
});

afterEach(async () => {
  await Promise.all(backends.splice(0).map((b) => b.close()));
});

afterAll(() => token?.cleanup());

describe('PKCS#11 connector on SoftHSM2', () => {
  it('lists every secp256k1 key with CKA_ID hex as keyId and the address of its CKA_EC_POINT', async () => {
    const b = backend();
    await b.connect();
    const keys = await b.listKeys();
    expect(keys.map((k) => k.label).sort()).toEqual(['eth-1', 'eth-2', 'other-1']);
    for (const key of keys) {
      const made = token.keys.find((k) => k.label === key.label)!;
      expect(key.keyId).toBe(made.id);
      expect(key.address).toMatch(/^0x[0-9a-f]{40}$/);
      expect(key.address).toBe(addressFromPkcs11Tool(key.label!));
      expect(publicKeyToAddress(key.publicKey!)).toBe(key.address);
    }
    expect((await b.health()).keyCount).toBe(3);
  });

  it('filters by key-label prefix', async () => {
    const b = backend({ keyLabelPrefix: 'eth-' });
    await b.connect();
    expect((await b.listKeys()).map((k) => k.label).sort()).toEqual(['eth-1', 'eth-2']);
    const other = token.keys.find((k) => k.label === 'other-1')!;
    expect(await b.getKey(other.id)).toBeUndefined();
    await expect(b.signDigest(other.id, randomBytes(32))).rejects.toBeInstanceOf(KeyNotFoundError);
  });

  it('signs 200 digests concurrently: every one becomes a valid low-s Ethereum signature, both recovery ids occur', async () => {
    const b = backend({ sessions: 4 });
    await b.connect();
    const key = (await b.getKey(token.keys[0].id))!;
    expect(key).toBeDefined();
    const digests = Array.from({ length: 200 }, () => randomBytes(32));
    const raws = await Promise.all(digests.map((d) => b.signDigest(key.keyId, d)));
    let highS = 0;
    const parity = [0, 0];
    raws.forEach((raw, i) => {
      expect(raw).toHaveLength(64);
      if (!isLowS(raw.subarray(32))) highS++;
      const sig = toEthereumSignature(digests[i], raw, key.publicKey!);
      const rs = { r: getBytes(sig.r), s: getBytes(sig.s) };
      expect(isLowS(rs.s)).toBe(true);
      // libsecp256k1 verify rejects high s: passing proves normalisation and validity
      expect(nativeSecp.ecdsaVerify(Uint8Array.from([...rs.r, ...rs.s]), digests[i], key.publicKey!)).toBe(true);
      expect(recoverAddress(digests[i], rs, sig.yParity)).toBe(key.address);
      parity[sig.yParity]++;
    });
    // SoftHSM returns high s about half of the time (research/backend-apis.md §C.6).
    expect(highS).toBeGreaterThan(0);
    expect(parity[0]).toBeGreaterThan(0);
    expect(parity[1]).toBeGreaterThan(0);
    // the raw r of the token is used as is
    expect(Array.from(parseP1363Signature(raws[0]).r)).toEqual(Array.from(raws[0].subarray(0, 32)));
  });

  it('refuses anything but a 32-byte digest (SoftHSM would sign it)', async () => {
    const b = backend();
    await b.connect();
    for (const length of [0, 20, 31, 33, 64]) {
      await expect(b.signDigest(token.keys[0].id, randomBytes(length))).rejects.toBeInstanceOf(InvalidDigestError);
    }
  });

  it('sees keys added and deleted by another process while running', async () => {
    const b = backend();
    await b.connect();
    const before = await b.listKeys();
    const added = await token.addKey('eth-added');
    const afterAdd = await b.listKeys();
    expect(afterAdd).toHaveLength(before.length + 1);
    const addedKey = afterAdd.find((k) => k.keyId === added.id)!;
    expect(addedKey.address).toBe(addressFromPkcs11Tool('eth-added'));
    const digest = randomBytes(32);
    toEthereumSignature(digest, await b.signDigest(added.id, digest), addedKey.publicKey!);

    await token.deleteKey('eth-added');
    // the cached private handle is now invalid: signing re-finds the key and reports it gone
    await expect(b.signDigest(added.id, randomBytes(32))).rejects.toBeInstanceOf(KeyNotFoundError);
    const afterDelete = await b.listKeys();
    expect(afterDelete.map((k) => k.keyId).sort()).toEqual(before.map((k) => k.keyId).sort());
    expect(await b.getKey(added.id)).toBeUndefined();
  });

  it('finds a key it has never listed by keyId (another replica listed it)', async () => {
    const added = await token.addKey('eth-late');
    const b = backend();
    await b.connect();
    const key = await b.getKey(added.id);
    expect(key?.label).toBe('eth-late');
    const digest = randomBytes(32);
    expect(toEthereumSignature(digest, await b.signDigest(added.id, digest), key!.publicKey!).r).toMatch(/^0x[0-9a-f]{64}$/);
    await token.deleteKey('eth-late');
  });

  it('a wrong PIN leaves the backend unhealthy with a reason that does not contain the PIN, in listings and logs', async () => {
    const wrongPin = '97531864';
    const lines: string[] = [];
    const capture = (obj: object, msg?: string) => lines.push(JSON.stringify(obj) + ' ' + (msg ?? ''));
    const logger: BackendLogger = { debug: capture, info: capture, warn: capture, error: capture };
    const registry = new BackendRegistry({ logger, backoff: { initialMs: 10, maxMs: 20 } });
    registry.add(backend({ pin: wrongPin, logger }));
    await registry.start();
    const [listing] = await registry.listAll();
    expect(listing).toMatchObject({ backendId: 'hsm', kind: 'pkcs11', healthy: false, keys: [] });
    expect(listing.error).toContain('CKR_PIN_INCORRECT');
    expect(listing.error).not.toContain(wrongPin);
    const error = await registry.signDigest({ backendId: 'hsm', keyId: token.keys[0].id }, randomBytes(32)).catch((e) => e);
    expect(error).toBeInstanceOf(BackendUnavailableError);
    expect(String(error.message)).not.toContain(wrongPin);
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.join('\n')).not.toContain(wrongPin);
    await registry.close();
  });

  it('does not let a connector with another PIN ride on an existing login of the same token', async () => {
    const good = backend();
    await good.connect();
    const other = backend({ pin: '24681357' });
    const error = await other.connect().catch((e) => e);
    expect(error).toBeInstanceOf(BackendUnavailableError);
    expect(error.retryable).toBe(false);
    expect(error.reason).toContain('different PIN');
    expect(error.message).not.toContain('24681357');
    // the same PIN shares the login
    const same = backend();
    await same.connect();
    expect(await same.listKeys()).toHaveLength(3);
  });

  it('an unknown token label is reported with the labels that are present', async () => {
    const b = backend({ tokenLabel: 'no-such-token' });
    const error = await b.connect().catch((e) => e);
    expect(error).toBeInstanceOf(BackendUnavailableError);
    expect(error.reason).toContain(`no token labelled "no-such-token"`);
    expect(error.reason).toContain(`"${token.label}"`);
  });

  it('two connectors on the same library share C_Initialize and login; close and reconnect work', async () => {
    const a = backend({ keyLabelPrefix: 'eth-1' });
    const b = backend({ keyLabelPrefix: 'eth-2' });
    await a.connect();
    await b.connect();
    expect((await a.listKeys()).map((k) => k.label)).toEqual(['eth-1']);
    expect((await b.listKeys()).map((k) => k.label)).toEqual(['eth-2']);
    await a.close();
    // b keeps working: its sessions and the process-wide login survive a's close
    const digest = randomBytes(32);
    const key = (await b.getKey(token.keys[1].id))!;
    toEthereumSignature(digest, await b.signDigest(key.keyId, digest), key.publicKey!);
    await b.close();
    await b.connect();
    expect(await b.listKeys()).toHaveLength(1);
    expect(await b.health()).toEqual({ healthy: true, keyCount: 1 });
  });

  it('a token deleted while running makes the backend unhealthy; re-created, the registry reconnects on its own', async () => {
    const spare = await createSoftHsmToken({ conf: process.env.SOFTHSM2_CONF, keys: ['spare-1'] });
    // (the slot list is fixed at C_Initialize: the spare token exists before this registry initialises the library)
    const registry = new BackendRegistry({ backoff: { initialMs: 20, maxMs: 100 } });
    try {
      registry.add(new Pkcs11Backend({ id: 'spare', modulePath: spare.module, tokenLabel: spare.label, pin: spare.pin, sessions: 2 }));
      await registry.start();
      expect((await registry.listAll())[0].keys.map((k) => k.label)).toEqual(['spare-1']);

      execFileSync('softhsm2-util', ['--delete-token', '--token', spare.label], { env: { ...process.env, ...spare.env }, stdio: 'ignore' });
      const [down] = await registry.listAll();
      expect(down.healthy).toBe(false); // not "healthy with no keys": key-discovery must not retire the accounts
      expect(down.error).toContain(`token "${spare.label}"`);
      await waitFor('reconnect attempts', async () => registry.status()[0].failures >= 1, 5_000, 10);
      expect(registry.status()[0].reason).toContain(`no token labelled "${spare.label}"`);

      execFileSync('softhsm2-util', ['--init-token', '--free', '--label', spare.label, '--so-pin', spare.soPin, '--pin', spare.pin], { env: { ...process.env, ...spare.env }, stdio: 'ignore' });
      await waitFor('reconnected', async () => registry.status()[0].healthy, 10_000, 20);
      const [up] = await registry.listAll();
      expect(up).toMatchObject({ healthy: true, keys: [] }); // a new, empty token
    } finally {
      await registry.close();
      spare.cleanup();
    }
  });

  it('parses the CKA_EC_POINT form SoftHSM2 returns (DER OCTET STRING 04 41 04…)', async () => {
    const b = backend();
    await b.connect();
    const [key] = await b.listKeys();
    const wrapped = Uint8Array.from([0x04, 0x41, ...key.publicKey!]);
    expect(Array.from(parsePublicKey(wrapped))).toEqual(Array.from(key.publicKey!));
  });
});
