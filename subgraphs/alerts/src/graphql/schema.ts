import 'reflect-metadata';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper';
import { printSubgraphSchema } from '@apollo/subgraph';
import { printSchemaWithDirectives } from '@graphql-tools/utils';
import type { GraphQLSchema } from 'graphql';
import { parse } from 'graphql';
import { buildSchema, createResolversMap } from 'type-graphql';
import { AlertEventResolver } from './alert-event.resolver';
import { AlertResolver, DeploymentAlertsResolver } from './alert.resolver';
import { MetricsResolver } from './metrics.resolver';
import { AlertRuleResolver } from './rule.resolver';
import { SilenceResolver } from './silence.resolver';

const FEDERATION_LINK =
  'extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key", "@shareable", "@authenticated", "@requiresScopes"])';

const UNUSED_TYPE_GRAPHQL_PUBSUB = {
  publish(): never {
    throw new Error('alert events are published through the runtime PubSub');
  },
  subscribe(): never {
    throw new Error('alert subscriptions bring their own subscribe');
  },
};

/** Entities the gateway fetches by key: a deployment here is its name (its alerts are looked up by it). */
const referenceResolvers = {
  Deployment: {
    __resolveReference(reference: { name: string }) {
      return { name: reference.name };
    },
  },
};

/**
 * The alerts subgraph schema: type-graphql builds the types from the resolver classes, and
 * `@apollo/subgraph` adds federation (`_entities`, `_service`) from the printed SDL. The resolver
 * map carries `Subscription.alertEvents` as `{ subscribe, resolve }`, which `buildSubgraphSchema` keeps.
 */
export async function buildAlertsSchema(): Promise<GraphQLSchema> {
  const typeGraphqlSchema = await buildSchema({
    resolvers: [
      AlertRuleResolver,
      AlertResolver,
      DeploymentAlertsResolver,
      AlertEventResolver,
      MetricsResolver,
      SilenceResolver,
    ],
    validate: false,
    emitSchemaFile: false,
    // type-graphql insists on a pub/sub of its own once a schema has a subscription, even though
    // `alertEvents` brings its own `subscribe`; this one is never called.
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
  return printSubgraphSchema(await buildAlertsSchema());
}
