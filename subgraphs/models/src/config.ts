import path from 'node:path';
import { createEnvReader } from '@mlops/runtime';
import { readSubgraphCommonConfig } from '@mlops/runtime/database';
import type { SubgraphCommonConfig } from '@mlops/runtime/database';
import { SUBGRAPHS } from '@mlops/schema';

/** Where uploaded model files are kept: rows of the service's database, or files under a directory. */
export type ArtifactStoreKind = 'database' | 'files';

/** The models subgraph's settings: the ones every subgraph shares, and its own. */
export interface ModelsConfig extends SubgraphCommonConfig {
  /**
   * `MODEL_ARTIFACT_STORE`: `database` keeps artifacts in the service's database, where every replica
   * sees them; `files` keeps them under `artifactDir`, for one replica (or storage shared
   * ReadWriteMany). Default `database` on PostgreSQL, `files` on SQLite. Anything else fails start-up.
   */
  readonly artifactStore: ArtifactStoreKind;
  /**
   * `MODEL_ARTIFACT_DIR`; default `<DATA_DIR>/artifacts`. Where ONNX files are stored by sha256 when
   * `artifactStore` is `files`; unused otherwise.
   */
  readonly artifactDir: string;
  /** `MODEL_MAX_ARTIFACT_BYTES`; default 268435456 (256 MiB). Larger uploads answer 413 and store nothing. */
  readonly maxArtifactBytes: number;
}

const DEFAULT_PORT = SUBGRAPHS.find((s) => s.name === 'models')?.defaultPort ?? 4002;

export function readModelsConfig(
  env: Readonly<Record<string, string | undefined>> = process.env,
): ModelsConfig {
  const read = createEnvReader(env);
  const common = readSubgraphCommonConfig(read, env, { name: 'models', defaultPort: DEFAULT_PORT });
  const { dataDir } = common;
  const config: ModelsConfig = {
    ...common,
    // The laptop default (SQLite) keeps plain files one can look at; PostgreSQL means a cluster.
    artifactStore: read.oneOf<ArtifactStoreKind>(
      'MODEL_ARTIFACT_STORE',
      ['database', 'files'],
      common.database.kind === 'postgresql' ? 'database' : 'files',
    ),
    artifactDir: path.resolve(read.string('MODEL_ARTIFACT_DIR', path.join(dataDir, 'artifacts'))),
    maxArtifactBytes: read.int('MODEL_MAX_ARTIFACT_BYTES', 256 * 1024 * 1024, { min: 1 }), // 256 MiB
  };
  read.done();
  return config;
}
