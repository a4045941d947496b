import { keyDiscoveryConfig, loadConfig } from '@hsm-signer/config';
import { createLogger } from '@hsm-signer/logging';
import { sampleValue } from '@hsm-signer/metrics';
import { createTestDatabase, startNatsServer, type NatsServer, type TestDatabase } from '@hsm-signer/testing';
import { startKeyDiscovery } from './app';

// key-discovery in-process on a real Postgres and nats-server (no signer-service: polls fail and are retried).
jest.setTimeout(120_000);

let db: TestDatabase;
let nats: NatsServer;

beforeAll(async () => {
  [db, nats] = await Promise.all([createTestDatabase(), startNatsServer()]);
});

afterAll(async () => {
  await nats?.stop();
  await db?.drop();
});

async function start(env: Record<string, string> = {}) {
  const config = loadConfig(keyDiscoveryConfig, { DATABASE_URL: db.url, NATS_URL: nats.url, DISCOVERY_HTTP_HOST: '127.0.0.1', DISCOVERY_HTTP_PORT: '0', NATS_REQUEST_TIMEOUT_MS: '500', LOG_LEVEL: 'silent', ...env });
  return startKeyDiscovery(config, createLogger('key-discovery-metrics-test', 'silent'));
}

describe('key-discovery GET /metrics', () => {
  it('serves the process metrics on the health port', async () => {
    const service = await start();
    try {
      const res = await fetch(`${service.httpUrl}/metrics`, { signal: AbortSignal.timeout(5_000) });
      expect(res.status).toBe(200);
      expect(sampleValue(await res.text(), 'hsm_process_resident_memory_bytes')).toBeGreaterThan(0);
    } finally {
      await service.close();
    }
  });

  it('METRICS_ENABLED=false: 404', async () => {
    const service = await start({ METRICS_ENABLED: 'false' });
    try {
      expect((await fetch(`${service.httpUrl}/metrics`, { signal: AbortSignal.timeout(5_000) })).status).toBe(404);
    } finally {
      await service.close();
    }
  });
});
