import { ConfigError, createLogger, startTracing, stopOnSignals } from '@mlops/runtime';
import { readDeploymentsConfig } from './config';
import { startDeploymentsService } from './service';

async function main(): Promise<void> {
  const config = readDeploymentsConfig();
  const logger = createLogger({ service: 'deployments', level: config.logLevel });
  const tracing = await startTracing({ serviceName: 'deployments', logger });
  const service = await startDeploymentsService({ config, logger });
  stopOnSignals(logger, async () => {
    await service.close();
    await tracing.shutdown();
  });
}

main().catch((error: unknown) => {
  const logger = createLogger({ service: 'deployments' });
  if (error instanceof ConfigError) logger.fatal({ problems: error.problems }, error.message);
  else logger.fatal({ err: error }, 'deployments subgraph failed to start');
  process.exit(1);
});
