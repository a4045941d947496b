/**
 * Integration: hsm.v1.signer.sign-digest on a real SoftHSM2 token (and a Vault ethsign fixture
 * server, which cannot sign digests), signer-service booted in-process, driven over NATS as the
 * rpc-gateway does. The digests are what the gateway computes for personal_sign / eth_signTypedData_v4.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Signature, TypedDataEncoder, getBytes, hashMessage, keccak256, toUtf8Bytes, verifyMessage, verifyTypedData } from 'ethers';
import { loadConfig, signerServiceConfig } from '@hsm-signer/config';
import { ErrorCode, Routes, type SignDigestRequest } from '@hsm-signer/contracts';
import { isLowS } from '@hsm-signer/ethereum';
import { createLogger } from '@hsm-signer/logging';
import { NatsBus, RemoteServiceError } from '@hsm-signer/messaging';
import { createSoftHsmToken, MAIL_MESSAGE, MAIL_TYPES, startNatsServer, VaultEthsignFixtureServer, type NatsServer, type SoftHsmToken } from '@hsm-signer/testing';
import { startSignerService, type SignerService } from './app';

jest.setTimeout(90_000);

async function remoteError(promise: Promise<unknown>): Promise<RemoteServiceError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(RemoteServiceError);
  return error as RemoteServiceError;
}

const domain = { name: 'Mail', version: '1', chainId: 31337, verifyingContract: '0x' + 'cc'.repeat(20) };
const types = MAIL_TYPES;
const mail = MAIL_MESSAGE;

let nats: NatsServer;
let token: SoftHsmToken;
const vault = new VaultEthsignFixtureServer();
const dir = mkdtempSync(join(tmpdir(), 'sign-digest-spec-'));
let service: SignerService;
let bus: NatsBus;
let hsmKeys: Array<{ keyId: string; address: string }>;
let vaultKey: { keyId: string; address: string };

beforeAll(async () => {
  expect(process.env.SOFTHSM2_CONF).toBeDefined(); // set by jest.config.js
  [nats, token] = await Promise.all([startNatsServer(), createSoftHsmToken({ conf: process.env.SOFTHSM2_CONF, keys: 2 }), vault.start()]);
  vault.createAccount();
  writeFileSync(join(dir, 'vault-token'), vault.rootToken);
  const file = join(dir, 'backends.yaml');
  writeFileSync(file, ['backends:', '  - id: vault', '    type: vault-ethsign', `    endpoint: ${vault.url}`, `    auth: { method: token, token: { file: ${join(dir, 'vault-token')} } }`].join('\n'));
  const config = loadConfig(signerServiceConfig, {
    NATS_URL: nats.url,
    SIGNER_HTTP_HOST: '127.0.0.1',
    SIGNER_HTTP_PORT: '0',
    PKCS11_MODULE: token.module,
    PKCS11_TOKEN_LABEL: token.label,
    PKCS11_PIN: token.pin,
    BACKENDS_CONFIG_FILE: file,
    LOG_LEVEL: 'silent',
  });
  service = await startSignerService(config, { logger: createLogger('sign-digest-test', 'silent') });
  await service.registry.waitUntilReady(30_000);
  bus = await NatsBus.connect({ servers: nats.url, name: 'sign-digest-test', requestTimeoutMs: 10_000 });
  const { backends } = await bus.request(Routes.signerListKeys, {});
  hsmKeys = backends.find((b) => b.backendId === 'pkcs11')!.keys;
  vaultKey = backends.find((b) => b.backendId === 'vault')!.keys[0];
  expect(hsmKeys).toHaveLength(2);
  expect(vaultKey).toBeDefined();
});

afterAll(async () => {
  await bus?.close();
  await service?.close();
  await nats?.stop();
  await vault.stop();
  token?.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

const request = (key: { keyId: string; address: string }, digest: string, backendId = 'pkcs11'): SignDigestRequest => ({ from: key.address, key: { backendId, keyId: key.keyId }, digest });

describe('hsm.v1.signer.sign-digest on SoftHSM2', () => {
  it('signs an EIP-191 message digest: ethers verifyMessage recovers the HSM address; r‖s‖v matches r, s, yParity', async () => {
    const message = 'hello from the HSM';
    const reply = await bus.request(Routes.signerSignDigest, request(hsmKeys[0], hashMessage(message)));
    expect(verifyMessage(message, reply.signature).toLowerCase()).toBe(hsmKeys[0].address);
    const parsed = Signature.from(reply.signature);
    expect(parsed.r).toBe(reply.r);
    expect(parsed.s).toBe(reply.s);
    expect(parsed.v).toBe(27 + reply.yParity);
    expect(reply.signature.slice(-2)).toBe((27 + reply.yParity).toString(16));
    expect(isLowS(getBytes(reply.s))).toBe(true);
  });

  it('signs an EIP-712 digest: ethers verifyTypedData recovers the HSM address', async () => {
    const digest = TypedDataEncoder.hash(domain, types, mail);
    const reply = await bus.request(Routes.signerSignDigest, request(hsmKeys[1], digest));
    expect(verifyTypedData(domain, types, mail, reply.signature).toLowerCase()).toBe(hsmKeys[1].address);
  });

  it('24 concurrent digests from both keys: every one recovers to its key, low-s, both recovery ids seen', async () => {
    const messages = Array.from({ length: 24 }, (_, i) => `message ${i}`);
    const replies = await Promise.all(messages.map((m, i) => bus.request(Routes.signerSignDigest, request(hsmKeys[i % 2], hashMessage(m)))));
    replies.forEach((reply, i) => {
      expect(verifyMessage(messages[i], reply.signature).toLowerCase()).toBe(hsmKeys[i % 2].address);
      expect(isLowS(getBytes(reply.s))).toBe(true);
    });
    expect(new Set(replies.map((r) => r.yParity))).toEqual(new Set([0, 1]));
  });

  it('refuses a key that is not the requested signer, an unknown key or backend, and a digest that is not 32 bytes', async () => {
    const digest = keccak256(toUtf8Bytes('x'));
    const mismatch = await remoteError(bus.request(Routes.signerSignDigest, { ...request(hsmKeys[0], digest), from: hsmKeys[1].address }));
    expect(mismatch.code).toBe(ErrorCode.SignatureMismatch);
    expect(mismatch.message).toContain(hsmKeys[1].address);
    expect((await remoteError(bus.request(Routes.signerSignDigest, request({ keyId: 'ffff', address: hsmKeys[0].address }, digest)))).code).toBe(ErrorCode.KeyNotFound);
    expect((await remoteError(bus.request(Routes.signerSignDigest, request(hsmKeys[0], digest, 'nope')))).code).toBe(ErrorCode.BackendUnavailable);
    const short = await remoteError(bus.request(Routes.signerSignDigest, { ...request(hsmKeys[0], digest), digest: '0x1234' }));
    expect(short.code).toBe(ErrorCode.InvalidRequest);
    expect(short.message).toContain('digest');
  });
});

describe('hsm.v1.signer.sign-digest on a whole-transaction backend (Vault ethsign fixture)', () => {
  it('answers HSM20005 naming the backend and what it cannot sign', async () => {
    const error = await remoteError(bus.request(Routes.signerSignDigest, request(vaultKey, hashMessage('no'), 'vault')));
    expect(error.code).toBe(ErrorCode.UnsupportedTransaction);
    expect(error.message).toBe('backend vault (vault-ethsign) signs whole transactions only; it cannot sign messages or typed data (eth_sign, personal_sign, eth_signTypedData)');
  });
});
