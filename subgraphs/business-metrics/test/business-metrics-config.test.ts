import path from 'node:path';
import { ConfigError } from '@mlops/runtime';
import { DEFAULT_EVENTS_CHANNEL, readBusinessMetricsConfig } from '../src';

describe('readBusinessMetricsConfig', () => {
  it('should default to port 4005, an SQLite file under DATA_DIR and the default channel', () => {
    expect(readBusinessMetricsConfig({ DATA_DIR: 'somewhere' })).toMatchObject({
      port: 4005,
      host: '127.0.0.1',
      database: { kind: 'sqlite', file: path.resolve('somewhere', 'business-metrics.sqlite3') },
      redisUrl: undefined,
      eventsChannel: DEFAULT_EVENTS_CHANNEL,
      migrateOnStart: true,
    });
  });

  it('should prefer BUSINESS_METRICS_DATABASE_URL over DATABASE_URL', () => {
    const config = readBusinessMetricsConfig({
      DATABASE_URL: 'postgres://shared/db',
      BUSINESS_METRICS_DATABASE_URL: 'postgres://own/business',
    });
    expect(config.database).toEqual({ kind: 'postgresql', url: 'postgres://own/business' });
  });

  it('should name every bad variable in one ConfigError', () => {
    let error: unknown;
    try {
      readBusinessMetricsConfig({
        PORT: 'x',
        REDIS_URL: 'http://redis',
        BUSINESS_METRICS_DATABASE_URL: 'mysql://db',
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    for (const variable of ['PORT', 'REDIS_URL', 'BUSINESS_METRICS_DATABASE_URL'])
      expect(problems).toContain(variable);
  });
});
