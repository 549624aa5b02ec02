export { readModelsConfig } from './config';
export type { ArtifactStoreKind, ModelsConfig } from './config';
export { startModelsService } from './service';
export type { ModelsService, ModelsServiceOptions } from './service';
export { buildModelsSchema, printSubgraphSdl } from './graphql/schema';
export { createLocalArtifactStore } from './artifacts/local-artifact-store';
export { createDatabaseArtifactStore } from './artifacts/database-artifact-store';
export type {
  ArtifactPutOptions,
  ArtifactPutResult,
  ArtifactStore,
  StoredArtifact,
} from './artifacts/artifact-store';
export { readOnnxSignature } from './onnx/onnx-signature';
export type { ModelSignature, SignatureOutcome, TensorSpec } from './onnx/onnx-signature';
