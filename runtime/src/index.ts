export { createEnvReader, ConfigError, redactUrl } from './config-reader';
export type { EnvReader } from './config-reader';
export { createLogger } from './logger';
export type { Logger, LoggerOptions } from './logger';
export { createCapturingLogger } from './capturing-logger';
export type { CapturingLogger } from './capturing-logger';
export { runReadinessChecks } from './readiness';
export type { ReadinessCheck, ReadinessReport } from './readiness';
export { createRedisClient, redisReadinessCheck } from './redis';
export { RateLimitedError, acceptedRequestId, createServiceHttpServer, sendJson } from './http-server';
export type {
  Authenticate,
  ServiceHttpServer,
  ServiceHttpServerOptions,
  RequestContextBase,
  RouteHandler,
  ShortcutAnswer,
  ShortcutRequest,
} from './http-server';
export { codedError, createErrorFormatter } from './graphql-errors';
export { stopOnSignals } from './shutdown';
export { DomainError } from './domain-error';
export { encodeCursor, decodeCursor, queryFingerprint } from './keyset-cursor';
export type { KeysetPosition } from './keyset-cursor';
export {
  badInput,
  validateKey,
  validateLength,
  validateName,
  validatePageSize,
  validateTags,
  DEFAULT_PAGE_SIZE,
  MAX_KEY_LENGTH,
  MAX_PAGE_SIZE,
  MAX_TAG_VALUE_LENGTH,
} from './validation';
export { startGraphQLService } from './graphql-service';
export type { GraphQLService, GraphQLServiceOptions } from './graphql-service';
export { serveGraphQLOverWebSocket } from './graphql-ws-server';
export type {
  GraphQLWebSocketServer,
  GraphQLWebSocketServerOptions,
  SubscriptionResult,
  WebSocketContextBase,
} from './graphql-ws-server';
export { createEventQueue } from './event-queue';
export type { EventQueue, EventQueueOptions } from './event-queue';
export { createPubSub } from './pubsub';
export type { PubSub, PubSubOptions } from './pubsub';
export {
  IDENTITY_HEADER,
  IDENTITY_SIGNATURE_HEADER,
  IdentityRejected,
  UnauthenticatedError,
  parseInternalIdentityKeys,
  readInternalIdentityKeys,
  isServiceIdentity,
  serviceIdentityHeaders,
  signIdentityHeaders,
  verifyIdentityHeaders,
} from './internal-identity';
export type { InternalIdentityKeys, VerifyIdentityOptions } from './internal-identity';
export { createServiceMetrics } from './service-metrics';
export type { ServiceMetrics } from './service-metrics';
export {
  injectTraceContext,
  runUntraced,
  startInternalSpan,
  startClientSpan,
  startServerSpan,
  startTracing,
  traceContextOf,
  tracingEnabled,
} from './tracing';
export type { RequestSpan, TraceContextGetter, Tracing, TracingOptions } from './tracing';
export { currentRequestId, enableRequestScope } from './request-scope';
export { startOutgoingCall } from './outgoing-call';
