import { cp, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import {
  printSubgraphSdl as printDeploymentsSdl,
  readDeploymentsConfig,
  startDeploymentsService,
} from '@mlops/deployments';
import type { DeploymentsService } from '@mlops/deployments';
import { createGateway } from '@mlops/gateway';
import {
  printSubgraphSdl as printExperimentsSdl,
  readExperimentsConfig,
  startExperimentsService,
} from '@mlops/experiments';
import {
  DEFAULT_MODEL_REPOSITORY,
  createInferenceClient,
  readSidecarConfig,
  startSidecar,
} from '@mlops/inference-sidecar';
import type { InferenceServiceClient, SidecarHandle } from '@mlops/inference-sidecar';
import { printSubgraphSdl as printModelsSdl, readModelsConfig, startModelsService } from '@mlops/models';
import { createLogger } from '@mlops/runtime';
import type { Clock, DatabaseConfig } from '@mlops/runtime/database';
import type { BackendKind } from './databases';
import { createTestDatabase } from './databases';
import { postGraphQL } from './graphql-http';
import type { GraphQLHttpResponse } from './graphql-http';
import { TEST_JWT_SECRET, operatorHeaders } from './jwt';
import { writeSupergraphFile } from './supergraph-file';

/** A wall clock the test can move forward (never back), e.g. past the heartbeat timeout. */
export interface TestClock extends Clock {
  advance(ms: number): void;
}

export interface DeploymentsStack {
  readonly gatewayUrl: string;
  readonly modelsUrl: string;
  readonly deployments: DeploymentsService;
  /** A real inference sidecar on a temporary repository holding `stock-predictor` versions 1 and 2. */
  readonly sidecar: SidecarHandle;
  /** A gRPC client of the sidecar. */
  readonly inference: InferenceServiceClient;
  readonly clock: TestClock;
  readonly heartbeatTimeoutMs: number;
  /**
   * Starts another real sidecar on the same repository layout (nothing loaded), closed with the stack:
   * what a restarted or scaled-out sidecar pod looks like before the control plane reconciles it.
   */
  startSidecar(): Promise<{ sidecar: SidecarHandle; inference: InferenceServiceClient }>;
  gql(query: string, variables?: Record<string, unknown>): Promise<GraphQLHttpResponse>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary response shapes
  data<T = Record<string, any>>(query: string, variables?: Record<string, unknown>): Promise<T>;
  close(): Promise<void>;
}

/**
 * The experiments, models and deployments subgraphs behind a real gateway, plus a real inference
 * sidecar, all on port 0. The deployments subgraph checks versions against the real models subgraph
 * and drives the sidecar over gRPC; periodic probing is off (tests probe on demand).
 */
export async function startDeploymentsStack(kind: BackendKind): Promise<DeploymentsStack> {
  const database = await createTestDatabase(kind);
  const beside = (file: string): DatabaseConfig =>
    database.config.kind === 'sqlite'
      ? { kind: 'sqlite', file: path.join(path.dirname(database.config.file), file) }
      : database.config;
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'mlops-deployments-'));
  const closers: (() => Promise<unknown>)[] = [
    () => database.drop(),
    () => rm(scratch, { recursive: true, force: true }),
  ];
  const closeAll = async () => {
    for (const close of closers.reverse()) await close();
  };
  try {
    const repository = path.join(scratch, 'repository');
    const source = path.join(DEFAULT_MODEL_REPOSITORY, 'stock-predictor');
    await cp(path.join(source, 'config.json'), path.join(repository, 'stock-predictor', 'config.json'));
    for (const version of ['1', '2'])
      await cp(path.join(source, '1'), path.join(repository, 'stock-predictor', version), {
        recursive: true,
      });
    const startEmptySidecar = async () => {
      const handle = await startSidecar({
        config: {
          ...readSidecarConfig({}),
          grpcPort: 0,
          httpPort: 0,
          modelRepository: repository,
          startupModels: [],
        },
        logger: createLogger({ service: 'inference-sidecar', level: 'silent' }),
      });
      closers.push(() => handle.close());
      const client = createInferenceClient(handle.grpcAddress, grpc.credentials.createInsecure());
      closers.push(async () => client.close());
      return { sidecar: handle, inference: client };
    };
    const { sidecar, inference } = await startEmptySidecar();

    const experiments = await startExperimentsService({
      config: { ...readExperimentsConfig({}), port: 0, database: database.config },
      logger: createLogger({ service: 'experiments', level: 'silent' }),
    });
    closers.push(() => experiments.close());
    const models = await startModelsService({
      config: {
        ...readModelsConfig({}),
        port: 0,
        database: beside('models.sqlite3'),
        artifactDir: path.join(scratch, 'artifacts'),
      },
      logger: createLogger({ service: 'models', level: 'silent' }),
    });
    closers.push(() => models.close());
    let offset = 0;
    const clock: TestClock = { now: () => Date.now() + offset, advance: (ms) => void (offset += ms) };
    const config = {
      ...readDeploymentsConfig({}),
      port: 0,
      database: beside('deployments.sqlite3'),
      modelsSubgraphUrl: models.url,
      probeIntervalMs: 0,
      rolloutTimeoutMs: 15_000,
    };
    const deployments = await startDeploymentsService({
      config,
      clock,
      logger: createLogger({ service: 'deployments', level: 'silent' }),
    });
    closers.push(() => deployments.close());

    const supergraph = await writeSupergraphFile([
      { name: 'experiments', url: experiments.url, sdl: await printExperimentsSdl() },
      { name: 'models', url: models.url, sdl: await printModelsSdl() },
      { name: 'deployments', url: deployments.url, sdl: await printDeploymentsSdl() },
    ]);
    closers.push(() => supergraph.remove());
    const gateway = await createGateway({
      env: {},
      port: 0,
      supergraph: { kind: 'file', path: supergraph.path },
      subgraphUrls: { experiments: experiments.url, models: models.url, deployments: deployments.url },
      logLevel: 'silent',
      auth: { hs256Secret: TEST_JWT_SECRET },
    });
    closers.push(() => gateway.close());
    // As an operator (ml-engineer and admin); suites that test refusals send their own headers.
    const gql = (query: string, variables?: Record<string, unknown>) =>
      postGraphQL(gateway.url, query, { variables, headers: operatorHeaders() });
    return {
      gatewayUrl: gateway.url,
      modelsUrl: models.url,
      deployments,
      sidecar,
      inference,
      clock,
      heartbeatTimeoutMs: config.heartbeatTimeoutMs,
      startSidecar: startEmptySidecar,
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
