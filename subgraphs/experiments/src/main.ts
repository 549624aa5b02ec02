import { ConfigError, createLogger, startTracing, stopOnSignals } from '@mlops/runtime';
import { readExperimentsConfig } from './config';
import { startExperimentsService } from './service';

async function main(): Promise<void> {
  const config = readExperimentsConfig();
  const logger = createLogger({ service: 'experiments', level: config.logLevel });
  const tracing = await startTracing({ serviceName: 'experiments', logger });
  const service = await startExperimentsService({ config, logger });
  stopOnSignals(logger, async () => {
    await service.close();
    await tracing.shutdown();
  });
}

main().catch((error: unknown) => {
  const logger = createLogger({ service: 'experiments' });
  if (error instanceof ConfigError) logger.fatal({ problems: error.problems }, error.message);
  else logger.fatal({ err: error }, 'experiments subgraph failed to start');
  process.exit(1);
});
