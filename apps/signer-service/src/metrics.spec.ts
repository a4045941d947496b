/**
 * Integration: GET /metrics of signer-service booted in-process against its own nats-server and a
 * real SoftHSM2 token, after signatures requested over NATS as the gateways do.
 */
import { hashMessage } from 'ethers';
import { loadConfig, signerServiceConfig } from '@hsm-signer/config';
import { BatchRoutes, Routes, type UnsignedTransaction } from '@hsm-signer/contracts';
import { createLogger } from '@hsm-signer/logging';
import { NatsBus } from '@hsm-signer/messaging';
import { sampleValue, samples } from '@hsm-signer/metrics';
import { createSoftHsmToken, startNatsServer, type NatsServer, type SoftHsmToken } from '@hsm-signer/testing';
import { startSignerService, type SignerService } from './app';

jest.setTimeout(90_000);

const silent = createLogger('signer-metrics-test', 'silent');
const base = { NATS_URL: '', SIGNER_HTTP_HOST: '127.0.0.1', SIGNER_HTTP_PORT: '0', LOG_LEVEL: 'silent' };

let nats: NatsServer;
let token: SoftHsmToken;
let service: SignerService;
let bus: NatsBus;
let keys: Array<{ keyId: string; address: string }>;

beforeAll(async () => {
  expect(process.env.SOFTHSM2_CONF).toBeDefined(); // set by jest.config.js
  [nats, token] = await Promise.all([startNatsServer(), createSoftHsmToken({ conf: process.env.SOFTHSM2_CONF, keys: 2 })]);
  const config = loadConfig(signerServiceConfig, { ...base, NATS_URL: nats.url, PKCS11_MODULE: token.module, PKCS11_TOKEN_LABEL: token.label, PKCS11_PIN: token.pin });
  service = await startSignerService(config, { logger: silent });
  await service.registry.waitUntilReady(30_000);
  bus = await NatsBus.connect({ servers: nats.url, name: 'signer-metrics-test', requestTimeoutMs: 10_000 });
  keys = (await bus.request(Routes.signerListKeys, {})).backends[0].keys;
});

afterAll(async () => {
  await bus?.close();
  await service?.close();
  await nats?.stop();
  token?.cleanup();
});

const tx: UnsignedTransaction = { type: 2, chainId: 31337, nonce: 0, to: '0x' + '42'.repeat(20), value: '0x1', data: '0x', gasLimit: '0x5208', maxFeePerGas: '0x77359400', maxPriorityFeePerGas: '0x3b9aca00' };

async function scrape(url: string): Promise<string> {
  const res = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5_000) });
  expect(res.status).toBe(200);
  return res.text();
}

describe('signer-service GET /metrics (SoftHSM2)', () => {
  it('exports the backend state and key count, and every signature series at 0 before the first request', async () => {
    const text = await scrape(service.httpUrl);
    expect(sampleValue(text, 'hsm_backend_up', { backend: 'pkcs11', kind: 'pkcs11' })).toBe(1);
    expect(sampleValue(text, 'hsm_backend_keys', { backend: 'pkcs11' })).toBe(2);
    expect(sampleValue(text, 'hsm_signatures_total', { backend: 'pkcs11', kind: 'transaction', outcome: 'ok' })).toBe(0);
    expect(sampleValue(text, 'hsm_process_resident_memory_bytes')).toBeGreaterThan(0);
  });

  it('counts signatures by backend, kind and outcome, with their latency; a backend id from a request never becomes a label', async () => {
    const key = keys[0]!;
    await bus.request(Routes.signerSignTransaction, { from: key.address, key: { backendId: 'pkcs11', keyId: key.keyId }, tx });
    await bus.request(Routes.signerSignDigest, { from: key.address, key: { backendId: 'pkcs11', keyId: key.keyId }, digest: hashMessage('hello') });
    // The gateways' batched route goes through the same handler, one count per entry.
    await bus.requestBatched(BatchRoutes.signerSignTransaction, { from: keys[1]!.address, key: { backendId: 'pkcs11', keyId: keys[1]!.keyId }, tx });
    // A key of another address: refused (SignatureMismatch).
    await expect(bus.request(Routes.signerSignTransaction, { from: keys[1]!.address, key: { backendId: 'pkcs11', keyId: key.keyId }, tx })).rejects.toThrow();
    const madeUp = Array.from({ length: 20 }, (_, i) => `made-up-${i}-${Math.random().toString(36).slice(2)}`);
    for (const backendId of madeUp) {
      await expect(bus.request(Routes.signerSignTransaction, { from: key.address, key: { backendId, keyId: key.keyId }, tx })).rejects.toThrow();
    }

    const text = await scrape(service.httpUrl);
    expect(sampleValue(text, 'hsm_signatures_total', { backend: 'pkcs11', kind: 'transaction', outcome: 'ok' })).toBe(2);
    expect(sampleValue(text, 'hsm_signatures_total', { backend: 'pkcs11', kind: 'digest', outcome: 'ok' })).toBe(1);
    expect(sampleValue(text, 'hsm_signatures_total', { backend: 'pkcs11', kind: 'transaction', outcome: 'error' })).toBe(1);
    expect(sampleValue(text, 'hsm_signatures_total', { backend: 'unknown', kind: 'transaction', outcome: 'error' })).toBe(20);
    expect(sampleValue(text, 'hsm_signature_duration_seconds_count', { backend: 'pkcs11' })).toBe(3);
    const backends = new Set(samples(text).filter((s) => s.name.startsWith('hsm_signature')).map((s) => s.labels['backend']));
    expect([...backends].sort()).toEqual(['pkcs11', 'unknown']);
    for (const id of madeUp) expect(text).not.toContain(id);
  });
});

describe('signer-service with METRICS_ENABLED=false', () => {
  it('has no GET /metrics (404) while /health answers', async () => {
    const plain = await startSignerService(loadConfig(signerServiceConfig, { ...base, NATS_URL: nats.url, METRICS_ENABLED: 'false' }), { logger: silent });
    try {
      expect((await fetch(`${plain.httpUrl}/metrics`, { signal: AbortSignal.timeout(5_000) })).status).toBe(404);
      expect((await fetch(`${plain.httpUrl}/health/live`, { signal: AbortSignal.timeout(5_000) })).status).toBe(200);
    } finally {
      await plain.close();
    }
  });
});
