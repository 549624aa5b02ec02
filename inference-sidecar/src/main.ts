import { ConfigError, createLogger, startTracing, stopOnSignals } from '@mlops/runtime';
import { readSidecarConfig } from './config';
import { startSidecar } from './sidecar';

async function main(): Promise<void> {
  const config = readSidecarConfig();
  const logger = createLogger({ service: 'inference-sidecar', level: config.logLevel });
  const tracing = await startTracing({ serviceName: 'inference-sidecar', logger });
  const sidecar = await startSidecar({ config, logger });
  stopOnSignals(logger, async () => {
    await sidecar.close();
    await tracing.shutdown();
  });
}

main().catch((error: unknown) => {
  const logger = createLogger({ service: 'inference-sidecar' });
  if (error instanceof ConfigError) logger.fatal({ problems: error.problems }, error.message);
  else logger.fatal({ err: error }, 'inference sidecar failed to start');
  process.exit(1);
});
