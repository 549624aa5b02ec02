import { ConfigError, createLogger, startTracing, stopOnSignals } from '@mlops/runtime';
import { readAlertsConfig } from './config';
import { startAlertsService } from './service';

async function main(): Promise<void> {
  const config = readAlertsConfig();
  const logger = createLogger({ service: 'alerts', level: config.logLevel });
  const tracing = await startTracing({ serviceName: 'alerts', logger });
  const service = await startAlertsService({ config, logger });
  stopOnSignals(logger, async () => {
    await service.close();
    await tracing.shutdown();
  });
}

main().catch((error: unknown) => {
  const logger = createLogger({ service: 'alerts' });
  if (error instanceof ConfigError) logger.fatal({ problems: error.problems }, error.message);
  else logger.fatal({ err: error }, 'alerts subgraph failed to start');
  process.exit(1);
});
