import type { ApolloGateway } from '@apollo/gateway';
import type {
  GatewayExecutionResult,
  GatewayGraphQLRequestContext,
  GatewayInterface,
} from '@apollo/server-gateway-interface';
import { getOperationAST } from 'graphql';
import type { Identity } from '@mlops/schema';
import type { PlanExecution } from '../execution/plan-execution';
import type { QueryPlanning } from '../planning/query-planning';
import type { AccessRules } from './access-rules';

// Apollo's query hashes are hex: this never occurs in an uncut operation's hash.
const CUT_MARK = ':';

/** Whether a request context's `queryHash` is that of an operation the access rules cut. */
export function isCutQueryHash(queryHash: string): boolean {
  return queryHash.includes(CUT_MARK);
}

/**
 * `@apollo/gateway` with the access rules applied before planning: fields the caller may not read
 * are cut from the operation (each answered with a coded error beside the data that is served), and
 * the plan cache key changes with the cut so callers with different rights never share a plan. The
 * operation that remains is planned by `planning` (which may refuse it), then executed by
 * `execution` when given and able, else by Apollo's executor.
 */
export function authorizingGateway(
  gateway: ApolloGateway,
  rules: () => AccessRules,
  planning: QueryPlanning,
  execution?: PlanExecution,
): GatewayInterface {
  return {
    async load(options) {
      const { schema, executor } = await gateway.load(options);
      const planned = (requestContext: GatewayGraphQLRequestContext): Promise<GatewayExecutionResult> => {
        const prepared = planning.prepare(requestContext);
        // Thrown, so Apollo answers with the refusal's own HTTP status (400), like the other limits.
        if (prepared.kind === 'refused') throw prepared.refusal;
        if (prepared.kind === 'planned' && execution) {
          const executed = execution.execute(requestContext, prepared.plan, prepared.schemas);
          if (executed) return executed;
        }
        return executor(requestContext);
      };
      return {
        schema,
        async executor(requestContext: GatewayGraphQLRequestContext): Promise<GatewayExecutionResult> {
          const current = rules();
          if (!current.any) return planned(requestContext);
          const identity = (requestContext.context as { identity?: Identity | null }).identity ?? null;
          const decision = current.decide(requestContext.document, requestContext.schema, identity);
          if (decision.denied.length === 0) return planned(requestContext);
          if (decision.empty) return { errors: [...decision.denied] };
          const operation = getOperationAST(decision.document, requestContext.operationName ?? undefined);
          const result = await planned({
            ...requestContext,
            document: decision.document,
            operation: operation ?? requestContext.operation,
            queryHash: `${requestContext.queryHash}${CUT_MARK}${decision.fingerprint}`,
          });
          return { ...result, errors: [...(result.errors ?? []), ...decision.denied] };
        },
      };
    },
    onSchemaLoadOrUpdate: (callback) => gateway.onSchemaLoadOrUpdate(callback),
    stop: () => gateway.stop(),
  };
}
