export { ErrorCode } from './error-codes';
export {
  SUBGRAPHS,
  GATEWAY_DEFAULT_PORT,
  SIDECAR_DEFAULT_GRPC_PORT,
  SIDECAR_DEFAULT_HTTP_PORT,
  defaultSubgraphUrl,
} from './subgraphs';
export type { SubgraphDescriptor } from './subgraphs';
export { composeSupergraph } from './compose';
export type { SubgraphSdl, CompositionOutcome } from './compose';
export { WebSocketCloseCode } from './websocket-close-codes';
export { ROLES } from './identity';
export type { Identity, Role } from './identity';
