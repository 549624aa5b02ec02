import { createGateway } from '@mlops/gateway';
import type { GatewayHandle } from '@mlops/gateway';
import { printSubgraphSdl, readExperimentsConfig, startExperimentsService } from '@mlops/experiments';
import type { ExperimentsService } from '@mlops/experiments';
import { createLogger } from '@mlops/runtime';
import type { BackendKind, TestDatabase } from './databases';
import { createTestDatabase } from './databases';
import { postGraphQL } from './graphql-http';
import type { GraphQLHttpResponse } from './graphql-http';
import { TEST_JWT_SECRET, operatorHeaders } from './jwt';
import { writeSupergraphFile } from './supergraph-file';

export interface ExperimentsStack {
  readonly gatewayUrl: string;
  readonly subgraphUrl: string;
  readonly service: ExperimentsService;
  /** One operation through the gateway, over real HTTP, as an operator (who may write). */
  gql(query: string, variables?: Record<string, unknown>): Promise<GraphQLHttpResponse>;
  /** Like `gql`, but fails the test on any GraphQL error and returns `data`. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary response shapes
  data<T = Record<string, any>>(query: string, variables?: Record<string, unknown>): Promise<T>;
  close(): Promise<void>;
}

/**
 * The experiments subgraph on a fresh database of `kind`, behind a real gateway that routes to it:
 * both listen on port 0, and every call goes over HTTP through the gateway.
 */
export async function startExperimentsStack(kind: BackendKind): Promise<ExperimentsStack> {
  const database: TestDatabase = await createTestDatabase(kind);
  const config = { ...readExperimentsConfig({}), port: 0, database: database.config };
  const logger = createLogger({ service: 'experiments', level: 'silent' });
  const service = await startExperimentsService({ config, logger });
  const supergraph = await writeSupergraphFile([
    { name: 'experiments', url: service.url, sdl: await printSubgraphSdl() },
  ]);
  let gateway: GatewayHandle;
  try {
    gateway = await createGateway({
      env: {},
      port: 0,
      supergraph: { kind: 'file', path: supergraph.path },
      subgraphUrls: { experiments: service.url },
      logLevel: 'silent',
      auth: { hs256Secret: TEST_JWT_SECRET },
    });
  } catch (error) {
    await service.close();
    throw error;
  }
  // As an operator; suites that test refusals send their own headers.
  const gql = (query: string, variables?: Record<string, unknown>) =>
    postGraphQL(gateway.url, query, { variables, headers: operatorHeaders() });
  return {
    gatewayUrl: gateway.url,
    subgraphUrl: service.url,
    service,
    gql,
    async data(query, variables) {
      const response = await gql(query, variables);
      if (response.body.errors) throw new Error(`GraphQL errors: ${JSON.stringify(response.body.errors)}`);
      return response.body.data as never;
    },
    async close() {
      await gateway.close();
      await service.close();
      await supergraph.remove();
      await database.drop();
    },
  };
}

/** The `extensions.code` of every error of a response, in order. */
export function errorCodes(response: GraphQLHttpResponse): unknown[] {
  return (response.body.errors ?? []).map((e) => e.extensions?.code);
}
