import type { Logger } from 'pino';
import { createLogger } from '@hsm-signer/logging';
import { ConfigError, loadConfig, type AppConfigSchema, type ConfigOf, type SettingsSpec } from './setting';

export interface RunningService {
  /** Finish running requests, close NATS / HTTP / backends. */
  close(): Promise<void>;
}

export interface RunServiceOptions<S extends SettingsSpec> {
  schema: AppConfigSchema<S>;
  start(config: ConfigOf<S> & { logLevel?: string }, logger: Logger): Promise<RunningService>;
}

/**
 * The one start-up path of the NATS services (main.ts): load and validate the configuration (exit 2
 * naming every problem), start, and on SIGTERM / SIGINT close gracefully, then exit 0 (1 when
 * closing failed). Start-up failures are logged as type + message, never a stack or a secret.
 * Handled here rather than with Nest's enableShutdownHooks, which runs the hooks but leaves the NATS
 * server open and re-raises the signal.
 */
export async function runService<S extends SettingsSpec>(options: RunServiceOptions<S>): Promise<void> {
  const app = options.schema.app;
  const logger = createLogger(app);
  const brief = (error: unknown) => ({ type: (error as Error)?.name, message: (error as Error)?.message ?? String(error) });
  let config: ConfigOf<S> & { logLevel?: string };
  try {
    config = loadConfig(options.schema) as ConfigOf<S> & { logLevel?: string };
  } catch (error) {
    if (error instanceof ConfigError) {
      logger.fatal(error.message);
      process.exit(2);
    }
    throw error;
  }
  if (config.logLevel) logger.level = config.logLevel;
  let service: RunningService;
  try {
    service = await options.start(config, logger);
  } catch (error) {
    logger.fatal({ error: brief(error) }, `${app} failed to start`);
    process.exit(1);
  }
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    service.close().then(
      () => {
        logger.info(`${app} stopped`);
        process.exit(0);
      },
      (error) => {
        logger.error({ error: brief(error) }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}
