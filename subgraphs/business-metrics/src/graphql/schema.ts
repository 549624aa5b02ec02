import 'reflect-metadata';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper';
import { printSubgraphSchema } from '@apollo/subgraph';
import { printSchemaWithDirectives } from '@graphql-tools/utils';
import type { GraphQLSchema } from 'graphql';
import { parse } from 'graphql';
import { buildSchema, createResolversMap } from 'type-graphql';
import { DeploymentStrategiesResolver } from './deployment-strategies.resolver';
import { PerformanceResolver } from './performance.resolver';
import { StrategyResolver } from './strategy.resolver';

const FEDERATION_LINK =
  'extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key", "@shareable", "@requiresScopes"])';

const UNUSED_TYPE_GRAPHQL_PUBSUB = {
  publish(): never {
    throw new Error('performance updates are published through the runtime PubSub');
  },
  subscribe(): never {
    throw new Error('strategyPerformance brings its own subscribe');
  },
};

/** Entities the gateway fetches by key: a deployment here is its name (its strategies are looked up by it). */
const referenceResolvers = {
  Deployment: {
    __resolveReference(reference: { name: string }) {
      return { name: reference.name };
    },
  },
};

/**
 * The business-metrics subgraph schema: type-graphql builds the types from the resolver classes,
 * and `@apollo/subgraph` adds federation (`_entities`, `_service`) from the printed SDL. The
 * resolver map carries `Subscription.strategyPerformance` as `{ subscribe, resolve }`, which
 * `buildSubgraphSchema` keeps.
 */
export async function buildBusinessMetricsSchema(): Promise<GraphQLSchema> {
  const typeGraphqlSchema = await buildSchema({
    resolvers: [StrategyResolver, PerformanceResolver, DeploymentStrategiesResolver],
    validate: false,
    emitSchemaFile: false,
    // type-graphql insists on a pub/sub of its own once a schema has a subscription, even though
    // `strategyPerformance` brings its own `subscribe`; this one is never called.
    pubSub: UNUSED_TYPE_GRAPHQL_PUBSUB,
  });
  const resolvers = createResolversMap(typeGraphqlSchema) as Record<string, object>;
  const merged = {
    ...resolvers,
    Deployment: { ...resolvers.Deployment, ...referenceResolvers.Deployment },
  };
  return buildSubgraphSchema({
    typeDefs: parse(`${FEDERATION_LINK}\n\n${printSchemaWithDirectives(typeGraphqlSchema)}`),
    resolvers: merged as unknown as GraphQLResolverMap<unknown>,
  });
}

/** The subgraph SDL as composition sees it (checked in under `schema/subgraphs/`). */
export async function printSubgraphSdl(): Promise<string> {
  return printSubgraphSchema(await buildBusinessMetricsSchema());
}
