import 'reflect-metadata';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper';
import { printSubgraphSchema } from '@apollo/subgraph';
import { printSchemaWithDirectives } from '@graphql-tools/utils';
import type { GraphQLSchema } from 'graphql';
import { parse } from 'graphql';
import { buildSchema, createResolversMap } from 'type-graphql';
import { findDeployments } from '../store/deployments';
import type { DeploymentsContext } from './context';
import { DeploymentResolver } from './deployment.resolver';
import { toDeploymentNode } from './mappers';
import { ModelVersionResolver, RevisionModelResolver } from './model-version.resolver';
import { ServingPoolResolver } from './pool.resolver';

const FEDERATION_LINK =
  'extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key", "@shareable", "@requiresScopes"])';

/** Entities the gateway fetches by key. */
const referenceResolvers = {
  Deployment: {
    async __resolveReference(reference: { name: string }, { db }: DeploymentsContext) {
      const record = (await findDeployments(db.knex, [reference.name])).get(reference.name);
      return record ? toDeploymentNode(record) : null;
    },
  },
  // Model versions live in the models subgraph; here a version is its id, and `deployments` is empty
  // for a version no deployment serves.
  ModelVersion: {
    __resolveReference(reference: { id: string }) {
      return { id: reference.id };
    },
  },
};

/**
 * The deployments subgraph schema: type-graphql builds the types from the resolver classes, and
 * `@apollo/subgraph` adds federation (`_entities`, `_service`) from the printed SDL.
 */
export async function buildDeploymentsSchema(): Promise<GraphQLSchema> {
  const typeGraphqlSchema = await buildSchema({
    resolvers: [ServingPoolResolver, DeploymentResolver, ModelVersionResolver, RevisionModelResolver],
    validate: false,
    emitSchemaFile: false,
  });
  const resolvers = createResolversMap(typeGraphqlSchema) as Record<string, object>;
  const merged = {
    ...resolvers,
    Deployment: { ...resolvers.Deployment, ...referenceResolvers.Deployment },
    ModelVersion: { ...resolvers.ModelVersion, ...referenceResolvers.ModelVersion },
  };
  return buildSubgraphSchema({
    typeDefs: parse(`${FEDERATION_LINK}\n\n${printSchemaWithDirectives(typeGraphqlSchema)}`),
    resolvers: merged as unknown as GraphQLResolverMap<unknown>,
  });
}

/** The subgraph SDL as composition sees it (checked in under `schema/subgraphs/`). */
export async function printSubgraphSdl(): Promise<string> {
  return printSubgraphSchema(await buildDeploymentsSchema());
}
