export { readDeploymentsConfig } from './config';
export type { DeploymentsConfig } from './config';
export { startDeploymentsService } from './service';
export type { DeploymentsService, DeploymentsServiceOptions } from './service';
export { buildDeploymentsSchema, printSubgraphSdl } from './graphql/schema';
export { createHttpModelRegistryClient, sidecarSignature } from './registry/model-registry-client';
export type {
  ModelRegistryClient,
  RegisteredVersionStatus,
  VersionFiles,
} from './registry/model-registry-client';
export { createGrpcSidecarConnector } from './sidecar/grpc-sidecar-client';
export type { SidecarClient, SidecarConnector } from './sidecar/sidecar-client';
export type { RevisionState, Strategy } from './domain/revision-state';
