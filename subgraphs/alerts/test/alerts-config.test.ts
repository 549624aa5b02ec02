import path from 'node:path';
import { ConfigError } from '@mlops/runtime';
import { DEFAULT_EVENTS_CHANNEL, readAlertsConfig } from '../src';

describe('readAlertsConfig', () => {
  it('should default to port 4004, an SQLite file under DATA_DIR, the 15 s schedule and the 5 s catch-up', () => {
    expect(readAlertsConfig({ DATA_DIR: 'somewhere' })).toMatchObject({
      port: 4004,
      host: '127.0.0.1',
      database: { kind: 'sqlite', file: path.resolve('somewhere', 'alerts.sqlite3') },
      redisUrl: undefined,
      evaluationIntervalMs: 15_000,
      sampleStalenessMs: 300_000,
      evaluateOnRecord: true,
      catchupIntervalMs: 5_000,
      eventsChannel: DEFAULT_EVENTS_CHANNEL,
      migrateOnStart: true,
    });
  });

  it('should prefer ALERTS_DATABASE_URL over DATABASE_URL', () => {
    const config = readAlertsConfig({
      DATABASE_URL: 'postgres://shared/db',
      ALERTS_DATABASE_URL: 'postgres://own/alerts',
    });
    expect(config.database).toEqual({ kind: 'postgresql', url: 'postgres://own/alerts' });
  });

  it('should name every bad variable in one ConfigError', () => {
    let error: unknown;
    try {
      readAlertsConfig({
        ALERTS_EVALUATION_INTERVAL_MS: '-1',
        ALERTS_SAMPLE_STALENESS_MS: '0',
        ALERTS_EVALUATE_ON_RECORD: 'yes',
        REDIS_URL: 'http://redis',
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    for (const variable of [
      'ALERTS_EVALUATION_INTERVAL_MS',
      'ALERTS_SAMPLE_STALENESS_MS',
      'ALERTS_EVALUATE_ON_RECORD',
      'REDIS_URL',
    ])
      expect(problems).toContain(variable);
  });
});
