import cluster from 'node:cluster';
import { createLogger, startTracing, stopOnSignals } from '@mlops/runtime';
import { readGatewayConfig } from './config';
import { createGateway } from './gateway';
import { superviseWorkers } from './workers';

/** Process entry: `node gateway/dist/main.js`; every setting comes from the environment (see README). */
async function main(): Promise<void> {
  const config = readGatewayConfig();
  const logger = createLogger({ service: 'gateway', level: config.logLevel });
  if (cluster.isPrimary && config.workers > 1) {
    superviseWorkers(config.workers, logger);
    return;
  }
  // Per process: each worker exports its own spans (the primary above serves nothing).
  const tracing = await startTracing({ serviceName: 'gateway', logger });
  // The config is complete, so the gateway must not read the environment a second time.
  const gateway = await createGateway({ ...config, env: {}, logger });
  logger.info({ url: gateway.url }, 'gateway ready');
  stopOnSignals(logger, async () => {
    await gateway.close();
    await tracing.shutdown();
  });
}

main().catch((error: unknown) => {
  createLogger({ service: 'gateway' }).fatal({ err: error }, 'gateway failed to start');
  process.exit(1);
});
