import { createHash } from 'node:crypto';
import { Supergraph, operationFromDocument } from '@apollo/federation-internals';
import type { Schema } from '@apollo/federation-internals';
import { QueryPlanner } from '@apollo/query-planner';
import type { QueryPlan, QueryPlanCache, QueryPlannerConfig } from '@apollo/query-planner';
import type { DocumentNode, GraphQLError, GraphQLSchema } from 'graphql';
import type { Logger } from '@mlops/runtime';
import { codedError, startInternalSpan } from '@mlops/runtime';
import { ErrorCode } from '@mlops/schema';

/** How the gateway plans operations and keeps their plans. */
export interface QueryPlanningOptions {
  /** Approximate memory of cached plans in MiB (least recently used go first). `QUERY_PLAN_CACHE_MIB`; default 30, Apollo's. */
  readonly cacheMiB: number;
  /**
   * The planner's search bound: once it has this many options for one selection it stops and the
   * operation is refused with `LIMIT_EXCEEDED` (HTTP 400) instead of planning on. Repeats of a
   * refused operation are refused without planning. `QUERY_PLANNING_PATHS_LIMIT`; default 10,000.
   */
  readonly pathsLimit: number;
  /** Plans compared per planning problem (Apollo's default 10,000; lower bounds time, may pick a worse plan). `QUERY_PLANNING_MAX_EVALUATED_PLANS`. */
  readonly maxEvaluatedPlans: number;
  /** A plan slower than this, in ms, is logged at `warn` with the operation's name and hash. `QUERY_PLANNING_SLOW_MS`; default 100. */
  readonly slowPlanningMs: number;
  /**
   * After a supergraph reload, the most recently used operations, up to this many, are planned
   * again in the background so the first requests after a reload do not all pay for planning.
   * `QUERY_PLAN_WARMUP`; default 200; 0 turns it off.
   */
  readonly warmOperations: number;
}

/** What `prepare` needs of an Apollo request context. */
export interface PlannedRequest {
  readonly queryHash: string;
  readonly document: DocumentNode;
  /** The operation's name as resolved from the document (for logs and traces). */
  readonly operationName?: string | null;
  /** The name the client sent, part of the plan's cache key. */
  readonly request: { readonly operationName?: string | null };
}

/** The schemas a plan was made with, as its executor needs them. */
export interface PlanningSchemas {
  /** The client-facing schema (federation-internals' model), which answers are shaped by. */
  readonly apiSchema: Schema;
  /** The supergraph as graphql-js (built on first use): `@requires` inputs and rewrites are read with it. */
  supergraphSchema(): GraphQLSchema;
}

/** What `prepare` found for one operation. */
export type Preparation =
  | { readonly kind: 'planned'; readonly plan: QueryPlan; readonly schemas: PlanningSchemas }
  | { readonly kind: 'refused'; readonly refusal: GraphQLError }
  /** Not planned here (no supergraph yet, or a planning error other than the bound): Apollo's executor reports it. */
  | { readonly kind: 'unplanned' };

export interface QueryPlanningStats {
  readonly hits: number;
  readonly misses: number;
  readonly refused: number;
  readonly warmed: number;
  readonly plans: number;
}

/**
 * The gateway's query planning: one plan cache shared with `@apollo/gateway` (its
 * `queryPlannerConfig.cache`) and filled here before Apollo's executor looks in it, so this module
 * sees every hit and miss, times every plan, refuses operations past the planner's search bound and
 * warms the cache after a supergraph reload.
 */
export interface QueryPlanning {
  /** For `new ApolloGateway({ queryPlannerConfig })`: the shared cache and the planner's bounds. */
  readonly plannerConfig: QueryPlannerConfig;
  /**
   * Makes sure the plan of this operation is cached and answers it; or the refusal when it may not
   * be planned. A planning failure other than the search bound is left to Apollo, which reports it
   * as usual.
   */
  prepare(request: PlannedRequest): Preparation;
  /** Loads a new supergraph (after `@apollo/gateway` cleared the cache) and warms the cache for it. */
  setSupergraph(supergraphSdl: string): void;
  /** Resolves when the warm-up started by the last `setSupergraph` has finished (tests, shutdown). */
  warmed(): Promise<void>;
  stats(): QueryPlanningStats;
}

export interface QueryPlanningHooks {
  readonly logger: Logger;
  /** Each plan's duration in seconds. */
  observePlanning?(seconds: number): void;
}

const MIB = 1024 * 1024;

export function createQueryPlanning(options: QueryPlanningOptions, hooks: QueryPlanningHooks): QueryPlanning {
  const { logger, observePlanning = () => {} } = hooks;
  const cache = createPlanCache(options.cacheMiB * MIB);
  // Operations seen lately, most recent last (Map order), for the warm-up after a reload.
  const recent = new Map<string, { document: DocumentNode; operationName: string | undefined }>();
  // Operations the planner gave up on, with their refusal; cleared when the supergraph changes.
  const refusals = new Map<string, GraphQLError>();
  const counts = { hits: 0, misses: 0, refused: 0, warmed: 0 };
  let loaded: { planner: QueryPlanner; schemas: PlanningSchemas } | undefined;
  let warming: Promise<void> = Promise.resolve();
  const plannerConfig: QueryPlannerConfig = {
    cache,
    debug: { pathsLimit: options.pathsLimit, maxEvaluatedPlans: options.maxEvaluatedPlans },
  };

  const remember = (key: string, document: DocumentNode, operationName: string | undefined): void => {
    if (options.warmOperations === 0) return;
    recent.delete(key);
    recent.set(key, { document, operationName });
    if (recent.size > options.warmOperations) recent.delete(recent.keys().next().value as string);
  };

  /** Plans and caches; the plan, the refusal when the planner's search bound was hit, or undefined. */
  const plan = (
    key: string,
    document: DocumentNode,
    operationName: string | undefined,
    resolvedName = operationName,
  ): QueryPlan | GraphQLError | undefined => {
    if (!loaded) return undefined;
    const started = process.hrtime.bigint();
    // Apollo's own `gateway.plan` span never runs: its cache already holds the plan.
    const span = startInternalSpan(
      'gateway.plan',
      resolvedName ? { 'graphql.operation.name': resolvedName } : {},
    );
    let queryPlan: QueryPlan;
    try {
      const operation = operationFromDocument(loaded.schemas.apiSchema, document, { operationName });
      queryPlan = loaded.planner.buildQueryPlan(operation, {
        recursiveSelectionsLimitDisabled:
          process.env.APOLLO_DISABLE_SECURITY_RECURSIVE_SELECTIONS_CHECK === 'true',
        nonLocalSelectionsLimitDisabled:
          process.env.APOLLO_DISABLE_SECURITY_NON_LOCAL_SELECTIONS_CHECK === 'true',
      });
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('Too many options generated'))
        return undefined;
      const refusal = codedError(
        ErrorCode.LIMIT_EXCEEDED,
        `Planning this operation needs more than ${options.pathsLimit} options for one selection; simplify it (fewer alternatives or nested abstract types)`,
        { limit: 'planningPaths', maximum: options.pathsLimit, http: { status: 400 } },
      );
      refusals.set(key, refusal);
      logger.warn({ operationName: resolvedName, queryHash: key, err: error }, 'query planning refused');
      span?.end(refusal.message);
      return refusal;
    } finally {
      span?.end();
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      observePlanning(seconds);
      if (seconds * 1000 > options.slowPlanningMs) {
        logger.warn(
          { operationName: resolvedName, queryHash: key, ms: Math.round(seconds * 1000) },
          'slow query planning',
        );
      }
    }
    cache.put(key, queryPlan);
    return queryPlan;
  };

  return {
    plannerConfig,
    prepare(request) {
      const operationName = request.request.operationName ?? undefined;
      const key = planStoreKey(request.queryHash, operationName);
      remember(key, request.document, operationName);
      const schemas = loaded?.schemas;
      const cached = cache.touch(key);
      if (cached) {
        counts.hits += 1;
        return schemas ? { kind: 'planned', plan: cached, schemas } : UNPLANNED;
      }
      const refused = refusals.get(key);
      if (refused) {
        counts.refused += 1;
        return { kind: 'refused', refusal: refused };
      }
      counts.misses += 1;
      const made = plan(key, request.document, operationName, request.operationName ?? undefined);
      if (made === undefined || !schemas) return UNPLANNED;
      if (made instanceof Error) {
        counts.refused += 1;
        return { kind: 'refused', refusal: made };
      }
      return { kind: 'planned', plan: made, schemas };
    },
    setSupergraph(supergraphSdl) {
      const first = loaded === undefined;
      const supergraph = Supergraph.build(supergraphSdl);
      let supergraphSchema: GraphQLSchema | undefined;
      loaded = {
        planner: new QueryPlanner(supergraph, plannerConfig),
        schemas: {
          apiSchema: supergraph.apiSchema(),
          supergraphSchema: () => (supergraphSchema ??= supergraph.schema.toGraphQLJSSchema()),
        },
      };
      refusals.clear();
      if (first || recent.size === 0) return;
      const operations = [...recent].reverse(); // the most recent first
      warming = warmUp(operations);
    },
    warmed: () => warming,
    stats: () => ({ ...counts, plans: cache.size() }),
  };

  /** Plans each operation in its own macrotask, so requests keep being served during the warm-up. */
  async function warmUp(
    operations: [string, { document: DocumentNode; operationName: string | undefined }][],
  ): Promise<void> {
    const started = Date.now();
    const target = loaded;
    let planned = 0;
    for (const [key, { document, operationName }] of operations) {
      await new Promise((resolve) => setImmediate(resolve));
      if (loaded !== target) return; // a newer supergraph started its own warm-up
      if (cache.touch(key) || refusals.has(key)) continue;
      // A document the new supergraph no longer accepts fails planning and is skipped.
      const made = plan(key, document, operationName);
      if (made !== undefined && !(made instanceof Error) && cache.touch(key)) planned += 1;
    }
    counts.warmed += planned;
    logger.info(
      { plans: planned, ms: Date.now() - started },
      'query plan cache warmed after supergraph reload',
    );
  }
}

/** The key `@apollo/gateway` stores an operation's plan under (its `executor`). */
export function planStoreKey(queryHash: string, operationName: string | undefined): string {
  return operationName
    ? createHash('sha256').update(queryHash).update(operationName).digest('hex')
    : queryHash;
}

const UNPLANNED: Preparation = { kind: 'unplanned' };

interface PlanCache extends QueryPlanCache {
  /** The plan cached under the key, marked recently used. */
  touch(key: string): QueryPlan | undefined;
  put(key: string, plan: QueryPlan): void;
  size(): number;
}

/** Least-recently-used plans, bounded by their approximate size (their JSON length, as Apollo's). */
function createPlanCache(maxBytes: number): PlanCache {
  const entries = new Map<string, { plan: QueryPlan; bytes: number }>();
  let bytes = 0;
  const remove = (key: string): void => {
    const entry = entries.get(key);
    if (!entry) return;
    entries.delete(key);
    bytes -= entry.bytes;
  };
  const put = (key: string, plan: QueryPlan): void => {
    remove(key);
    const size = Buffer.byteLength(JSON.stringify(plan), 'utf8');
    if (size > maxBytes) return;
    entries.set(key, { plan, bytes: size });
    bytes += size;
    for (const oldest of entries.keys()) {
      if (bytes <= maxBytes) break;
      remove(oldest);
    }
  };
  return {
    touch(key) {
      const entry = entries.get(key);
      if (!entry) return undefined;
      entries.delete(key);
      entries.set(key, entry);
      return entry.plan;
    },
    put,
    size: () => entries.size,
    async get(key) {
      return entries.get(key)?.plan;
    },
    async set(key, plan) {
      if (!entries.has(key)) put(key, plan);
    },
    async delete(key) {
      const had = entries.has(key);
      remove(key);
      return had;
    },
    clear() {
      entries.clear();
      bytes = 0;
    },
  };
}
