export { readSidecarConfig, DEFAULT_MODEL_REPOSITORY } from './config';
export type { SidecarConfig } from './config';
export { startSidecar } from './sidecar';
export type { SidecarHandle } from './sidecar';
export { createInferenceClient, createHealthClient, loadSidecarProtos } from './proto';
export type {
  InferenceServiceClient,
  HealthServiceClient,
  ModelInferRequest,
  ModelInferResponse,
} from './proto';
export { createDynamicBatcher } from './batcher';
export type { DynamicBatcher, DynamicBatcherOptions, BatchRequest } from './batcher';
export type { HostTensor, ModelSignature, TensorSpec, Datatype } from './tensor';
