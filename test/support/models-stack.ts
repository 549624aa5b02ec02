import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createGateway } from '@mlops/gateway';
import type { GatewayHandle } from '@mlops/gateway';
import {
  printSubgraphSdl as printExperimentsSdl,
  readExperimentsConfig,
  startExperimentsService,
} from '@mlops/experiments';
import type { ExperimentsService } from '@mlops/experiments';
import { printSubgraphSdl as printModelsSdl, readModelsConfig, startModelsService } from '@mlops/models';
import type { ModelsService } from '@mlops/models';
import { createLogger } from '@mlops/runtime';
import type { DatabaseConfig } from '@mlops/runtime/database';
import type { BackendKind, TestDatabase } from './databases';
import { createTestDatabase } from './databases';
import { postGraphQL } from './graphql-http';
import type { GraphQLHttpResponse } from './graphql-http';
import { TEST_JWT_SECRET, operatorHeaders } from './jwt';
import { writeSupergraphFile } from './supergraph-file';

export interface ModelsStack {
  readonly gatewayUrl: string;
  /** The models subgraph's GraphQL URL; `/artifacts` is beside it. */
  readonly modelsUrl: string;
  readonly models: ModelsService;
  readonly experiments: ExperimentsService;
  /** Where the local artifact store keeps files. */
  readonly artifactDir: string;
  readonly maxArtifactBytes: number;
  /** One operation through the gateway, over real HTTP. */
  gql(query: string, variables?: Record<string, unknown>): Promise<GraphQLHttpResponse>;
  /** Like `gql`, but fails the test on any GraphQL error and returns `data`. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary response shapes
  data<T = Record<string, any>>(query: string, variables?: Record<string, unknown>): Promise<T>;
  close(): Promise<void>;
}

export interface ModelsStackOptions {
  /** `MODEL_MAX_ARTIFACT_BYTES` of the models service; default 64 KiB, so tests can exceed it cheaply. */
  readonly maxArtifactBytes?: number;
}

/**
 * The experiments and models subgraphs behind a real gateway, all on port 0, every call over HTTP.
 * On PostgreSQL both subgraphs share one fresh database (each with its own tables and migrations
 * table), as a deployment may; on SQLite each has its own file in one fresh directory.
 */
export async function startModelsStack(
  kind: BackendKind,
  { maxArtifactBytes = 64 * 1024 }: ModelsStackOptions = {},
): Promise<ModelsStack> {
  const database: TestDatabase = await createTestDatabase(kind);
  const modelsDatabase: DatabaseConfig =
    database.config.kind === 'sqlite'
      ? { kind: 'sqlite', file: path.join(path.dirname(database.config.file), 'models.sqlite3') }
      : database.config;
  const artifactDir = await mkdtemp(path.join(os.tmpdir(), 'mlops-artifacts-'));
  const closers: (() => Promise<unknown>)[] = [
    () => database.drop(),
    () => rm(artifactDir, { recursive: true, force: true }),
  ];
  const closeAll = async () => {
    for (const close of closers.reverse()) await close();
  };
  try {
    const experiments = await startExperimentsService({
      config: { ...readExperimentsConfig({}), port: 0, database: database.config },
      logger: createLogger({ service: 'experiments', level: 'silent' }),
    });
    closers.push(() => experiments.close());
    const models = await startModelsService({
      config: { ...readModelsConfig({}), port: 0, database: modelsDatabase, artifactDir, maxArtifactBytes },
      logger: createLogger({ service: 'models', level: 'silent' }),
    });
    closers.push(() => models.close());
    const supergraph = await writeSupergraphFile([
      { name: 'experiments', url: experiments.url, sdl: await printExperimentsSdl() },
      { name: 'models', url: models.url, sdl: await printModelsSdl() },
    ]);
    closers.push(() => supergraph.remove());
    const gateway: GatewayHandle = await createGateway({
      env: {},
      port: 0,
      supergraph: { kind: 'file', path: supergraph.path },
      subgraphUrls: { experiments: experiments.url, models: models.url },
      logLevel: 'silent',
      auth: { hs256Secret: TEST_JWT_SECRET },
    });
    closers.push(() => gateway.close());
    // As an operator; suites that test refusals send their own headers.
    const gql = (query: string, variables?: Record<string, unknown>) =>
      postGraphQL(gateway.url, query, { variables, headers: operatorHeaders() });
    return {
      gatewayUrl: gateway.url,
      modelsUrl: models.url,
      models,
      experiments,
      artifactDir,
      maxArtifactBytes,
      gql,
      async data(query, variables) {
        const response = await gql(query, variables);
        if (response.body.errors) throw new Error(`GraphQL errors: ${JSON.stringify(response.body.errors)}`);
        return response.body.data as never;
      },
      close: closeAll,
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}
