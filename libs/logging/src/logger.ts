import type { LoggerService } from '@nestjs/common';
import pino, { type DestinationStream, type Logger } from 'pino';

/**
 * One structured logger per process (pino, JSON to stdout). Anything that could carry a secret is
 * redacted by path, and callers log error *messages*, never request payloads with credentials.
 */
export function createLogger(name: string, level = process.env.LOG_LEVEL ?? 'info', destination?: DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    name,
    level,
    base: { app: name, pid: process.pid },
    redact: {
      paths: ['pin', '*.pin', 'password', '*.password', 'token', '*.token', 'secret', '*.secret', 'clientSecret', '*.clientSecret', 'databaseUrl', '*.databaseUrl', 'authorization', '*.authorization'],
      censor: '[redacted]',
    },
  };
  return destination ? pino(options, destination) : pino(options);
}

/** Adapts pino to NestJS's LoggerService so framework messages land in the same JSON stream. */
export class PinoNestLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}
  log(message: unknown, context?: string) {
    this.logger.info({ context }, String(message));
  }
  error(message: unknown, trace?: string, context?: string) {
    this.logger.error({ context, trace }, String(message));
  }
  warn(message: unknown, context?: string) {
    this.logger.warn({ context }, String(message));
  }
  debug(message: unknown, context?: string) {
    this.logger.debug({ context }, String(message));
  }
  verbose(message: unknown, context?: string) {
    this.logger.trace({ context }, String(message));
  }
}

/** Removes user:password from URLs before they reach a log line or an error (viem getUrl habit). */
export function redactUrl(value: string): string {
  try {
    const u = new URL(value);
    if (u.username || u.password) {
      u.username = u.username ? '***' : '';
      u.password = u.password ? '***' : '';
    }
    return u.toString();
  } catch {
    return value;
  }
}
