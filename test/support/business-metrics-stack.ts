import path from 'node:path';
import {
  printSubgraphSdl as printBusinessMetricsSdl,
  readBusinessMetricsConfig,
  startBusinessMetricsService,
} from '@mlops/business-metrics';
import type { BusinessMetricsService } from '@mlops/business-metrics';
import {
  printSubgraphSdl as printDeploymentsSdl,
  readDeploymentsConfig,
  startDeploymentsService,
} from '@mlops/deployments';
import { createGateway } from '@mlops/gateway';
import { createLogger } from '@mlops/runtime';
import type { DatabaseConfig } from '@mlops/runtime/database';
import type { BackendKind } from './databases';
import { createTestDatabase } from './databases';
import { postGraphQL } from './graphql-http';
import type { GraphQLHttpResponse } from './graphql-http';
import { TEST_IDENTITY_KEYS } from './identity';
import { TEST_JWT_SECRET, operatorHeaders } from './jwt';
import { writeSupergraphFile } from './supergraph-file';
import { createCountingPubSub } from './counting-pubsub';

export interface BusinessMetricsStack {
  readonly gatewayUrl: string;
  readonly businessMetrics: BusinessMetricsService;
  /** Live pub/sub subscriptions in the business-metrics subgraph: one per upstream `strategyPerformance`. */
  subscriptions(): number;
  gql(query: string, variables?: Record<string, unknown>): Promise<GraphQLHttpResponse>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary response shapes
  data<T = Record<string, any>>(query: string, variables?: Record<string, unknown>): Promise<T>;
  close(): Promise<void>;
}

/**
 * The deployments and business-metrics subgraphs behind a real gateway, on port 0. The deployments
 * subgraph takes every model version as READY (no models subgraph) and its pools have no sidecars,
 * so a deployment exists (its rollout FAILED) without any inference.
 */
export async function startBusinessMetricsStack(kind: BackendKind): Promise<BusinessMetricsStack> {
  const database = await createTestDatabase(kind);
  const beside = (file: string): DatabaseConfig =>
    database.config.kind === 'sqlite'
      ? { kind: 'sqlite', file: path.join(path.dirname(database.config.file), file) }
      : database.config;
  const closers: (() => Promise<unknown>)[] = [() => database.drop()];
  const closeAll = async () => {
    for (const close of closers.reverse()) await close();
  };
  try {
    const deployments = await startDeploymentsService({
      config: {
        ...readDeploymentsConfig({}),
        port: 0,
        database: beside('deployments.sqlite3'),
        probeIntervalMs: 0,
        internalIdentityKeys: TEST_IDENTITY_KEYS,
      },
      registry: { versionStatus: async () => 'READY' },
      logger: createLogger({ service: 'deployments', level: 'silent' }),
    });
    closers.push(() => deployments.close());
    const pubsub = createCountingPubSub();
    closers.push(() => pubsub.close());
    const businessMetrics = await startBusinessMetricsService({
      config: {
        ...readBusinessMetricsConfig({}),
        port: 0,
        database: beside('business-metrics.sqlite3'),
        internalIdentityKeys: TEST_IDENTITY_KEYS,
      },
      pubsub,
      logger: createLogger({ service: 'business-metrics', level: 'silent' }),
    });
    closers.push(() => businessMetrics.close());
    const supergraph = await writeSupergraphFile([
      { name: 'deployments', url: deployments.url, sdl: await printDeploymentsSdl() },
      { name: 'business-metrics', url: businessMetrics.url, sdl: await printBusinessMetricsSdl() },
    ]);
    closers.push(() => supergraph.remove());
    const gateway = await createGateway({
      env: {},
      port: 0,
      supergraph: { kind: 'file', path: supergraph.path },
      subgraphUrls: { deployments: deployments.url, 'business-metrics': businessMetrics.url },
      logLevel: 'silent',
      auth: { hs256Secret: TEST_JWT_SECRET },
      internalIdentityKeys: TEST_IDENTITY_KEYS,
    });
    closers.push(() => gateway.close());
    // As an operator (ml-engineer and admin); suites that test refusals send their own headers.
    const gql = (query: string, variables?: Record<string, unknown>) =>
      postGraphQL(gateway.url, query, { variables, headers: operatorHeaders() });
    return {
      gatewayUrl: gateway.url,
      businessMetrics,
      subscriptions: () => pubsub.subscriptions(),
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
