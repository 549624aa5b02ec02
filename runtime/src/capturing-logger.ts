import { createLogger } from './logger';
import type { Logger } from './logger';

type LogLine = Record<string, unknown>;

/** A logger as the services make it (pino JSON lines), written to memory: for tests that read logs. */
export interface CapturingLogger {
  readonly logger: Logger;
  readonly lines: readonly LogLine[];
  /** The first line (already written or still to come) holding every field of `fields`. */
  next(fields: LogLine): Promise<LogLine>;
}

export function createCapturingLogger(service: string, level = 'debug'): CapturingLogger {
  const lines: LogLine[] = [];
  const waiters = new Set<{ match: (line: LogLine) => boolean; resolve: (line: LogLine) => void }>();
  const logger = createLogger({
    service,
    level,
    destination: {
      write(text: string) {
        const line = JSON.parse(text) as LogLine;
        lines.push(line);
        for (const waiter of waiters) {
          if (!waiter.match(line)) continue;
          waiters.delete(waiter);
          waiter.resolve(line);
        }
      },
    },
  });
  return {
    logger,
    lines,
    next(fields) {
      const match = (line: LogLine) => Object.entries(fields).every(([key, value]) => line[key] === value);
      const seen = lines.find(match);
      return seen ? Promise.resolve(seen) : new Promise((resolve) => waiters.add({ match, resolve }));
    },
  };
}
