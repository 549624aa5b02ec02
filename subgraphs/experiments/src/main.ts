import { ConfigError, createLogger, stopOnSignals } from '@mlops/runtime';
import { readExperimentsConfig } from './config';
import { startExperimentsService } from './service';

async function main(): Promise<void> {
  const config = readExperimentsConfig();
  const logger = createLogger({ service: 'experiments', level: config.logLevel });
  const service = await startExperimentsService({ config, logger });
  stopOnSignals(logger, () => service.close());
}

main().catch((error: unknown) => {
  const logger = createLogger({ service: 'experiments' });
  if (error instanceof ConfigError) logger.fatal({ problems: error.problems }, error.message);
  else logger.fatal({ err: error }, 'experiments subgraph failed to start');
  process.exit(1);
});
