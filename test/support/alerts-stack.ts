import path from 'node:path';
import { printSubgraphSdl as printAlertsSdl, readAlertsConfig, startAlertsService } from '@mlops/alerts';
import type { AlertsService } from '@mlops/alerts';
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
import type { TestClock } from './deployments-stack';
import { postGraphQL } from './graphql-http';
import type { GraphQLHttpResponse } from './graphql-http';
import { TEST_IDENTITY_KEYS } from './identity';
import { TEST_JWT_SECRET, operatorHeaders } from './jwt';
import { writeSupergraphFile } from './supergraph-file';

export interface AlertsStack {
  readonly gatewayUrl: string;
  readonly alerts: AlertsService;
  readonly clock: TestClock;
  gql(query: string, variables?: Record<string, unknown>): Promise<GraphQLHttpResponse>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary response shapes
  data<T = Record<string, any>>(query: string, variables?: Record<string, unknown>): Promise<T>;
  close(): Promise<void>;
}

/**
 * The deployments and alerts subgraphs behind a real gateway, on port 0. The deployments subgraph
 * takes every model version as READY (no models subgraph) and its pools have no sidecars, so a
 * deployment exists (its rollout FAILED) without any inference; alert evaluation runs on demand.
 */
export async function startAlertsStack(kind: BackendKind): Promise<AlertsStack> {
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
    let offset = 0;
    const clock: TestClock = { now: () => Date.now() + offset, advance: (ms) => void (offset += ms) };
    const alerts = await startAlertsService({
      config: {
        ...readAlertsConfig({}),
        port: 0,
        database: beside('alerts.sqlite3'),
        evaluationIntervalMs: 0,
        // The verified caller reaches the subgraph signed: acknowledgeAlert records it.
        internalIdentityKeys: TEST_IDENTITY_KEYS,
      },
      clock,
      logger: createLogger({ service: 'alerts', level: 'silent' }),
    });
    closers.push(() => alerts.close());
    const supergraph = await writeSupergraphFile([
      { name: 'deployments', url: deployments.url, sdl: await printDeploymentsSdl() },
      { name: 'alerts', url: alerts.url, sdl: await printAlertsSdl() },
    ]);
    closers.push(() => supergraph.remove());
    const gateway = await createGateway({
      env: {},
      port: 0,
      supergraph: { kind: 'file', path: supergraph.path },
      subgraphUrls: { deployments: deployments.url, alerts: alerts.url },
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
      alerts,
      clock,
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
