import { buildOperationContext } from '@apollo/gateway';
import { Supergraph, operationFromDocument } from '@apollo/federation-internals';
import type { Schema } from '@apollo/federation-internals';
import { QueryPlanner } from '@apollo/query-planner';
import type { FetchNode, PlanNode } from '@apollo/query-planner';
import { print } from 'graphql';
import type { DocumentNode, GraphQLSchema } from 'graphql';

export type OperationContext = ReturnType<typeof buildOperationContext>;

/** A subscription as the federation query planner splits it. */
export interface SubscriptionPlan {
  /** The subscription sent to the subgraph that owns the root field. */
  readonly primary: FetchNode;
  /** What runs on every event to fetch the fields other subgraphs own; absent when there are none. */
  readonly rest: PlanNode | undefined;
  readonly operationContext: OperationContext;
}

/** One loaded supergraph: its schemas and a planner for subscriptions over it. */
export interface SubscriptionSupergraph {
  /** The client-facing schema operations are validated against. */
  readonly apiSchema: GraphQLSchema;
  /** The full supergraph schema, which `executeQueryPlan` reads entity requirements from. */
  readonly supergraphSchema: GraphQLSchema;
  readonly internalApiSchema: Schema;
  /** Plans a validated subscription document (cached by its text). */
  plan(document: DocumentNode, operationName: string | undefined): SubscriptionPlan;
}

const PLAN_CACHE_SIZE = 1_000;

/** Builds the schemas and a query planner from a composed supergraph SDL. */
export function createSubscriptionSupergraph(supergraphSdl: string): SubscriptionSupergraph {
  const supergraph = Supergraph.build(supergraphSdl);
  const internalApiSchema = supergraph.apiSchema();
  const apiSchema = internalApiSchema.toGraphQLJSSchema();
  const supergraphSchema = supergraph.schema.toGraphQLJSSchema();
  const planner = new QueryPlanner(supergraph);
  const cache = new Map<string, SubscriptionPlan>();

  return {
    apiSchema,
    supergraphSchema,
    internalApiSchema,
    plan(document, operationName) {
      const key = `${operationName ?? ''}\n${print(document)}`;
      const cached = cache.get(key);
      if (cached) return cached;
      const operationContext = buildOperationContext({
        schema: apiSchema,
        operationDocument: document,
        operationName,
      });
      const operation = operationFromDocument(internalApiSchema, document, { operationName });
      const { node } = planner.buildQueryPlan(operation);
      if (node?.kind !== 'Subscription') {
        throw new Error(`Expected a subscription plan; the planner produced ${node?.kind ?? 'nothing'}`);
      }
      const plan: SubscriptionPlan = { primary: node.primary, rest: node.rest, operationContext };
      if (cache.size >= PLAN_CACHE_SIZE) cache.delete(cache.keys().next().value as string);
      cache.set(key, plan);
      return plan;
    },
  };
}
