import 'reflect-metadata';
import type { AddressInfo } from 'node:net';
import { loadConfig, restGatewayConfig } from '@hsm-signer/config';
import { createLogger } from '@hsm-signer/logging';
import { startNatsServer, type NatsServer } from '@hsm-signer/testing';
import { createRestGateway } from './create-gateway';

describe('rest-gateway (in-process, private nats-server)', () => {
  let nats: NatsServer;

  beforeAll(async () => {
    nats = await startNatsServer();
  });
  afterAll(async () => {
    await nats?.stop();
  });

  it('joins NATS and answers GET /status with {"ok":true}; {"ok":false} once NATS is gone', async () => {
    // DATABASE_URL is required by the schema (the REST API will keep ABIs and replies); nothing connects to it yet.
    const config = loadConfig(restGatewayConfig, { NATS_URL: nats.url, DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/unused', LOG_LEVEL: 'silent' });
    const { app, bus } = await createRestGateway(config, createLogger('rest-gateway-test', 'silent'));
    try {
      await app.listen(0, '127.0.0.1');
      const { port } = app.getHttpServer().address() as AddressInfo;
      const res = await fetch(`http://127.0.0.1:${port}/status`);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ ok: true });
      expect(bus.connection.getServer()).toBe(`127.0.0.1:${nats.port}`);

      await bus.close();
      const after = await fetch(`http://127.0.0.1:${port}/status`);
      expect(after.status).toBe(503);
      expect(await after.json()).toEqual({ ok: false });
    } finally {
      await app.close();
    }
  });

  it('refuses to start without NATS, with an error instead of a hang', async () => {
    const config = loadConfig(restGatewayConfig, { NATS_URL: 'nats://127.0.0.1:1', DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/unused', LOG_LEVEL: 'silent' });
    await expect(createRestGateway(config, createLogger('rest-gateway-test', 'silent'))).rejects.toThrow();
  });
});
