import { ConfigError, createLogger, startTracing, stopOnSignals } from '@mlops/runtime';
import { readBusinessMetricsConfig } from './config';
import { startBusinessMetricsService } from './service';

async function main(): Promise<void> {
  const config = readBusinessMetricsConfig();
  const logger = createLogger({ service: 'business-metrics', level: config.logLevel });
  const tracing = await startTracing({ serviceName: 'business-metrics', logger });
  const service = await startBusinessMetricsService({ config, logger });
  stopOnSignals(logger, async () => {
    await service.close();
    await tracing.shutdown();
  });
}

main().catch((error: unknown) => {
  const logger = createLogger({ service: 'business-metrics' });
  if (error instanceof ConfigError) logger.fatal({ problems: error.problems }, error.message);
  else logger.fatal({ err: error }, 'business-metrics subgraph failed to start');
  process.exit(1);
});
