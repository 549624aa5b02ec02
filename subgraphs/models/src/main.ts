import { ConfigError, createLogger, startTracing, stopOnSignals } from '@mlops/runtime';
import { readModelsConfig } from './config';
import { startModelsService } from './service';

async function main(): Promise<void> {
  const config = readModelsConfig();
  const logger = createLogger({ service: 'models', level: config.logLevel });
  const tracing = await startTracing({ serviceName: 'models', logger });
  const service = await startModelsService({ config, logger });
  stopOnSignals(logger, async () => {
    await service.close();
    await tracing.shutdown();
  });
}

main().catch((error: unknown) => {
  const logger = createLogger({ service: 'models' });
  if (error instanceof ConfigError) logger.fatal({ problems: error.problems }, error.message);
  else logger.fatal({ err: error }, 'models subgraph failed to start');
  process.exit(1);
});
