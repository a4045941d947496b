import { Module, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { Logger } from 'pino';
import type { ConfigOf, keyDiscoveryConfig } from '@hsm-signer/config';
import { QueueGroups } from '@hsm-signer/contracts';
import { createLogger, PinoNestLogger } from '@hsm-signer/logging';
import { NatsBus, natsMicroserviceOptions } from '@hsm-signer/messaging';
import { MetricsModule } from '@hsm-signer/metrics';
import { AccountRegistry, applyMigrations, createPrismaClient, type PrismaClient } from '@hsm-signer/persistence';
import { AccountsController, LOGGER, PRISMA } from './accounts.controller';
import { KeyDiscovery } from './discovery';
import { DiscoveryMetrics } from './metrics';

export type KeyDiscoveryConfig = ConfigOf<(typeof keyDiscoveryConfig)['settings']>;

export interface KeyDiscoveryService {
  app: INestApplication;
  discovery: KeyDiscovery;
  registry: AccountRegistry;
  prisma: PrismaClient;
  httpUrl: string;
  close(): Promise<void>;
}

/**
 * Starts one key-discovery replica: applies pending migrations, answers account list / resolve on
 * NATS (queue group key-discovery), serves /health, and polls signer-service for keys.
 */
export async function startKeyDiscovery(config: KeyDiscoveryConfig, logger: Logger = createLogger('key-discovery', config.logLevel)): Promise<KeyDiscoveryService> {
  // Postgres may still be starting next to us (compose, npm start): wait for it up to a minute.
  const migrations = await applyMigrations(config.databaseUrl, {
    connectRetryMs: 60_000,
    onConnectRetry: (message) => logger.warn({ error: message }, 'database not reachable yet; retrying'),
  });
  if (migrations.applied.length) logger.info({ applied: migrations.applied }, 'database migrations applied');
  if (migrations.checksumMismatches.length) logger.warn({ migrations: migrations.checksumMismatches }, 'applied migrations changed on disk since they were applied');

  const name = config.serviceName || `key-discovery-${process.pid}`;
  const prisma = createPrismaClient(config.databaseUrl, { poolSize: 4 });
  const registry = new AccountRegistry(prisma);
  let bus: NatsBus | undefined;
  let app: INestApplication | undefined;
  let discovery: KeyDiscovery | undefined;
  try {
    bus = await NatsBus.connect({ servers: config.natsUrl, name: `${name}-client`, requestTimeoutMs: config.natsRequestTimeoutMs });
    discovery = new KeyDiscovery(bus, registry, config.pollIntervalMs, logger);

    const metrics = config.metricsEnabled ? new DiscoveryMetrics(discovery) : undefined;

    @Module({
      imports: [MetricsModule.register(metrics?.registry)],
      controllers: [AccountsController],
      providers: [
        { provide: AccountRegistry, useValue: registry },
        { provide: KeyDiscovery, useValue: discovery },
        { provide: PRISMA, useValue: prisma },
        { provide: LOGGER, useValue: logger },
      ],
    })
    class KeyDiscoveryModule {}

    app = await NestFactory.create(KeyDiscoveryModule, { logger: new PinoNestLogger(logger), abortOnError: false });
    app.connectMicroservice(natsMicroserviceOptions(config.natsUrl, QueueGroups.keyDiscovery, name, { timeoutMs: config.natsDrainTimeoutMs, logger }), { inheritAppConfig: true });
    await app.startAllMicroservices();
    await app.listen(config.port, config.host);
  } catch (error) {
    await app?.close().catch(() => undefined);
    await bus?.close().catch(() => undefined);
    await prisma.$disconnect().catch(() => undefined);
    throw error;
  }
  discovery.start();
  const address = app.getHttpServer().address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  logger.info({ port, queue: QueueGroups.keyDiscovery, pollIntervalMs: config.pollIntervalMs }, 'key-discovery started');
  const started = { app, bus, discovery };
  return {
    app,
    discovery,
    registry,
    prisma,
    httpUrl: `http://127.0.0.1:${port}`,
    close: async () => {
      await started.discovery.stop();
      await started.app.close();
      await started.bus.close();
      await prisma.$disconnect();
    },
  };
}
