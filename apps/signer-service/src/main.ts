import { ConfigError, loadConfig, signerServiceConfig } from '@hsm-signer/config';
import { createLogger } from '@hsm-signer/logging';
import { startSignerService } from './app';

async function main(): Promise<void> {
  const logger = createLogger('signer-service');
  let config;
  try {
    config = loadConfig(signerServiceConfig);
  } catch (error) {
    if (error instanceof ConfigError) {
      logger.fatal(error.message);
      process.exit(2);
    }
    throw error;
  }
  logger.level = config.logLevel;
  const service = await startSignerService(config, { logger });
  // SIGTERM / SIGINT → app.close(): running requests finish and reply, NATS and HTTP close, PKCS#11
  // sessions close and the library is finalised; then exit 0. Handled here rather than with Nest's
  // enableShutdownHooks, which runs the hooks but leaves the NATS server open and re-raises the signal.
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    service.close().then(
      () => {
        logger.info('signer-service stopped');
        process.exit(0);
      },
      (error) => {
        logger.error({ err: { type: error?.name, message: error?.message } }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

main().catch((error) => {
  const logger = createLogger('signer-service');
  if (error instanceof ConfigError) {
    logger.fatal(error.message);
    process.exit(2);
  }
  logger.fatal({ err: { type: error?.name, message: error?.message } }, 'signer-service failed to start');
  process.exit(1);
});
