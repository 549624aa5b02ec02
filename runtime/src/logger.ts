import pino from 'pino';

export type Logger = pino.Logger;

export interface LoggerOptions {
  /** The service name written into every line as `service`. */
  service: string;
  /** Minimum level; default `info`, `LOG_LEVEL` in each service's config. */
  level?: string;
}

/** Structured JSON logs on stdout, one object a line. */
export function createLogger({ service, level = 'info' }: LoggerOptions): Logger {
  return pino({ level, base: { service }, timestamp: pino.stdTimeFunctions.isoTime });
}
