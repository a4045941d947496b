import { Inject, Module, type INestApplication, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { Logger } from 'pino';
import type { BackendRegistry } from '@hsm-signer/backends';
import { QueueGroups } from '@hsm-signer/contracts';
import { secp256k1Implementation } from '@hsm-signer/ethereum';
import { createLogger, PinoNestLogger } from '@hsm-signer/logging';
import { natsMicroserviceOptions } from '@hsm-signer/messaging';
import { buildRegistry } from './backends';
import type { SignerServiceConfig } from './config';
import { DigestSigner } from './digest-signer';
import { HealthController } from './health.controller';
import { MetricsModule } from '@hsm-signer/metrics';
import { SIGNER_METRICS, SignerMetrics } from './metrics';
import { Signer } from './signer';
import { SignerController } from './signer.controller';
import { BACKEND_REGISTRY, LOGGER } from './tokens';

export interface SignerService {
  app: INestApplication;
  registry: BackendRegistry;
  /** Base URL of the health endpoint. */
  httpUrl: string;
  close(): Promise<void>;
}

export interface StartOptions {
  logger?: Logger;
  /** Use this registry instead of building one from the config (tests). */
  registry?: BackendRegistry;
}

/**
 * Starts and stops the backends with the app: sessions open before NATS answers. On shutdown Nest
 * first closes the NATS server, which unsubscribes and waits for the requests it already has to be
 * answered (DrainingNatsServer, NATS_DRAIN_TIMEOUT_MS): new requests go to other replicas, none is
 * refused. Only then (onApplicationShutdown) are the signers drained, should anything still run past
 * that bound, and the sessions closed and the PKCS#11 library finalised. Draining the signers before
 * (onModuleDestroy) refused requests with HSM20001 that another replica could have signed. Nest calls
 * the hooks once for the app and once for the hybrid's microservice, hence the guard.
 */
class BackendLifecycle implements OnApplicationBootstrap, OnApplicationShutdown {
  private stopped?: Promise<void>;

  constructor(
    @Inject(BACKEND_REGISTRY) private readonly registry: BackendRegistry,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly signer: Signer,
    private readonly digestSigner: DigestSigner,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    // Never throws: a backend that cannot connect is reported unhealthy and retried with backoff.
    await this.registry.start();
    for (const s of this.registry.status()) {
      if (s.healthy) this.logger.info({ backendId: s.id, kind: s.kind, keys: s.keyCount }, 'backend ready');
      else this.logger.warn({ backendId: s.id, kind: s.kind, reason: s.reason }, 'backend not ready; retrying in the background');
    }
  }

  onApplicationShutdown(): Promise<void> {
    this.stopped ??= Promise.all([this.signer.drain(), this.digestSigner.drain()])
      .then(() => this.registry.close())
      .then(() => this.logger.info('backend sessions closed'));
    return this.stopped;
  }
}

/**
 * Starts one signer-service replica: NATS responder in queue group `signer` (replicas share the
 * load) plus the HTTP health endpoint.
 */
export async function startSignerService(config: SignerServiceConfig, options: StartOptions = {}): Promise<SignerService> {
  const logger = options.logger ?? createLogger('signer-service', config.logLevel);
  const impl = secp256k1Implementation();
  if (impl.native) logger.info('secp256k1: native libsecp256k1 binding');
  else logger.error({ loadError: impl.loadError }, 'secp256k1: native binding failed to load, using the JS fallback (recovery ~30x slower)');

  const registry = options.registry ?? buildRegistry(config, logger);
  if (!registry.ids().length) logger.warn('no signing backend configured (set PKCS11_MODULE, PKCS11_TOKEN_LABEL, PKCS11_PIN)');

  const metrics = config.metricsEnabled ? new SignerMetrics(registry) : undefined;
  @Module({
    imports: [MetricsModule.register(metrics?.registry)],
    controllers: [SignerController, HealthController],
    providers: [
      ...(metrics ? [{ provide: SIGNER_METRICS, useValue: metrics }] : []),
      { provide: BACKEND_REGISTRY, useValue: registry },
      { provide: LOGGER, useValue: logger },
      { provide: Signer, useValue: new Signer(registry) },
      { provide: DigestSigner, useValue: new DigestSigner(registry) },
      BackendLifecycle,
    ],
  })
  class SignerServiceModule {}

  const name = config.serviceName || `signer-service-${process.pid}`;
  let app: INestApplication | undefined;
  try {
    app = await NestFactory.create(SignerServiceModule, { logger: new PinoNestLogger(logger), abortOnError: false });
    app.connectMicroservice(natsMicroserviceOptions(config.natsUrl, QueueGroups.signer, name, { timeoutMs: config.natsDrainTimeoutMs, logger }), { inheritAppConfig: true });
    // init() runs onApplicationBootstrap (backends connect) before NATS starts answering.
    await app.init();
    await app.startAllMicroservices();
    await app.listen(config.port, config.host);
  } catch (error) {
    if (app) await app.close().catch(() => undefined);
    else await registry.close().catch(() => undefined);
    throw error;
  }
  const address = app.getHttpServer().address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  logger.info({ port, queue: QueueGroups.signer, backends: registry.ids() }, 'signer-service started');
  const started = app;
  return { app: started, registry, httpUrl: `http://127.0.0.1:${port}`, close: () => started.close() };
}
