import 'reflect-metadata';
import { ConfigError, loadConfig, rpcGatewayConfig } from '@hsm-signer/config';
import { createLogger, redactUrl } from '@hsm-signer/logging';
import { createRpcGateway } from './create-gateway';

async function main(): Promise<void> {
  const config = loadConfig(rpcGatewayConfig);
  const logger = createLogger(config.serviceName || 'rpc-gateway', config.logLevel);
  const { app } = await createRpcGateway(config, logger);
  app.enableShutdownHooks();
  await app.listen(config.port, config.host);
  logger.info({ host: config.host, port: config.port, node: redactUrl(config.nodeUrl) }, 'rpc-gateway listening');
}

main().catch((error: unknown) => {
  process.stderr.write(`rpc-gateway failed to start: ${error instanceof ConfigError ? error.message : error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
