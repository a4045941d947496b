import { Module, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { Logger } from 'pino';
import type { ConfigOf, nonceServiceConfig } from '@hsm-signer/config';
import { QueueGroups } from '@hsm-signer/contracts';
import { createLogger, PinoNestLogger } from '@hsm-signer/logging';
import { natsMicroserviceOptions } from '@hsm-signer/messaging';
import { applyMigrations, createPrismaClient, NonceLedger, type PrismaClient } from '@hsm-signer/persistence';
import { ChainReader } from './node-client';
import { NonceAllocator } from './nonce-allocator';
import { LOGGER, NonceController, PRISMA } from './nonce.controller';

export type NonceServiceConfig = ConfigOf<(typeof nonceServiceConfig)['settings']>;

export interface NonceService {
  app: INestApplication;
  allocator: NonceAllocator;
  prisma: PrismaClient;
  /** Base URL of the health / operator HTTP endpoint. */
  httpUrl: string;
  close(): Promise<void>;
}

/**
 * Starts one nonce-service replica: applies pending migrations (safe with several replicas
 * starting at once), then answers on NATS in queue group `nonce-service` and serves /health.
 */
export async function startNonceService(config: NonceServiceConfig, logger: Logger = createLogger('nonce-service', config.logLevel)): Promise<NonceService> {
  // Postgres may still be starting next to us (compose, npm start): wait for it up to a minute.
  const migrations = await applyMigrations(config.databaseUrl, {
    connectRetryMs: 60_000,
    onConnectRetry: (message) => logger.warn({ error: message }, 'database not reachable yet; retrying'),
  });
  if (migrations.applied.length) logger.info({ applied: migrations.applied }, 'database migrations applied');
  if (migrations.checksumMismatches.length) logger.warn({ migrations: migrations.checksumMismatches }, 'applied migrations changed on disk since they were applied');

  const prisma = createPrismaClient(config.databaseUrl, { poolSize: config.dbPoolSize });
  const ledger = new NonceLedger(prisma, { leaseMs: config.leaseMs });
  const allocator = new NonceAllocator(ledger, new ChainReader(config.nodeUrl, config.nodeTimeoutMs), { maxBatch: config.maxBatch, maxFixedNonceGap: config.maxFixedNonceGap }, logger);

  @Module({
    controllers: [NonceController],
    providers: [
      { provide: NonceAllocator, useValue: allocator },
      { provide: PRISMA, useValue: prisma },
      { provide: LOGGER, useValue: logger },
    ],
  })
  class NonceServiceModule {}

  const name = config.serviceName || `nonce-service-${process.pid}`;
  let app: INestApplication | undefined;
  try {
    app = await NestFactory.create(NonceServiceModule, { logger: new PinoNestLogger(logger), abortOnError: false });
    app.connectMicroservice(natsMicroserviceOptions(config.natsUrl, QueueGroups.nonce, name), { inheritAppConfig: true });
    await app.startAllMicroservices();
    await app.listen(config.port, config.host);
  } catch (error) {
    await app?.close().catch(() => undefined);
    await prisma.$disconnect().catch(() => undefined);
    throw error;
  }
  const address = app.getHttpServer().address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const started = app;
  logger.info({ port, queue: QueueGroups.nonce }, 'nonce-service started');
  return {
    app: started,
    allocator,
    prisma,
    httpUrl: `http://127.0.0.1:${port}`,
    close: async () => {
      await started.close();
      await prisma.$disconnect();
    },
  };
}
