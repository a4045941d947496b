import 'reflect-metadata';
import type { AddressInfo } from 'node:net';
import { Agent, request } from 'node:http';
import { loadConfig, restGatewayConfig } from '@hsm-signer/config';
import { createLogger } from '@hsm-signer/logging';
import { createTestDatabase, startNatsServer, type NatsServer, type TestDatabase } from '@hsm-signer/testing';
import { createRestGateway } from './create-gateway';

jest.setTimeout(60_000);

describe('rest-gateway (in-process, private nats-server with JetStream, real Postgres)', () => {
  let nats: NatsServer;
  let db: TestDatabase;

  beforeAll(async () => {
    nats = await startNatsServer({ jetstream: true });
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await nats?.stop();
    await db?.drop();
  });

  // No node is running on port 1: the gateway starts anyway (a warning), as the rpc-gateway does.
  const env = () => ({ NATS_URL: nats.url, DATABASE_URL: db.url, ETH_NODE_URL: 'http://127.0.0.1:1', LOG_LEVEL: 'silent' });

  it('applies the migrations, joins NATS, creates its JetStream stream and answers GET /status; 503 once NATS is gone', async () => {
    const { app, bus } = await createRestGateway(loadConfig(restGatewayConfig, env()), createLogger('rest-gateway-test', 'silent'));
    try {
      await app.listen(0, '127.0.0.1');
      const { port } = app.getHttpServer().address() as AddressInfo;
      const res = await fetch(`http://127.0.0.1:${port}/status`);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ ok: true });
      const jsm = await bus.connection.jetstreamManager();
      expect((await jsm.streams.info('HSM_REST_REQUESTS')).config.subjects).toEqual(['hsm.v1.rest.requests']);
      const abis = await fetch(`http://127.0.0.1:${port}/abis`);
      expect(await abis.json()).toEqual([]);

      await bus.close();
      const after = await fetch(`http://127.0.0.1:${port}/status`);
      expect(after.status).toBe(503);
      expect(await after.json()).toEqual({ ok: false });
    } finally {
      await app.close();
    }
  });

  it('answers unknown routes with the REST error body, not an HTML page', async () => {
    const { app } = await createRestGateway(loadConfig(restGatewayConfig, env()), createLogger('rest-gateway-test', 'silent'));
    try {
      await app.listen(0, '127.0.0.1');
      const { port } = app.getHttpServer().address() as AddressInfo;
      const res = await fetch(`http://127.0.0.1:${port}/no/such/route`, { method: 'DELETE' });
      expect(res.status).toBe(404);
      expect(await res.json()).toEqual({ error: 'No route for DELETE /no/such/route', code: 'HSM10404' });
    } finally {
      await app.close();
    }
  });

  it('closes within seconds while clients keep their keep-alive connections busy', async () => {
    const { app } = await createRestGateway(loadConfig(restGatewayConfig, env()), createLogger('rest-gateway-test', 'silent'));
    await app.listen(0, '127.0.0.1');
    const { port } = app.getHttpServer().address() as AddressInfo;
    const agent = new Agent({ keepAlive: true, maxSockets: 4 });
    let running = true;
    const get = () =>
      new Promise<void>((resolve) => {
        const req = request({ host: '127.0.0.1', port, path: '/abis', agent }, (res) => res.resume().on('end', () => resolve()));
        req.on('error', () => setTimeout(resolve, 20));
        req.end();
      });
    const clients = Promise.all(Array.from({ length: 4 }, async () => {
      while (running) await get();
    }));
    await new Promise((r) => setTimeout(r, 300));
    const started = Date.now();
    await app.close();
    const took = Date.now() - started;
    running = false;
    await clients;
    agent.destroy();
    expect(took).toBeLessThan(5_000);
  });

  it('refuses to start without NATS, with an error instead of a hang', async () => {
    const config = loadConfig(restGatewayConfig, { ...env(), NATS_URL: 'nats://127.0.0.1:1' });
    await expect(createRestGateway(config, createLogger('rest-gateway-test', 'silent'))).rejects.toThrow();
  });
});
