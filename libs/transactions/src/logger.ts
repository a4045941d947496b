/** The logging the send path needs; a pino Logger satisfies it. */
export interface SendPathLogger {
  debug(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export const silentLogger: SendPathLogger = { debug: () => undefined, warn: () => undefined, error: () => undefined };
