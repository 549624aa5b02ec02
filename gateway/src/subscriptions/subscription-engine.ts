import { executeQueryPlan } from '@apollo/gateway';
import type { GraphQLDataSource, ServiceMap } from '@apollo/gateway';
import type { QueryPlan } from '@apollo/query-planner';
import type { GatewayGraphQLRequestContext } from '@apollo/server-gateway-interface';
import { randomUUID } from 'node:crypto';
import { GraphQLError, getOperationAST, print } from 'graphql';
import type {
  DocumentNode,
  ExecutionArgs,
  ExecutionResult,
  FormattedExecutionResult,
  GraphQLSchema,
} from 'graphql';
import {
  codedError,
  createEventQueue,
  runUntraced,
  startInternalSpan,
  startServerSpan,
  traceContextOf,
  tracingEnabled,
} from '@mlops/runtime';
import type {
  EventQueue,
  Logger,
  RequestSpan,
  SubscriptionResult,
  WebSocketContextBase,
} from '@mlops/runtime';
import { ErrorCode, WebSocketCloseCode } from '@mlops/schema';
import type { AccessRules } from '../auth/access-rules';
import { createSubscriptionSupergraph } from './subscription-planner';
import type { SubscriptionPlan, SubscriptionSupergraph } from './subscription-planner';
import { createUpstreamPool } from './upstream-pool';
import type { ForwardedIdentity, UpstreamPool } from './upstream-pool';

/** The GraphQL context of a subscription at the gateway. */
export interface SubscriptionContext extends WebSocketContextBase {
  /** What identifies the caller to subgraphs; subscriptions share upstream streams only within one. */
  readonly forwarded: ForwardedIdentity;
}

export interface SubscriptionEngineOptions {
  readonly logger: Logger;
  /** The gateway's data source for a subgraph (entity fetches for the rest of each plan). */
  dataSource(serviceName: string): GraphQLDataSource | undefined;
  /** Where a subgraph serves graphql-ws. */
  webSocketUrl(serviceName: string): string;
  /**
   * Events held for one subscriber that has not taken them yet. When a subscriber falls this far
   * behind, its connection is closed with `WebSocketCloseCode.SLOW_CONSUMER`. Default 256.
   */
  readonly queueCapacity?: number;
  /** The gateway's access rules: a subscription selecting a field its caller may not read is refused. */
  accessRules(): AccessRules;
}

export interface SubscriptionEngine {
  /**
   * Loads (or replaces) the supergraph. On a replacement, every running subscription ends with
   * SUBSCRIPTION_RESTART, since its plan may no longer hold.
   */
  setSupergraph(supergraphSdl: string): void;
  /** The schema subscriptions are validated against; throws before the first `setSupergraph`. */
  apiSchema(): GraphQLSchema;
  /** graphql-ws `subscribe`: plans the operation and joins (or starts) its shared stream. */
  subscribe(args: ExecutionArgs & { contextValue: SubscriptionContext }): Promise<SubscriptionResult>;
  stats(): { subscribers: number; streams: number; upstreams: number };
  /** Ends every subscription (clients see the socket close first) and closes upstream sockets. */
  close(): Promise<void>;
}

/**
 * One client operation shared by every subscriber that sent it (same document, variables and
 * identity): one upstream subscription, the rest of the plan executed once per event, and the
 * result fanned out to each subscriber's bounded queue.
 *
 * Being shared, its work is no one client's: it has an id of its own (`id`, the `x-request-id` of
 * its entity fetches), and each client subscription's log line names it. When tracing is on, the
 * span of each event that needs entity fetches is a child of the `gateway.subscribe` span that
 * started the stream (`origin`); subscribers that joined later find it by the stream id their own
 * `gateway.subscribe` span carries.
 */
interface SharedStream {
  readonly id: string;
  /** The upstream subscription it rides (itself possibly shared with other streams). */
  readonly upstreamId: string;
  readonly subscribers: Set<EventQueue<ExecutionResult>>;
  /** Events whose execution has not finished; each waits for the one before, to keep order. */
  pending: number;
  tail: Promise<void>;
  leave(): void;
}

/**
 * Events of one stream whose execution has not finished. Beyond, the entity subgraphs cannot keep
 * up with the event rate and the stream ends with UNAVAILABLE instead of queueing without bound.
 */
const MAX_PENDING_EXECUTIONS = 1_000;

export function createSubscriptionEngine(options: SubscriptionEngineOptions): SubscriptionEngine {
  const { logger, queueCapacity = 256 } = options;
  let supergraph: SubscriptionSupergraph | undefined;
  let generation = 0;
  const streams = new Map<string, SharedStream>();
  const upstreams: UpstreamPool = createUpstreamPool({ webSocketUrl: options.webSocketUrl, logger });

  const endAll = (error: GraphQLError | undefined): void => {
    const running = [...streams.values()];
    streams.clear();
    for (const stream of running) {
      stream.leave();
      for (const subscriber of stream.subscribers) {
        if (error) subscriber.fail(error);
        else subscriber.end();
      }
    }
  };

  const startStream = (
    key: string,
    current: SubscriptionSupergraph,
    plan: SubscriptionPlan,
    args: ExecutionArgs & { contextValue: SubscriptionContext },
    origin: RequestSpan | undefined,
  ): SharedStream => {
    const id = randomUUID();
    const variables = (args.variableValues ?? {}) as Record<string, unknown>;
    // Entity fetches serve every subscriber: they go as the stream, not as the client that started it.
    const eventArgs = { ...args, contextValue: { ...args.contextValue, requestId: id } };
    const subscribers = new Set<EventQueue<ExecutionResult>>();
    const finish = (error?: GraphQLError): void => {
      if (streams.get(key) === stream) streams.delete(key);
      stream.leave();
      // Events already received are still executed and delivered before the end.
      void stream.tail.then(() => {
        for (const subscriber of subscribers) {
          if (error) subscriber.fail(error);
          else subscriber.end();
        }
      });
    };
    const onEvent = (event: FormattedExecutionResult): void => {
      if (stream.pending >= MAX_PENDING_EXECUTIONS) {
        finish(
          codedError(
            ErrorCode.UNAVAILABLE,
            'The subscription fell behind its events (a subgraph is answering slowly); subscribe again from the last cursor received',
          ),
        );
        return;
      }
      stream.pending += 1;
      stream.tail = stream.tail
        .then(() => executeTracedEvent(current, plan, event, eventArgs, stream, origin))
        .then((result) => {
          stream.pending -= 1;
          for (const subscriber of subscribers) subscriber.push(result);
        })
        .catch((error: unknown) => {
          stream.pending -= 1;
          logger.error(
            { err: error, streamId: id, upstreamId: stream.upstreamId },
            'subscription event execution failed',
          );
          finish(codedError(ErrorCode.INTERNAL_SERVER_ERROR, 'A subscription event could not be executed'));
        });
    };
    const upstream = upstreams.subscribe(
      {
        serviceName: plan.primary.serviceName,
        operation: plan.primary.operation,
        operationName: plan.primary.operationName,
        variables: pick(variables, plan.primary.variableUsages ?? []),
        identity: args.contextValue.forwarded,
      },
      { next: onEvent, end: finish },
    );
    let left = false;
    const stream: SharedStream = {
      id,
      upstreamId: upstream.upstreamId,
      subscribers,
      pending: 0,
      tail: Promise.resolve(),
      leave: () => {
        if (left) return;
        left = true;
        upstream.leave();
      },
    };
    return stream;
  };

  /**
   * Executes one event. An event that needs entity fetches gets a `gateway.subscription.event` span
   * under the stream's origin, and its fetches carry their `traceparent` to the subgraphs; any
   * other event is executed untraced (no network call to follow, and @apollo/gateway's own spans
   * would otherwise start a new trace per event). While tracing is off, both are a plain call.
   */
  const executeTracedEvent = (
    current: SubscriptionSupergraph,
    plan: SubscriptionPlan,
    event: FormattedExecutionResult,
    args: ExecutionArgs & { contextValue: SubscriptionContext },
    stream: SharedStream,
    origin: RequestSpan | undefined,
  ): Promise<ExecutionResult> => {
    const execute = () => executeEvent(current, plan, event, args);
    if (!plan.rest || !origin) return runUntraced(execute);
    const span = origin.run(() =>
      startInternalSpan('gateway.subscription.event', {
        'graphql.subgraph': plan.primary.serviceName,
        'gateway.subscription.stream_id': stream.id,
        'gateway.subscription.upstream_id': stream.upstreamId,
        'gateway.subscription.subscribers': stream.subscribers.size,
      }),
    );
    if (!span) return runUntraced(execute);
    return span.run(execute).then(
      (result) => {
        span.end();
        return result;
      },
      (error: unknown) => {
        span.end((error as Error).message);
        throw error;
      },
    );
  };

  const executeEvent = async (
    current: SubscriptionSupergraph,
    plan: SubscriptionPlan,
    event: FormattedExecutionResult,
    args: ExecutionArgs & { contextValue: SubscriptionContext },
  ): Promise<ExecutionResult> => {
    const primaryService = plan.primary.serviceName;
    const upstream = options.dataSource(primaryService);
    // The event stands in for the primary fetch's answer, so Apollo's executor runs the rest of the
    // plan (entity fetches, error paths, result shaping) exactly as it does for a query.
    const eventSource: GraphQLDataSource = {
      async process(request) {
        if (request.request.query === plan.primary.operation) {
          // The executor merges entities into what it is given: each execution gets its own copy.
          return structuredClone(event) as Awaited<ReturnType<GraphQLDataSource['process']>>;
        }
        if (!upstream) throw codedError(ErrorCode.UNAVAILABLE, `Subgraph '${primaryService}' is not routed`);
        return upstream.process(request);
      },
    };
    const serviceMap: ServiceMap = new Proxy({} as ServiceMap, {
      get: (_target, name) =>
        name === primaryService
          ? eventSource
          : typeof name === 'string'
            ? options.dataSource(name)
            : undefined,
    });
    const queryPlan: QueryPlan = {
      kind: 'QueryPlan',
      node: plan.rest ? { kind: 'Sequence', nodes: [plan.primary, plan.rest] } : plan.primary,
    };
    const requestContext = {
      request: {
        query: undefined,
        operationName: args.operationName ?? undefined,
        variables: (args.variableValues ?? {}) as Record<string, unknown>,
      },
      context: args.contextValue,
      logger,
      metrics: {},
      operationName: args.operationName ?? null,
    } as unknown as GatewayGraphQLRequestContext;
    const result = await executeQueryPlan(
      queryPlan,
      serviceMap,
      requestContext,
      plan.operationContext,
      current.supergraphSchema,
      current.internalApiSchema,
    );
    return result as ExecutionResult;
  };

  /** Checks access, plans and joins (or starts) the shared stream of one client subscription. */
  const join = (
    args: ExecutionArgs & { contextValue: SubscriptionContext },
    operationName: string | undefined,
    span: RequestSpan | undefined,
  ): SubscriptionResult => {
    const current = supergraph;
    if (!current) return { errors: [codedError(ErrorCode.UNAVAILABLE, 'The supergraph is not loaded yet')] };
    const access = options.accessRules().decide(args.document, current.apiSchema, args.contextValue.identity);
    if (access.denied.length > 0) return { errors: [...access.denied] };
    let plan: SubscriptionPlan;
    try {
      plan = current.plan(args.document, args.operationName ?? undefined);
    } catch (error) {
      if (error instanceof GraphQLError) return { errors: [error] };
      throw error;
    }
    const context = args.contextValue;
    const key = JSON.stringify([
      generation,
      context.forwarded.key,
      args.operationName ?? null,
      printed(args.document),
      args.variableValues ?? {},
    ]);
    const running = streams.get(key);
    const joined = running ?? startStream(key, current, plan, args, span);
    if (!running) streams.set(key, joined);
    const subgraph = plan.primary.serviceName;
    span?.setAttribute('graphql.subgraph', subgraph);
    span?.setAttribute('gateway.subscription.stream_id', joined.id);
    span?.setAttribute('gateway.subscription.upstream_id', joined.upstreamId);
    span?.setAttribute('gateway.subscription.shared', running !== undefined);
    // The link from the client's ids to the shared ones the subgraphs see.
    logger.debug(
      {
        requestId: context.requestId,
        subscriptionId: context.subscriptionId,
        operationName,
        subgraph,
        streamId: joined.id,
        upstreamId: joined.upstreamId,
        sharedStream: running !== undefined,
      },
      'subscription joined its stream',
    );
    let cancelExpiry = (): void => {};
    const subscriber: EventQueue<ExecutionResult> = createEventQueue<ExecutionResult>({
      capacity: queueCapacity,
      onOverflow: () =>
        context.closeConnection(
          WebSocketCloseCode.SLOW_CONSUMER,
          `Slow consumer: more than ${queueCapacity} events waiting`,
        ),
      onClose: () => {
        cancelExpiry();
        joined.subscribers.delete(subscriber);
        if (joined.subscribers.size > 0) return;
        if (streams.get(key) === joined) streams.delete(key);
        joined.leave();
      },
    });
    joined.subscribers.add(subscriber);
    const expiresAt = context.identity?.expiresAt;
    if (expiresAt !== undefined) {
      cancelExpiry = scheduleAt(expiresAt * 1000, () =>
        subscriber.fail(
          codedError(
            ErrorCode.UNAUTHENTICATED,
            'The token expired; reconnect with a fresh token and subscribe again from the last cursor received',
          ),
        ),
      );
    }
    return subscriber;
  };

  return {
    setSupergraph(supergraphSdl) {
      const previous = supergraph;
      supergraph = createSubscriptionSupergraph(supergraphSdl);
      generation += 1;
      if (previous) {
        endAll(
          codedError(
            ErrorCode.SUBSCRIPTION_RESTART,
            'The supergraph was reloaded; subscribe again from the last cursor received',
          ),
        );
      }
    },
    apiSchema() {
      if (!supergraph) throw new Error('The supergraph is not loaded yet');
      return supergraph.apiSchema;
    },
    async subscribe(args) {
      const { headers } = args.contextValue;
      const operationName = args.operationName ?? getOperationAST(args.document)?.name?.value;
      // The start only: a span held open for a subscription's lifetime (hours) would be exported
      // only at its end, and a trace would never be complete. It continues the upgrade request's
      // traceparent, so every subscription of one connection joins the trace its client sent.
      const span = tracingEnabled()
        ? startServerSpan('gateway.subscribe', traceContextOf(headers), {
            'graphql.operation.type': 'subscription',
            ...(operationName === undefined ? {} : { 'graphql.operation.name': operationName }),
          })
        : undefined;
      let result: SubscriptionResult;
      try {
        result = join(args, operationName, span);
      } catch (error) {
        span?.end((error as Error).message);
        throw error;
      }
      span?.end(Symbol.asyncIterator in result ? undefined : result.errors?.map((e) => e.message).join('; '));
      return result;
    },
    stats() {
      let subscribers = 0;
      for (const stream of streams.values()) subscribers += stream.subscribers.size;
      return { subscribers, streams: streams.size, upstreams: upstreams.size() };
    },
    async close() {
      endAll(undefined);
      await upstreams.close();
    },
  };
}

/** Runs `fn` at `epochMs` (however far: setTimeout holds at most 24.8 days); returns a cancel. */
function scheduleAt(epochMs: number, fn: () => void): () => void {
  let timer: NodeJS.Timeout;
  const arm = (): void => {
    const remaining = epochMs - Date.now();
    timer = setTimeout(
      () => (epochMs > Date.now() ? arm() : fn()),
      Math.max(0, Math.min(remaining, 2 ** 31 - 1)),
    );
    timer.unref();
  };
  arm();
  return () => clearTimeout(timer);
}

// Documents are shared between subscribers sending the same text (the WebSocket server caches them).
const printedDocuments = new WeakMap<DocumentNode, string>();

function printed(document: DocumentNode): string {
  let text = printedDocuments.get(document);
  if (text === undefined) {
    text = print(document);
    printedDocuments.set(document, text);
  }
  return text;
}

function pick(values: Readonly<Record<string, unknown>>, names: readonly string[]): Record<string, unknown> {
  const picked: Record<string, unknown> = {};
  for (const name of names) if (Object.hasOwn(values, name)) picked[name] = values[name];
  return picked;
}
