import type { Experimental_DidResolveQueryPlanCallback, GraphQLDataSource } from '@apollo/gateway';
import { GraphQLDataSourceRequestKind } from '@apollo/gateway/dist/datasources/types';
import { ERRORS, errorCodeDef, operationFromDocument } from '@apollo/federation-internals';
import type { Operation } from '@apollo/federation-internals';
import { evaluateCondition, getResponseName } from '@apollo/query-planner';
import type {
  FetchDataRewrite,
  FetchNode,
  PlanNode,
  QueryPlan,
  QueryPlanSelectionNode,
  ResponsePath,
} from '@apollo/query-planner';
import type { GatewayExecutionResult, GatewayGraphQLRequestContext } from '@apollo/server-gateway-interface';
import {
  GraphQLError,
  Kind,
  getVariableValues,
  isAbstractType,
  isInterfaceType,
  isObjectType,
} from 'graphql';
import type {
  DocumentNode,
  FragmentDefinitionNode,
  GraphQLErrorOptions,
  GraphQLFormattedError,
  GraphQLSchema,
  OperationDefinitionNode,
} from 'graphql';
import { startInternalSpan } from '@mlops/runtime';
import type { RequestSpan } from '@mlops/runtime';
import type { PlanningSchemas } from '../planning/query-planning';
import type { GatewayContext } from '../subgraph-data-source';
import { UnsupportedOperation, compileResultShaper } from './result-shaping';
import type { ResultShaper } from './result-shaping';

type ResultMap = Record<string, unknown>;

/** A plan made executable here, once per cached plan (and so per operation). */
interface CompiledPlan {
  readonly plan: QueryPlan;
  readonly operation: Operation;
  readonly shaper: ResultShaper;
  readonly supergraphSchema: GraphQLSchema;
  /** The selected operation and its fragments, as Apollo's `buildOperationContext` makes them. */
  readonly operationContext: ResolvedQueryPlan['operationContext'];
  /** The operation's variable definitions, when it has any (checked per request, as Apollo does). */
  readonly variableDefinitions: OperationDefinitionNode['variableDefinitions'];
}

/** The part of `@apollo/gateway`'s executor that runs after planning, for `authorizingGateway`. */
export interface PlanExecution {
  /**
   * Executes a planned operation; undefined when this plan holds what only Apollo's executor runs
   * (`@defer`, `@fromContext` rewrites, schema introspection, a request capturing Studio traces),
   * and the caller hands the request to Apollo.
   */
  execute(
    requestContext: GatewayGraphQLRequestContext,
    plan: QueryPlan,
    schemas: PlanningSchemas,
  ): Promise<GatewayExecutionResult> | undefined;
  /** Plans executed here, and plans declined to Apollo's executor. */
  stats(): { readonly executed: number; readonly declined: number };
}

export interface PlanExecutionOptions {
  /** The subgraph data sources Apollo's plans use, by subgraph name. */
  dataSource(name: string): GraphQLDataSource<GatewayContext> | undefined;
  /** Told of each plan about to run, as `@apollo/gateway`'s `experimental_didResolveQueryPlan` is. */
  didResolveQueryPlan?(resolved: ResolvedQueryPlan): void;
}

/** What `@apollo/gateway`'s `experimental_didResolveQueryPlan` callbacks read (all but its service map). */
export type ResolvedQueryPlan = Pick<
  Parameters<Experimental_DidResolveQueryPlanCallback>[0],
  'queryPlan' | 'requestContext' | 'operationContext'
>;

const UNSUPPORTED = 'unsupported';

/**
 * The gateway's own query-plan executor, behaving as `@apollo/gateway` 2.x's `executeQueryPlan`
 * does — the same fetches with the same variables and representations, the same merging, the same
 * errors and error paths, the same spans — but with the result shaping compiled once per operation
 * (see result-shaping.ts) instead of re-derived from the schema model for every value, and without
 * re-building the operation per request. Apollo's executor still runs what this one declines.
 */
export function createPlanExecution(options: PlanExecutionOptions): PlanExecution {
  const compiled = new WeakMap<QueryPlan, CompiledPlan | typeof UNSUPPORTED>();
  const counts = { executed: 0, declined: 0 };

  const compile = (
    requestContext: GatewayGraphQLRequestContext,
    plan: QueryPlan,
    schemas: PlanningSchemas,
  ): CompiledPlan | typeof UNSUPPORTED => {
    if (plan.node && !executable(plan.node)) return UNSUPPORTED;
    const selected = selectOperation(requestContext.document, requestContext.request.operationName);
    if (!selected) return UNSUPPORTED; // Apollo's executor reports it.
    try {
      const operation = operationFromDocument(
        schemas.apiSchema,
        { kind: Kind.DOCUMENT, definitions: [selected.operation, ...selected.fragments] },
        { validate: false },
      );
      return {
        plan,
        operation,
        shaper: compileResultShaper(operation),
        supergraphSchema: schemas.supergraphSchema(),
        operationContext: {
          schema: requestContext.schema,
          operation: selected.operation,
          fragments: Object.fromEntries(
            selected.fragments.map((fragment) => [fragment.name.value, fragment]),
          ),
        },
        variableDefinitions: selected.operation.variableDefinitions,
      };
    } catch (error) {
      if (error instanceof UnsupportedOperation || error instanceof GraphQLError) return UNSUPPORTED;
      throw error;
    }
  };

  return {
    execute(requestContext, plan, schemas) {
      let executable = requestContext.metrics?.captureTraces ? UNSUPPORTED : compiled.get(plan);
      if (executable === undefined) {
        executable = compile(requestContext, plan, schemas);
        compiled.set(plan, executable);
      }
      if (executable === UNSUPPORTED) {
        counts.declined += 1;
        return undefined;
      }
      counts.executed += 1;
      return executeRequest(executable, requestContext, options);
    },
    stats: () => ({ ...counts }),
  };
}

/** Whether every node of a plan is one this executor runs. */
function executable(node: PlanNode | NonNullable<QueryPlan['node']>): boolean {
  switch (node.kind) {
    case 'Sequence':
    case 'Parallel':
      return node.nodes.every(executable);
    case 'Flatten':
      return executable(node.node);
    case 'Condition':
      return (
        (!node.ifClause || executable(node.ifClause)) && (!node.elseClause || executable(node.elseClause))
      );
    case 'Fetch':
      return !node.hasDefers && (node.contextRewrites?.length ?? 0) === 0;
    default:
      return false; // Defer, Subscription
  }
}

function selectOperation(
  document: DocumentNode,
  operationName: string | null | undefined,
): { operation: OperationDefinitionNode; fragments: FragmentDefinitionNode[] } | undefined {
  let operation: OperationDefinitionNode | undefined;
  let operations = 0;
  const fragments: FragmentDefinitionNode[] = [];
  for (const definition of document.definitions) {
    if (definition.kind === Kind.OPERATION_DEFINITION) {
      operations += 1;
      if (!operationName || definition.name?.value === operationName) operation = definition;
    } else if (definition.kind === Kind.FRAGMENT_DEFINITION) {
      fragments.push(definition);
    }
  }
  if (!operationName && operations > 1) return undefined;
  return operation && { operation, fragments };
}

interface ExecutionContext {
  readonly compiled: CompiledPlan;
  readonly requestContext: GatewayGraphQLRequestContext;
  readonly options: PlanExecutionOptions;
  readonly errors: unknown[];
}

interface ResultCursor {
  readonly path: ResponsePath;
  readonly data: ResultMap | ResultMap[];
  readonly fullResult: ResultMap;
}

/** Apollo's `gateway.request` span and everything in it, from variable checks to the shaped answer. */
async function executeRequest(
  compiled: CompiledPlan,
  requestContext: GatewayGraphQLRequestContext,
  options: PlanExecutionOptions,
): Promise<GatewayExecutionResult> {
  const operationName = requestContext.operationName;
  const span = startInternalSpan(
    'gateway.request',
    operationName ? { operationName, 'graphql.operation.name': operationName } : {},
  );
  span?.setAttribute('graphql.operation.type', compiled.operation.rootKind);
  const run = async (): Promise<GatewayExecutionResult> => {
    const invalid = validateVariables(compiled, requestContext);
    if (invalid.length > 0) return { errors: invalid };
    options.didResolveQueryPlan?.({
      queryPlan: compiled.plan,
      requestContext,
      operationContext: compiled.operationContext,
    });
    return executePlan(compiled, requestContext, options);
  };
  return withinSpan(span, run);
}

/** Runs `run` in `span` when tracing, which ends failed when the answer has errors or it throws. */
async function withinSpan(
  span: RequestSpan | undefined,
  run: () => Promise<GatewayExecutionResult>,
): Promise<GatewayExecutionResult> {
  if (!span) return run();
  try {
    const result = await span.run(run);
    span.end(result.errors ? 'errors' : undefined);
    return result;
  } catch (error) {
    span.end((error as Error).message);
    throw error;
  }
}

/** Apollo's `validateIncomingRequest`: the variables coerced against their definitions. */
function validateVariables(
  compiled: CompiledPlan,
  requestContext: GatewayGraphQLRequestContext,
): readonly GraphQLError[] {
  const span = startInternalSpan('gateway.validate');
  const definitions = compiled.variableDefinitions;
  if (!definitions || definitions.length === 0) {
    span?.end();
    return [];
  }
  const { errors } = getVariableValues(
    requestContext.schema,
    definitions,
    requestContext.request.variables ?? {},
  );
  span?.end(errors ? 'invalid variables' : undefined);
  return errors ?? [];
}

async function executePlan(
  compiled: CompiledPlan,
  requestContext: GatewayGraphQLRequestContext,
  options: PlanExecutionOptions,
): Promise<GatewayExecutionResult> {
  const span = startInternalSpan('gateway.execute');
  const run = async (): Promise<GatewayExecutionResult> => {
    const context: ExecutionContext = { compiled, requestContext, options, errors: [] };
    const unfilteredData = Object.create(null) as ResultMap;
    const root = compiled.plan.node as PlanNode | undefined;
    if (root)
      await executeNode(context, root, { path: [], data: unfilteredData, fullResult: unfilteredData });
    return shapeResult(context, unfilteredData);
  };
  return withinSpan(span, run);
}

/** Apollo's post-processing, including how it reports what shaping found. */
function shapeResult(context: ExecutionContext, unfilteredData: ResultMap): GatewayExecutionResult {
  const span = startInternalSpan('gateway.postprocessing');
  const { errors } = context;
  try {
    const shaped = context.compiled.shaper.shape(unfilteredData, context.requestContext.request.variables);
    // As Apollo: shaping errors are dropped when fetching failed (they would repeat its errors), and
    // otherwise reported beside the data, as `extensions.valueCompletion`, not as errors.
    if (errors.length === 0 && shaped.errors.length > 0) {
      span?.end('value completion');
      return { extensions: { valueCompletion: shaped.errors }, data: shaped.data };
    }
    span?.end();
    return errors.length === 0
      ? { data: shaped.data }
      : { errors: errors as GraphQLError[], data: shaped.data };
  } catch (error) {
    span?.end((error as Error).message);
    if (error instanceof GraphQLError) return { errors: [error] };
    if (error instanceof Error)
      return { errors: [new GraphQLError(error.message, { originalError: error })] };
    return { errors: [new GraphQLError('Unexpected error during query plan execution')] };
  }
}

async function executeNode(
  context: ExecutionContext,
  node: PlanNode,
  cursor: ResultCursor | undefined,
): Promise<void> {
  if (!cursor) return;
  switch (node.kind) {
    case 'Sequence':
      for (const child of node.nodes) await executeNode(context, child, cursor);
      return;
    case 'Parallel':
      await Promise.all(node.nodes.map((child) => executeNode(context, child, cursor)));
      return;
    case 'Flatten':
      return executeNode(context, node.node, moveIntoCursor(cursor, node.path));
    case 'Fetch':
      try {
        await executeFetch(context, node, cursor);
      } catch (error) {
        context.errors.push(error);
      }
      return;
    case 'Condition': {
      const { compiled, requestContext } = context;
      const branch = evaluateCondition(
        node,
        compiled.operation.variableDefinitions,
        requestContext.request.variables,
      )
        ? node.ifClause
        : node.elseClause;
      if (branch) await executeNode(context, branch, cursor);
      return;
    }
    default:
      throw new Error(`Unexpected plan node ${node.kind}`);
  }
}

async function executeFetch(
  context: ExecutionContext,
  fetch: FetchNode,
  cursor: ResultCursor,
): Promise<void> {
  const span = startInternalSpan('gateway.fetch', { service: fetch.serviceName });
  if (!span) return fetchInto(context, fetch, cursor);
  try {
    await span.run(() => fetchInto(context, fetch, cursor));
    span.end();
  } catch (error) {
    span.end((error as Error).message);
    throw error;
  }
}

async function fetchInto(context: ExecutionContext, fetch: FetchNode, cursor: ResultCursor): Promise<void> {
  const service = context.options.dataSource(fetch.serviceName);
  if (!service) throw new Error(`Couldn't find service with name "${fetch.serviceName}"`);
  const entities: ResultMap[] = Array.isArray(cursor.data)
    ? cursor.data.filter((entity) => entity !== null && entity !== undefined)
    : [cursor.data];
  if (entities.length < 1) return;

  const variables = Object.create(null) as ResultMap;
  const provided = context.requestContext.request.variables;
  if (fetch.variableUsages && provided) {
    for (const name of fetch.variableUsages) {
      if (hasOwn(provided, name) && provided[name] !== undefined) variables[name] = provided[name];
    }
  }
  const schema = context.compiled.supergraphSchema;

  if (!fetch.requires) {
    const received = await sendOperation(context, service, fetch, cursor, variables);
    if (received) applyRewrites(schema, fetch.outputRewrites, received);
    for (const entity of entities) deepMerge(entity, received);
    return;
  }

  const representations: ResultMap[] = [];
  const representationToEntity: number[] = [];
  for (let index = 0; index < entities.length; index++) {
    // `@requires` may name @inaccessible elements: read with the supergraph schema, not the API's.
    const representation = selectRequired(schema, entities[index]!, fetch.requires);
    if (representation && representation.__typename) {
      applyRewrites(schema, fetch.inputRewrites, representation);
      representations.push(representation);
      representationToEntity.push(index);
    }
  }
  // None: the type conditions of `requires` match no entity.
  if (representations.length < 1) return;
  if ('representations' in variables) throw new Error(`Variables cannot contain key "representations"`);
  const received = await sendOperation(context, service, fetch, cursor, { ...variables, representations });
  if (!received) return;
  const receivedEntities = received._entities;
  if (!Array.isArray(receivedEntities))
    throw new Error(`Expected "data._entities" in response to be an array`);
  if (receivedEntities.length !== representations.length) {
    throw new Error(`Expected "data._entities" to contain ${representations.length} elements`);
  }
  for (let index = 0; index < representations.length; index++) {
    const receivedEntity = receivedEntities[index] as ResultMap | null;
    const entity = entities[representationToEntity[index]!]!;
    if (receivedEntity && !receivedEntity.__typename) receivedEntity.__typename = entity.__typename;
    if (receivedEntity) applyRewrites(schema, fetch.outputRewrites, receivedEntity);
    deepMerge(entity, receivedEntity);
  }
}

async function sendOperation(
  context: ExecutionContext,
  service: GraphQLDataSource<GatewayContext>,
  fetch: FetchNode,
  cursor: ResultCursor,
  variables: ResultMap,
): Promise<ResultMap | null | undefined> {
  const { requestContext } = context;
  const response = await service.process({
    kind: GraphQLDataSourceRequestKind.INCOMING_OPERATION,
    request: { query: fetch.operation, variables, operationName: fetch.operationName },
    incomingRequestContext: requestContext as GatewayGraphQLRequestContext<GatewayContext>,
    context: requestContext.context as GatewayContext,
    document: fetch.operationDocumentNode,
    pathInIncomingRequest: cursor.path,
  });
  if (response.errors) {
    const errorPath = lazyErrorPaths(fetch, cursor);
    context.errors.push(
      ...response.errors.map((error) => downstreamServiceError(error, fetch.serviceName, errorPath)),
    );
    if (!response.extensions?.ftv1) {
      const paths = response.errors.map((error) => ({ subgraph: fetch.serviceName, path: error.path }));
      const metrics = requestContext.metrics as { nonFtv1ErrorPaths?: { subgraph: string; path: unknown }[] };
      if (metrics.nonFtv1ErrorPaths) metrics.nonFtv1ErrorPaths.push(...paths);
      else metrics.nonFtv1ErrorPaths = paths;
    }
  }
  return response.data as ResultMap | null | undefined;
}

type ErrorPath = GraphQLErrorOptions['path'];

/**
 * Apollo's error paths: a subgraph error at `["_entities", 2, "boom"]` is placed at the path of the
 * third entity sent (`["topProducts", 1, "reviews", 0, "boom"]`), found in the data only when an
 * error needs it.
 */
function lazyErrorPaths(fetch: FetchNode, cursor: ResultCursor): (path: ErrorPath) => ErrorPath {
  let hydrated: ResponsePath[] | undefined;
  return (path) => {
    if (fetch.requires && typeof path?.[1] === 'number') {
      hydrated ??= hydratePaths(cursor.path, cursor.fullResult);
      return [...(hydrated[path[1]] ?? []), ...path.slice(2)];
    }
    return path ? [...cursor.path, ...path] : undefined;
  };
}

function hydratePaths(path: ResponsePath, data: ResultMap): ResponsePath[] {
  const result: ResponsePath[] = [];
  const walk = (parent: (string | number)[], at: number, value: unknown): void => {
    if (value === null || value === undefined) return;
    const head = path[at];
    if (head === undefined) {
      result.push(parent.slice());
    } else if (head === '@') {
      if (!Array.isArray(value)) throw new Error('expected array when encountering `@`');
      value.forEach((element, index) => {
        parent.push(index);
        walk(parent, at + 1, element);
        parent.pop();
      });
    } else if (typeof head === 'string') {
      if (Array.isArray(value)) {
        value.forEach((element, index) => {
          parent.push(index);
          walk(parent, at, element);
          parent.pop();
        });
      } else if (hasOwn(value as object, head)) {
        parent.push(head);
        walk(parent, at + 1, (value as ResultMap)[head]);
        parent.pop();
      }
    } else {
      throw new Error(`unknown path part "${String(head)}"`);
    }
  };
  walk([], 0, data);
  return result;
}

function downstreamServiceError(
  original: GraphQLFormattedError,
  serviceName: string,
  errorPath: (path: ErrorPath) => ErrorPath,
): GraphQLError {
  const message = original.message || `Error while fetching subquery from service "${serviceName}"`;
  const options: GraphQLErrorOptions = {
    originalError: original as Error,
    path: errorPath(original.path),
    // The serviceName marks the error as a subgraph's (Apollo's metrics read it).
    extensions: { ...original.extensions, serviceName },
  };
  const known = errorCodeDef(original);
  // A code Apollo does not know (one our data source made) is kept as it is.
  if (!known && original.extensions?.code) return new GraphQLError(message, options);
  return (known ?? ERRORS.DOWNSTREAM_SERVICE_ERROR).err(message, options);
}

/** The data at `path` below the cursor, flattened through lists (`@`); Apollo's `moveIntoCursor`. */
function moveIntoCursor(cursor: ResultCursor, path: ResponsePath): ResultCursor | undefined {
  const data = flattenAt(cursor.data, path, 0);
  return data ? { path: cursor.path.concat(path), data, fullResult: cursor.fullResult } : undefined;
}

function flattenAt(
  value: unknown,
  path: ResponsePath,
  at: number,
): ResultMap | ResultMap[] | null | undefined {
  if (at === path.length) return value as ResultMap | ResultMap[];
  if (value === undefined || value === null) return value;
  const current = path[at];
  if (current === '@') {
    // Apollo calls `value.flatMap`: on anything but a list it fails so.
    if (!Array.isArray(value)) throw new TypeError('value.flatMap is not a function');
    // flatMap's semantics: one level of nested results is spread.
    const flattened: ResultMap[] = [];
    for (const element of value as unknown[]) {
      const nested = flattenAt(element, path, at + 1);
      if (Array.isArray(nested)) for (const item of nested) flattened.push(item);
      else flattened.push(nested as ResultMap);
    }
    return flattened;
  }
  if (typeof current !== 'string') throw new Error(`Unexpected ${typeof current} found in path`);
  if (Array.isArray(value)) throw new Error(`Unexpected array in result for path element ${current}`);
  return flattenAt(
    hasOwn(value as object, current) ? (value as ResultMap)[current] : undefined,
    path,
    at + 1,
  );
}

/** The `@requires` selection of an entity (its representation); null when an input is missing. */
function selectRequired(
  schema: GraphQLSchema,
  source: ResultMap | null,
  selections: readonly QueryPlanSelectionNode[],
): ResultMap | null {
  if (source === null) return null;
  const result = Object.create(null) as ResultMap;
  for (const selection of selections) {
    if (selection.kind === 'Field') {
      const responseName = getResponseName(selection);
      if (!hasOwn(source, responseName) || source[responseName] === undefined) return null;
      const value = source[responseName];
      const nested = selection.selections;
      if (Array.isArray(value)) {
        result[responseName] = value.map((element: ResultMap | null) =>
          nested ? selectRequired(schema, element, nested) : element,
        );
      } else if (nested) {
        result[responseName] = selectRequired(schema, value as ResultMap | null, nested);
      } else {
        result[responseName] = value;
      }
    } else if (selection.typeCondition && isObjectOfType(schema, source, selection.typeCondition)) {
      deepMerge(result, selectRequired(schema, source, selection.selections));
    }
  }
  return result;
}

/** Apollo's rewrites of fetch inputs and outputs (`dataRewrites.ts`). */
function applyRewrites(
  schema: GraphQLSchema,
  rewrites: FetchDataRewrite[] | undefined,
  value: ResultMap,
): void {
  if (!rewrites) return;
  for (const rewrite of rewrites) {
    if (rewrite.path.length === 0) continue;
    const parent = rewrite.path.slice(0, -1);
    const last = rewrite.path[rewrite.path.length - 1]!;
    if (last.startsWith(FRAGMENT_PREFIX))
      throw new Error(`Unexpected fragment as last element of ${rewrite.path}`);
    applyAtPath(schema, parent, 0, value, (object) => {
      if (rewrite.kind === 'ValueSetter') {
        defineOwn(object, last);
        object[last] = rewrite.setValueTo;
        return;
      }
      const renamed = hasOwn(object, last) ? object[last] : undefined;
      if (renamed) {
        defineOwn(object, rewrite.renameKeyTo);
        object[rewrite.renameKeyTo] = renamed;
        object[last] = undefined;
      }
    });
  }
}

const FRAGMENT_PREFIX = '... on ';

function applyAtPath(
  schema: GraphQLSchema,
  path: readonly string[],
  at: number,
  value: unknown,
  rewrite: (object: ResultMap) => void,
): void {
  if (Array.isArray(value)) {
    for (const element of value) applyAtPath(schema, path, at, element, rewrite);
    return;
  }
  if (typeof value !== 'object' || value === null) return;
  const object = value as ResultMap;
  if (at === path.length) {
    rewrite(object);
    return;
  }
  const element = path[at]!;
  if (!element.startsWith(FRAGMENT_PREFIX)) {
    applyAtPath(schema, path, at + 1, hasOwn(object, element) ? object[element] : undefined, rewrite);
  } else if (isObjectOfType(schema, object, element.slice(FRAGMENT_PREFIX.length), true)) {
    // Without a __typename the rewrite applies (Apollo: the data does not always carry it).
    applyAtPath(schema, path, at + 1, object, rewrite);
  }
}

function isObjectOfType(
  schema: GraphQLSchema,
  object: ResultMap,
  typeCondition: string,
  whenUnknown = false,
): boolean {
  const typeName = object.__typename as string | undefined;
  if (!typeName) return whenUnknown;
  if (typeCondition === typeName) return true;
  const type = schema.getType(typeName);
  const condition = schema.getType(typeCondition);
  if (!type || !condition) return false;
  return (
    isAbstractType(condition) &&
    (isObjectType(type) || isInterfaceType(type)) &&
    schema.isSubType(condition, type)
  );
}

/** Apollo's `deepMerge` of fetched data into the result so far. */
function deepMerge(target: ResultMap, source: unknown): ResultMap {
  if (source === undefined || source === null) return target;
  const from = source as ResultMap;
  for (const key of Object.keys(from)) {
    const value = from[key];
    if (value === undefined) continue;
    defineOwn(target, key);
    const existing = target[key];
    if (existing && isPlainObject(value)) {
      deepMerge(existing as ResultMap, value);
    } else if (Array.isArray(value) && Array.isArray(existing) && value.length === existing.length) {
      for (let index = 0; index < value.length; index++) {
        const into = existing[index] as unknown;
        const item = value[index] as unknown;
        if (isPlainObject(into) && isPlainObject(item)) deepMerge(into as ResultMap, item);
        else existing[index] = item;
      }
    } else {
      target[key] = value;
    }
  }
  return target;
}

/** Apollo's `isObject`: an object that is not an array. */
function isPlainObject(value: unknown): boolean {
  return value !== undefined && value !== null && typeof value === 'object' && !Array.isArray(value);
}

function hasOwn(object: object, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(object, key);
}

/** Makes `key` an own property of `object` when it is only inherited (`__proto__`, `constructor`…). */
function defineOwn(object: object, key: string): void {
  if (!hasOwn(object, key) && key in object) {
    Object.defineProperty(object, key, {
      configurable: true,
      enumerable: true,
      value: undefined,
      writable: true,
    });
  }
}
