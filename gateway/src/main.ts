import cluster from 'node:cluster';
import { createLogger, stopOnSignals } from '@mlops/runtime';
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
  // The config is complete, so the gateway must not read the environment a second time.
  const gateway = await createGateway({ ...config, env: {}, logger });
  logger.info({ url: gateway.url }, 'gateway ready');
  stopOnSignals(logger, () => gateway.close());
}

main().catch((error: unknown) => {
  createLogger({ service: 'gateway' }).fatal({ err: error }, 'gateway failed to start');
  process.exit(1);
});
