import { ConfigError, loadConfig, nonceServiceConfig } from '@hsm-signer/config';
import { createLogger } from '@hsm-signer/logging';
import { startNonceService } from './app';

async function main(): Promise<void> {
  const logger = createLogger('nonce-service');
  let config;
  try {
    config = loadConfig(nonceServiceConfig);
  } catch (error) {
    if (error instanceof ConfigError) {
      logger.fatal(error.message);
      process.exit(2);
    }
    throw error;
  }
  logger.level = config.logLevel;
  const service = await startNonceService(config, logger);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    service.close().then(
      () => process.exit(0),
      (error) => {
        logger.error({ err: error }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

main().catch((error) => {
  createLogger('nonce-service').fatal({ err: error }, 'nonce-service failed to start');
  process.exit(1);
});
