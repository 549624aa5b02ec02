import pino from 'pino';

export type Logger = pino.Logger;

export interface LoggerOptions {
  /** The service name written into every line as `service`. */
  service: string;
  /** Minimum level; default `info`, `LOG_LEVEL` in each service's config. */
  level?: string;
  /** Where the lines go; default stdout. Tests pass a stream that keeps them. */
  destination?: pino.DestinationStream;
}

/** Structured JSON logs on stdout (or `destination`), one object a line. */
export function createLogger({ service, level = 'info', destination }: LoggerOptions): Logger {
  const options = { level, base: { service }, timestamp: pino.stdTimeFunctions.isoTime };
  return destination ? pino(options, destination) : pino(options);
}
