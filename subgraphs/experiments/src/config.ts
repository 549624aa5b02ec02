import { createEnvReader } from '@mlops/runtime';
import { readSubgraphCommonConfig } from '@mlops/runtime/database';
import type { DatabaseConfig, SubgraphCommonConfig } from '@mlops/runtime/database';
import { SUBGRAPHS } from '@mlops/schema';

export type { DatabaseConfig };

/** The experiments subgraph's settings: only the ones every subgraph shares. */
export type ExperimentsConfig = SubgraphCommonConfig;

const DEFAULT_PORT = SUBGRAPHS.find((s) => s.name === 'experiments')?.defaultPort ?? 4001;

export function readExperimentsConfig(
  env: Readonly<Record<string, string | undefined>> = process.env,
): ExperimentsConfig {
  const read = createEnvReader(env);
  const config = readSubgraphCommonConfig(read, env, { name: 'experiments', defaultPort: DEFAULT_PORT });
  read.done();
  return config;
}
