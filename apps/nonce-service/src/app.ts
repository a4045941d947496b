import { Module, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { Logger } from 'pino';
import type { ConfigOf, nonceServiceConfig } from '@hsm-signer/config';
import { QueueGroups } from '@hsm-signer/contracts';
import { createLogger, PinoNestLogger } from '@hsm-signer/logging';
import { NatsBus, natsMicroserviceOptions } from '@hsm-signer/messaging';
import { MetricsModule } from '@hsm-signer/metrics';
import { applyMigrations, createDatabase, LifecycleLedger, NonceLedger, type PrismaClient } from '@hsm-signer/persistence';
import { LedgerRetention } from './ledger-retention';
import { NonceMetrics } from './metrics';
import { ChainReader } from './node-client';
import { NonceAllocator } from './nonce-allocator';
import { LIFECYCLE, LOGGER, NonceController, PRISMA, TRACKER } from './nonce.controller';
import { OutboxRelay } from './outbox-relay';
import { Tracker } from './tracker';

export type NonceServiceConfig = ConfigOf<(typeof nonceServiceConfig)['settings']>;

export interface NonceService {
  app: INestApplication;
  allocator: NonceAllocator;
  prisma: PrismaClient;
  tracker: Tracker;
  relay?: OutboxRelay;
  /** Deletes finished ledger rows past NONCE_LEDGER_RETENTION_DAYS (undefined when it is 0). */
  retention?: LedgerRetention;
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

  // One pool of dbPoolSize connections, shared by Prisma and the ledger's hot statements (plain pg).
  const database = createDatabase(config.databaseUrl, {
    poolSize: config.dbPoolSize,
    onPoolError: (error) => logger.warn({ error: error.message }, 'an idle Postgres connection broke; the pool opens a new one when needed'),
  });
  const prisma = database.prisma;
  const ledger = new NonceLedger(database.pool, { leaseMs: config.leaseMs });
  const lifecycle = new LifecycleLedger(prisma);
  const chain = new ChainReader(config.nodeUrl, config.nodeTimeoutMs);
  const name = config.serviceName || `nonce-service-${process.pid}`;
  // Client connection: signer-service / key-discovery requests (re-signing) and JetStream publishes.
  const bus = await NatsBus.connect({ servers: config.natsUrl, name: `${name}-client`, requestTimeoutMs: config.natsRequestTimeoutMs });
  const tracker = new Tracker(
    lifecycle,
    ledger,
    chain,
    bus,
    {
      owner: `${name}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`,
      intervalMs: config.trackIntervalMs,
      accountLeaseMs: config.trackerLeaseMs,
      maxAccounts: config.trackerMaxAccounts,
      nonceLeaseMs: config.leaseMs,
      confirmations: config.confirmations,
      stuckAfterMs: config.stuckAfterMs,
      unpooledAfterMs: config.unpooledAfterMs,
      gapFillAfterMs: config.gapFillAfterMs,
      floorSyncMs: config.floorSyncMs,
      bump: {
        percent: config.feeBumpPercent,
        multiplier: config.maxFeeMultiplier,
        ...(config.maxFeePerGasWei ? { maxFeePerGasWei: BigInt(config.maxFeePerGasWei) } : {}),
      },
    },
    logger.child({ component: 'tracker' }),
  );
  const retention =
    config.ledgerRetentionDays > 0
      ? new LedgerRetention(lifecycle, { retentionMs: config.ledgerRetentionDays * 86_400_000, intervalMs: 3_600_000, batchSize: 5_000, maxBatchesPerRun: 200 }, logger.child({ component: 'retention' }))
      : undefined;
  const relay = new OutboxRelay(bus.connection, lifecycle, { stream: config.eventsStream, intervalMs: config.outboxIntervalMs, retentionMs: config.outboxRetentionMs }, logger.child({ component: 'outbox' }));
  // docs/metrics.md. The tracker's and the relay's counters are read from their stats when scraped;
  // the ledger gauges are one cached statement on the shared pool.
  const metrics = config.metricsEnabled ? new NonceMetrics({ ledger: database.pool, tracker: () => tracker.stats, outbox: () => relay.stats }) : undefined;
  const allocator = new NonceAllocator(
    ledger,
    chain,
    { maxBatch: config.maxBatch, maxFixedNonceGap: config.maxFixedNonceGap, leaseMs: config.leaseMs, ...(metrics ? { observer: metrics } : {}) },
    logger,
    lifecycle,
  );

  @Module({
    imports: [MetricsModule.register(metrics?.registry)],
    controllers: [NonceController],
    providers: [
      { provide: NonceAllocator, useValue: allocator },
      { provide: PRISMA, useValue: prisma },
      { provide: LOGGER, useValue: logger },
      { provide: LIFECYCLE, useValue: lifecycle },
      { provide: TRACKER, useValue: tracker },
    ],
  })
  class NonceServiceModule {}

  let app: INestApplication | undefined;
  try {
    app = await NestFactory.create(NonceServiceModule, { logger: new PinoNestLogger(logger), abortOnError: false });
    app.connectMicroservice(natsMicroserviceOptions(config.natsUrl, QueueGroups.nonce, name, { timeoutMs: config.natsDrainTimeoutMs, logger }), { inheritAppConfig: true });
    await app.startAllMicroservices();
    await app.listen(config.port, config.host);
  } catch (error) {
    await app?.close().catch(() => undefined);
    await bus.close().catch(() => undefined);
    await database.close().catch(() => undefined);
    throw error;
  }
  if (config.trackerEnabled) {
    tracker.start();
    relay.start();
    retention?.start();
  }
  const address = app.getHttpServer().address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const started = app;
  logger.info({ port, queue: QueueGroups.nonce }, 'nonce-service started');
  return {
    app: started,
    allocator,
    prisma,
    tracker,
    relay,
    retention,
    httpUrl: `http://127.0.0.1:${port}`,
    close: async () => {
      await tracker.stop();
      await relay.stop();
      await retention?.stop();
      await started.close();
      await bus.close().catch(() => undefined);
      await database.close();
    },
  };
}
