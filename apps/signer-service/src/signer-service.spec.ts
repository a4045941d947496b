/**
 * Integration: signer-service booted in-process against its own nats-server and a real SoftHSM2
 * token, driven through NatsBus exactly as the gateways do.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { Transaction, getBytes, keccak256 } from 'ethers';
import { loadConfig, signerServiceConfig } from '@hsm-signer/config';
import { ErrorCode, Routes, type SignTransactionRequest, type UnsignedTransaction } from '@hsm-signer/contracts';
import { isLowS } from '@hsm-signer/ethereum';
import { createLogger } from '@hsm-signer/logging';
import { NatsBus, NoRespondersError, RemoteServiceError } from '@hsm-signer/messaging';
import { createSoftHsmToken, freePort, startNatsServer, waitFor, type NatsServer, type SoftHsmToken } from '@hsm-signer/testing';
import { startSignerService, type SignerService } from './app';

jest.setTimeout(90_000);

const silent = createLogger('signer-service-test', 'silent');

function configFor(nats: NatsServer, token: SoftHsmToken, overrides: Record<string, string> = {}) {
  return loadConfig(signerServiceConfig, {
    NATS_URL: nats.url,
    SIGNER_HTTP_HOST: '127.0.0.1',
    SIGNER_HTTP_PORT: '0',
    PKCS11_MODULE: token.module,
    PKCS11_TOKEN_LABEL: token.label,
    PKCS11_PIN: token.pin,
    LOG_LEVEL: 'silent',
    ...overrides,
  });
}

async function remoteError(promise: Promise<unknown>): Promise<RemoteServiceError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(RemoteServiceError);
  return error as RemoteServiceError;
}

let nats: NatsServer;
let token: SoftHsmToken;
/** A second token, for the wrong-PIN service: login state is per process and token. */
let otherToken: SoftHsmToken;
let service: SignerService;
let bus: NatsBus;
let keys: Array<{ keyId: string; address: string; label?: string }>;

beforeAll(async () => {
  expect(process.env.SOFTHSM2_CONF).toBeDefined(); // set by jest.config.js (libs/testing/jest-softhsm-env.js)
  // Both tokens exist before the first C_Initialize: SoftHSM2 fixes its slot list at initialisation.
  [nats, token, otherToken] = await Promise.all([
    startNatsServer(),
    createSoftHsmToken({ conf: process.env.SOFTHSM2_CONF, keys: 2 }),
    createSoftHsmToken({ conf: process.env.SOFTHSM2_CONF, keys: 1 }),
  ]);
  service = await startSignerService(configFor(nats, token), { logger: silent });
  bus = await NatsBus.connect({ servers: nats.url, name: 'signer-service-test', requestTimeoutMs: 10_000 });
  const reply = await bus.request(Routes.signerListKeys, {});
  keys = reply.backends[0].keys;
});

afterAll(async () => {
  await bus?.close();
  await service?.close();
  await nats?.stop();
  token?.cleanup();
  otherToken?.cleanup();
});

const chainId = 31337;
function tx(type: 0 | 1 | 2, nonce = 0): UnsignedTransaction {
  const base = { chainId, nonce, to: '0x' + '42'.repeat(20), value: '0xde0b6b3a7640000', data: '0x', gasLimit: '0x5208' };
  if (type === 2) return { ...base, type, maxFeePerGas: '0x77359400', maxPriorityFeePerGas: '0x3b9aca00' };
  if (type === 1) return { ...base, type, gasPrice: '0x3b9aca00', accessList: [{ address: '0x' + '43'.repeat(20), storageKeys: [] }] };
  return { ...base, type, gasPrice: '0x3b9aca00' };
}
function request(key: { keyId: string; address: string }, unsigned: UnsignedTransaction): SignTransactionRequest {
  return { from: key.address, key: { backendId: 'pkcs11', keyId: key.keyId }, tx: unsigned };
}

describe('signer-service over NATS with SoftHSM2', () => {
  it('lists every backend with its health, capabilities and keys', async () => {
    const reply = await bus.request(Routes.signerListKeys, {});
    expect(reply.backends).toHaveLength(1);
    expect(reply.backends[0]).toMatchObject({ backendId: 'pkcs11', kind: 'pkcs11', healthy: true, capabilities: { signs: 'digest', transactionTypes: [0, 1, 2] } });
    expect(reply.backends[0].keys.map((k) => k.keyId).sort()).toEqual(token.keys.map((k) => k.id).sort());
    for (const k of reply.backends[0].keys) expect(k.address).toMatch(/^0x[0-9a-f]{40}$/);
  });

  it.each([0, 1, 2] as const)('signs a type %s transaction whose sender is the HSM key', async (type) => {
    const key = keys[0];
    const unsigned = tx(type, 5);
    const reply = await bus.request(Routes.signerSignTransaction, request(key, unsigned));
    expect(reply.hash).toBe(keccak256(reply.raw));
    const parsed = Transaction.from(reply.raw);
    expect(parsed.from?.toLowerCase()).toBe(key.address);
    expect(parsed.type).toBe(type);
    expect(parsed.nonce).toBe(5);
    expect(parsed.chainId).toBe(BigInt(chainId));
    expect(parsed.to?.toLowerCase()).toBe(unsigned.to);
    expect(parsed.value).toBe(10n ** 18n);
    expect(isLowS(getBytes(parsed.signature!.s))).toBe(true);
    if (type === 0) expect([BigInt(chainId * 2 + 35), BigInt(chainId * 2 + 36)]).toContain(parsed.signature!.networkV); // EIP-155
  });

  it('signs 60 concurrent requests from both keys, each with the right sender', async () => {
    const requests = Array.from({ length: 60 }, (_, i) => request(keys[i % 2], tx((i % 3) as 0 | 1 | 2, i)));
    const replies = await Promise.all(requests.map((r) => bus.request(Routes.signerSignTransaction, r)));
    const parities = new Set<number>();
    replies.forEach((reply, i) => {
      const parsed = Transaction.from(reply.raw);
      expect(parsed.from?.toLowerCase()).toBe(requests[i].from);
      expect(parsed.nonce).toBe(i);
      parities.add(parsed.signature!.yParity);
    });
    expect(parities).toEqual(new Set([0, 1]));
  });

  it('refuses a key whose address is not the requested sender (SignatureMismatch)', async () => {
    const error = await remoteError(bus.request(Routes.signerSignTransaction, { ...request(keys[0], tx(2)), from: keys[1].address }));
    expect(error.code).toBe(ErrorCode.SignatureMismatch);
    expect(error.message).toContain(keys[1].address);
  });

  it('answers unknown keys, unknown backends, invalid payloads and incomplete transactions with stable codes', async () => {
    expect((await remoteError(bus.request(Routes.signerSignTransaction, request({ keyId: 'ffff', address: keys[0].address }, tx(2))))).code).toBe(ErrorCode.KeyNotFound);
    expect((await remoteError(bus.request(Routes.signerSignTransaction, { ...request(keys[0], tx(2)), key: { backendId: 'azure', keyId: 'x' } }))).code).toBe(
      ErrorCode.BackendUnavailable,
    );
    const invalid = await remoteError(bus.request(Routes.signerSignTransaction, { from: keys[0].address } as unknown as SignTransactionRequest));
    expect(invalid.code).toBe(ErrorCode.InvalidRequest);
    const { maxFeePerGas: _omit, ...noFee } = tx(2) as UnsignedTransaction & { maxFeePerGas: string };
    const incomplete = await remoteError(bus.request(Routes.signerSignTransaction, request(keys[0], noFee as UnsignedTransaction)));
    expect(incomplete.code).toBe(ErrorCode.InvalidRequest);
    expect(incomplete.message).toMatch(/maxFeePerGas/);
  });

  it('serves GET /health with per-backend health and key count', async () => {
    const res = await fetch(`${service.httpUrl}/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok', secp256k1: 'native', backends: [{ id: 'pkcs11', kind: 'pkcs11', healthy: true, keyCount: 2 }] });
    expect((await fetch(`${service.httpUrl}/health/live`)).status).toBe(200);
  });

  it('lists a key added to the token while running, and drops it once deleted', async () => {
    const added = await token.addKey('added-live');
    const listed = await bus.request(Routes.signerListKeys, {});
    const key = listed.backends[0].keys.find((k) => k.keyId === added.id);
    expect(key?.label).toBe('added-live');
    const reply = await bus.request(Routes.signerSignTransaction, request(key!, tx(2)));
    expect(Transaction.from(reply.raw).from?.toLowerCase()).toBe(key!.address);

    await token.deleteKey('added-live');
    const after = await bus.request(Routes.signerListKeys, {});
    expect(after.backends[0].keys.map((k) => k.keyId)).not.toContain(added.id);
    expect((await remoteError(bus.request(Routes.signerSignTransaction, request(key!, tx(2))))).code).toBe(ErrorCode.KeyNotFound);
  });
});

describe('signer-service with a wrong PIN', () => {
  const wrongPin = '86420975';
  let otherNats: NatsServer;
  let broken: SignerService;
  let otherBus: NatsBus;

  beforeAll(async () => {
    otherNats = await startNatsServer();
    broken = await startSignerService(configFor(otherNats, otherToken, { PKCS11_PIN: wrongPin }), { logger: silent });
    otherBus = await NatsBus.connect({ servers: otherNats.url, name: 'signer-service-test-2' });
  });
  afterAll(async () => {
    await otherBus?.close();
    await broken?.close();
    await otherNats?.stop();
  });

  it('starts anyway, reports the backend unhealthy with a reason that does not contain the PIN, and refuses to sign', async () => {
    const listing = await otherBus.request(Routes.signerListKeys, {});
    expect(listing.backends[0]).toMatchObject({ backendId: 'pkcs11', healthy: false, keys: [] });
    expect(listing.backends[0].error).toContain('CKR_PIN_INCORRECT');
    expect(JSON.stringify(listing)).not.toContain(wrongPin);

    const health = await fetch(`${broken.httpUrl}/health`);
    expect(health.status).toBe(503);
    const body = await health.text();
    expect(body).toContain('CKR_PIN_INCORRECT');
    expect(body).not.toContain(wrongPin);

    const error = await remoteError(otherBus.request(Routes.signerSignTransaction, request(keys[0], tx(2))));
    expect(error.code).toBe(ErrorCode.BackendUnavailable);
    expect(error.message).not.toContain(wrongPin);
  });
});

describe('signer-service closing under load', () => {
  it('signs every request it received before closing; later ones find no responder; none hangs or is refused', async () => {
    const ownNats = await startNatsServer();
    const replica = await startSignerService(configFor(ownNats, token), { logger: silent });
    const ownBus = await NatsBus.connect({ servers: ownNats.url, name: 'close-under-load', requestTimeoutMs: 5_000 });
    try {
      const results = Array.from({ length: 40 }, (_, i) =>
        ownBus.request(Routes.signerSignTransaction, request(keys[i % 2], tx(2, i))).then(
          (reply) => ({ ok: true as const, reply, i }),
          (error: unknown) => ({ ok: false as const, error, i }),
        ),
      );
      await new Promise((r) => setTimeout(r, 5));
      const started = Date.now();
      await replica.close();
      const settled = await Promise.all(results);
      expect(Date.now() - started).toBeLessThan(5_000);
      for (const r of settled) {
        if (r.ok) {
          expect(Transaction.from(r.reply.raw).from?.toLowerCase()).toBe(keys[r.i % 2].address);
        } else {
          // Sent after the replica unsubscribed: nobody answers (another replica would). Never refused
          // while the replica still listens (HSM20001), never a timeout or an internal error.
          if (!(r.error instanceof NoRespondersError)) throw r.error;
        }
      }
      expect(settled.some((r) => r.ok)).toBe(true);
    } finally {
      await ownBus.close();
      await ownNats.stop();
    }
  });
});

describe('signer-service process', () => {
  it('shuts down cleanly on SIGTERM: NATS responder gone, sessions closed, exit 0', async () => {
    const ownNats = await startNatsServer();
    const port = await freePort();
    const child = spawn(process.execPath, ['-r', '@swc-node/register', join(__dirname, 'main.ts')], {
      cwd: join(__dirname, '..', '..', '..'),
      env: { ...process.env, ...token.env, NATS_URL: ownNats.url, SIGNER_HTTP_HOST: '127.0.0.1', SIGNER_HTTP_PORT: String(port), LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout!.on('data', (d) => (output += String(d)));
    child.stderr!.on('data', (d) => (output += String(d)));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const ownBus = await NatsBus.connect({ servers: ownNats.url, name: 'sigterm-test', requestTimeoutMs: 5_000 });
    try {
      await waitFor('signer-service health', async () => (await fetch(`http://127.0.0.1:${port}/health`)).status === 200, 60_000, 200);
      const reply = await ownBus.request(Routes.signerSignTransaction, request(keys[0], tx(2)));
      expect(Transaction.from(reply.raw).from?.toLowerCase()).toBe(keys[0].address);

      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(output).toContain('backend sessions closed');
      expect(output).toContain('signer-service stopped');
      expect(output).not.toContain(token.pin === '1234' ? '"1234"' : token.pin);
      await expect(ownBus.request(Routes.signerListKeys, {})).rejects.toBeInstanceOf(NoRespondersError);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await ownBus.close();
      await ownNats.stop();
    }
  });
});
