import 'reflect-metadata';
import { ConfigError, loadConfig, restGatewayConfig } from '@hsm-signer/config';
import { createLogger } from '@hsm-signer/logging';
import { createRestGateway } from './create-gateway';

async function main(): Promise<void> {
  const config = loadConfig(restGatewayConfig);
  const logger = createLogger(config.serviceName || 'rest-gateway', config.logLevel);
  const { app } = await createRestGateway(config, logger);
  app.enableShutdownHooks();
  await app.listen(config.port, config.host);
  logger.info({ host: config.host, port: config.port }, 'rest-gateway listening');
}

main().catch((error: unknown) => {
  process.stderr.write(`rest-gateway failed to start: ${error instanceof ConfigError ? error.message : error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
