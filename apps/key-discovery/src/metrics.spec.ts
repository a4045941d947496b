import { connect } from 'nats';
import { keyDiscoveryConfig, loadConfig } from '@hsm-signer/config';
import { Routes, type BackendCapabilities, type ListKeysReply } from '@hsm-signer/contracts';
import { createLogger } from '@hsm-signer/logging';
import { sampleValue, samples } from '@hsm-signer/metrics';
import { createSoftHsmToken, createTestDatabase, listTokenKeys, serveFixture, startNatsServer, waitFor, type NatsServer, type TestDatabase } from '@hsm-signer/testing';
import { startKeyDiscovery } from './app';

// key-discovery in-process on a real Postgres and nats-server. Apps never import apps, so
// signer-service's key listing is a FIXTURE (libs/testing serveFixture) that lists the keys of a
// real SoftHSM2 token, read with pkcs11-tool, next to two made-up backends.
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

async function scrape(url: string): Promise<string> {
  const res = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5_000) });
  expect(res.status).toBe(200);
  return res.text();
}

describe('key-discovery GET /metrics', () => {
  it('shows the accounts each backend serves after a poll, and the polls by outcome', async () => {
    const token = await createSoftHsmToken({ keys: 2 });
    const nc = await connect({ servers: nats.url, name: 'key-discovery-metrics-fixture' });
    const service = await start({ DISCOVERY_POLL_INTERVAL_MS: '600000' });
    try {
      // No signer-service yet: the first poll (at start) fails.
      await waitFor('the first poll to fail', async () => service.discovery.polls.error >= 1, 20_000, 50);
      let text = await scrape(service.httpUrl);
      expect(sampleValue(text, 'hsm_discovery_polls_total', { outcome: 'error' })).toBe(service.discovery.polls.error);
      expect(sampleValue(text, 'hsm_discovery_polls_total', { outcome: 'ok' })).toBe(0);
      expect(samples(text).filter((s) => s.name === 'hsm_discovery_accounts')).toEqual([]);

      const keys = await listTokenKeys(token);
      expect(keys).toHaveLength(2);
      const caps: BackendCapabilities = { signs: 'digest', transactionTypes: [0, 1, 2] };
      const other = '0x' + 'cc'.repeat(20);
      const listing: ListKeysReply = {
        backends: [
          { backendId: 'pkcs11', kind: 'pkcs11', healthy: true, capabilities: caps, keys: keys.map((k) => ({ keyId: k.id, address: k.address, label: k.label })) },
          // Lists one of the token's addresses too: pkcs11 comes first and serves it.
          { backendId: 'vault', kind: 'vault-ethsign', healthy: true, capabilities: { signs: 'transaction', transactionTypes: [0] }, keys: [{ keyId: 'v1', address: keys[0]!.address }, { keyId: 'v2', address: other }] },
          { backendId: 'azure', kind: 'azure-keyvault', healthy: false, error: 'unreachable', capabilities: caps, keys: [] },
        ],
      };
      const fixture = serveFixture(nc, Routes.signerListKeys, () => listing);
      await nc.flush();
      try {
        expect((await service.discovery.pollOnce()).ok).toBe(true);
        text = await scrape(service.httpUrl);
        expect(sampleValue(text, 'hsm_discovery_accounts', { backend: 'pkcs11' })).toBe(2);
        expect(sampleValue(text, 'hsm_discovery_accounts', { backend: 'vault' })).toBe(1);
        expect(sampleValue(text, 'hsm_discovery_accounts', { backend: 'azure' })).toBe(0);
        expect(sampleValue(text, 'hsm_discovery_polls_total', { outcome: 'ok' })).toBe(1);
        expect(sampleValue(text, 'hsm_discovery_polls_total', { outcome: 'error' })).toBe(service.discovery.polls.error);
        expect(text).toContain('# TYPE hsm_discovery_polls_total counter');
        // The registry agrees: three accounts.
        expect((await service.registry.listVisible()).length).toBe(3);
        const labels = samples(text).flatMap((s) => Object.values(s.labels).map((v) => v.toLowerCase()));
        for (const address of [...keys.map((k) => k.address.toLowerCase()), other]) expect(labels).not.toContain(address);
      } finally {
        fixture.unsubscribe();
      }
    } finally {
      await service.close();
      await nc.drain();
      token.cleanup();
    }
  });

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
