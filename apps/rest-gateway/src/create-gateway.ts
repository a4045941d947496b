import { NestFactory } from '@nestjs/core';
import type { INestApplication } from '@nestjs/common';
import type { ConfigOf, restGatewayConfig } from '@hsm-signer/config';
import { PinoNestLogger } from '@hsm-signer/logging';
import { NatsBus } from '@hsm-signer/messaging';
import type { Logger } from 'pino';
import { RestGatewayModule } from './app.module';

export type RestGatewayConfig = ConfigOf<(typeof restGatewayConfig)['settings']>;

/** Joins NATS and builds the Nest app (not listening yet). */
export async function createRestGateway(config: RestGatewayConfig, logger: Logger): Promise<{ app: INestApplication; bus: NatsBus }> {
  const bus = await NatsBus.connect({ servers: config.natsUrl, name: config.serviceName || `rest-gateway-${process.pid}`, requestTimeoutMs: config.natsRequestTimeoutMs });
  try {
    const app = await NestFactory.create(RestGatewayModule.register(bus), { logger: new PinoNestLogger(logger) });
    return { app, bus };
  } catch (error) {
    await bus.close();
    throw error;
  }
}
