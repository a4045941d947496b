import { ConfigError, loadConfig, keyDiscoveryConfig } from '@hsm-signer/config';
import { createLogger } from '@hsm-signer/logging';
import { startKeyDiscovery } from './app';

async function main(): Promise<void> {
  const logger = createLogger('key-discovery');
  let config;
  try {
    config = loadConfig(keyDiscoveryConfig);
  } catch (error) {
    if (error instanceof ConfigError) {
      logger.fatal(error.message);
      process.exit(2);
    }
    throw error;
  }
  logger.level = config.logLevel;
  const service = await startKeyDiscovery(config, logger);
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
  createLogger('key-discovery').fatal({ err: error }, 'key-discovery failed to start');
  process.exit(1);
});
