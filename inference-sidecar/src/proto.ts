/**
 * The sidecar's gRPC contracts, `schema/proto/grpc_predict_v2.proto` (Open Inference Protocol v2
 * with Triton's streaming and repository extensions) and `schema/proto/health.proto`, loaded with
 * `@grpc/proto-loader`, plus TypeScript types for the messages exactly as that loader decodes them.
 *
 * The types are hand-written against `PROTO_LOADER_OPTIONS`; `test/proto.test.ts` decodes real
 * messages and compares them with these shapes and with the published field numbers, so drift fails
 * a test. Loading reads the files, so it happens on the first call to `loadSidecarProtos`, never at
 * import time.
 */
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

/**
 * How the `.proto` files are loaded; the message types below describe the objects these options
 * produce: field names as in the `.proto`, int64/uint64 as decimal strings, enums as their names,
 * every non-oneof field present (singular message fields as `null` when absent), repeated fields as
 * arrays, maps as objects, and each set oneof named by its virtual `parameter_choice` field.
 */
export const PROTO_LOADER_OPTIONS: Readonly<protoLoader.Options> = Object.freeze({
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
  arrays: true,
});

/** Fully-qualified service names, as they appear in gRPC paths (`/<service>/<method>`). */
export const INFERENCE_SERVICE_NAME = 'inference.GRPCInferenceService';
export const HEALTH_SERVICE_NAME = 'grpc.health.v1.Health';

export interface ProtoFiles {
  readonly inference: string;
  readonly health: string;
}

/** Absolute paths of the `.proto` files in the installed `@mlops/schema` package. */
export function resolveProtoFiles(): ProtoFiles {
  const protoDir = path.join(path.dirname(require.resolve('@mlops/schema/package.json')), 'proto');
  return {
    inference: path.join(protoDir, 'grpc_predict_v2.proto'),
    health: path.join(protoDir, 'health.proto'),
  };
}

// ---------------------------------------------------------------------------------------------
// Messages, as decoded. A server handler receives these; a client callback receives these.
// ---------------------------------------------------------------------------------------------

/** A message with no fields. */
export type EmptyMessage = Record<string, never>;

/** An inference parameter; `parameter_choice` names the member that is set, and is absent if none is. */
export type InferParameter =
  | { parameter_choice: 'bool_param'; bool_param: boolean }
  | { parameter_choice: 'int64_param'; int64_param: string }
  | { parameter_choice: 'string_param'; string_param: string }
  | { parameter_choice: 'double_param'; double_param: number }
  | { parameter_choice: 'uint64_param'; uint64_param: string }
  | { parameter_choice?: undefined };

/** Tensor elements in the field matching the datatype; the other fields are empty arrays. */
export interface InferTensorContents {
  bool_contents: boolean[];
  int_contents: number[];
  /** int64 as decimal strings. */
  int64_contents: string[];
  uint_contents: number[];
  /** uint64 as decimal strings. */
  uint64_contents: string[];
  fp32_contents: number[];
  fp64_contents: number[];
  bytes_contents: Buffer[];
}

export type ServerLiveRequest = EmptyMessage;
export interface ServerLiveResponse {
  live: boolean;
}

export type ServerReadyRequest = EmptyMessage;
export interface ServerReadyResponse {
  ready: boolean;
}

export interface ModelReadyRequest {
  name: string;
  version: string;
}
export interface ModelReadyResponse {
  ready: boolean;
}

export type ServerMetadataRequest = EmptyMessage;
export interface ServerMetadataResponse {
  name: string;
  version: string;
  extensions: string[];
}

export interface ModelMetadataRequest {
  name: string;
  version: string;
}
export interface TensorMetadata {
  name: string;
  datatype: string;
  /** int64 dimensions as decimal strings; `"-1"` marks a variable-size dimension. */
  shape: string[];
}
export interface ModelMetadataResponse {
  name: string;
  versions: string[];
  platform: string;
  inputs: TensorMetadata[];
  outputs: TensorMetadata[];
}

/** `ModelInferRequest.InferInputTensor`. */
export interface InferInputTensor {
  name: string;
  datatype: string;
  /** int64 dimensions as decimal strings. */
  shape: string[];
  parameters: Record<string, InferParameter>;
  /** `null` when the request carries the data in `raw_input_contents`. */
  contents: InferTensorContents | null;
}
/** `ModelInferRequest.InferRequestedOutputTensor`. */
export interface InferRequestedOutputTensor {
  name: string;
  parameters: Record<string, InferParameter>;
}
export interface ModelInferRequest {
  model_name: string;
  model_version: string;
  id: string;
  parameters: Record<string, InferParameter>;
  inputs: InferInputTensor[];
  outputs: InferRequestedOutputTensor[];
  /** One buffer per input, in input order, or empty when inputs carry `contents`. */
  raw_input_contents: Buffer[];
}

/** `ModelInferResponse.InferOutputTensor`. */
export interface InferOutputTensor {
  name: string;
  datatype: string;
  /** int64 dimensions as decimal strings. */
  shape: string[];
  parameters: Record<string, InferParameter>;
  /** `null` when the response carries the data in `raw_output_contents`. */
  contents: InferTensorContents | null;
}
export interface ModelInferResponse {
  model_name: string;
  model_version: string;
  id: string;
  parameters: Record<string, InferParameter>;
  outputs: InferOutputTensor[];
  /** One buffer per output, in output order, or empty when outputs carry `contents`. */
  raw_output_contents: Buffer[];
}

/** Triton: one message on the `ModelStreamInfer` response stream. */
export interface ModelStreamInferResponse {
  /** Empty on success. */
  error_message: string;
  /** `null` when the request failed. */
  infer_response: ModelInferResponse | null;
}

/** Triton: a repository request parameter; `parameter_choice` names the member that is set. */
export type ModelRepositoryParameter =
  | { parameter_choice: 'bool_param'; bool_param: boolean }
  | { parameter_choice: 'int64_param'; int64_param: string }
  | { parameter_choice: 'string_param'; string_param: string }
  | { parameter_choice: 'bytes_param'; bytes_param: Buffer }
  | { parameter_choice?: undefined };

export interface RepositoryIndexRequest {
  repository_name: string;
  ready: boolean;
}
/** `RepositoryIndexResponse.ModelIndex`. */
export interface ModelIndex {
  name: string;
  version: string;
  state: string;
  reason: string;
}
export interface RepositoryIndexResponse {
  models: ModelIndex[];
}

export interface RepositoryModelLoadRequest {
  repository_name: string;
  model_name: string;
  parameters: Record<string, ModelRepositoryParameter>;
}
export type RepositoryModelLoadResponse = EmptyMessage;

export interface RepositoryModelUnloadRequest {
  repository_name: string;
  model_name: string;
  parameters: Record<string, ModelRepositoryParameter>;
}
export type RepositoryModelUnloadResponse = EmptyMessage;

export interface HealthCheckRequest {
  service: string;
}
export type ServingStatus = 'UNKNOWN' | 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';
export interface HealthCheckResponse {
  status: ServingStatus;
}

/**
 * What the encoder accepts for a message of decoded type `T`: every field optional (absent fields
 * go on the wire as their defaults), any `Uint8Array` for bytes. int64 fields stay strings here;
 * `String(n)` them.
 */
export type MessageInit<T> = T extends Buffer
  ? Uint8Array
  : T extends readonly (infer E)[]
    ? readonly MessageInit<E>[]
    : T extends object
      ? { [K in keyof T]?: MessageInit<T[K]> }
      : T;

// ---------------------------------------------------------------------------------------------
// Services
// ---------------------------------------------------------------------------------------------

/**
 * Server-side implementation of `inference.GRPCInferenceService`, for `server.addService`.
 * Handlers receive decoded messages and may answer with partial ones.
 */
export interface InferenceServiceHandlers extends grpc.UntypedServiceImplementation {
  ServerLive: grpc.handleUnaryCall<ServerLiveRequest, MessageInit<ServerLiveResponse>>;
  ServerReady: grpc.handleUnaryCall<ServerReadyRequest, MessageInit<ServerReadyResponse>>;
  ModelReady: grpc.handleUnaryCall<ModelReadyRequest, MessageInit<ModelReadyResponse>>;
  ServerMetadata: grpc.handleUnaryCall<ServerMetadataRequest, MessageInit<ServerMetadataResponse>>;
  ModelMetadata: grpc.handleUnaryCall<ModelMetadataRequest, MessageInit<ModelMetadataResponse>>;
  ModelInfer: grpc.handleUnaryCall<ModelInferRequest, MessageInit<ModelInferResponse>>;
  ModelStreamInfer: grpc.handleBidiStreamingCall<ModelInferRequest, MessageInit<ModelStreamInferResponse>>;
  RepositoryIndex: grpc.handleUnaryCall<RepositoryIndexRequest, MessageInit<RepositoryIndexResponse>>;
  RepositoryModelLoad: grpc.handleUnaryCall<
    RepositoryModelLoadRequest,
    MessageInit<RepositoryModelLoadResponse>
  >;
  RepositoryModelUnload: grpc.handleUnaryCall<
    RepositoryModelUnloadRequest,
    MessageInit<RepositoryModelUnloadResponse>
  >;
}

/** Server-side implementation of `grpc.health.v1.Health`, for `server.addService`. */
export interface HealthServiceHandlers extends grpc.UntypedServiceImplementation {
  Check: grpc.handleUnaryCall<HealthCheckRequest, MessageInit<HealthCheckResponse>>;
  Watch: grpc.handleServerStreamingCall<HealthCheckRequest, MessageInit<HealthCheckResponse>>;
}

/** A unary method of a generated client, with grpc-js's call overloads. */
export interface UnaryClientMethod<Req, Res> {
  (
    request: Req,
    metadata: grpc.Metadata,
    options: Partial<grpc.CallOptions>,
    callback: grpc.requestCallback<Res>,
  ): grpc.ClientUnaryCall;
  (request: Req, metadata: grpc.Metadata, callback: grpc.requestCallback<Res>): grpc.ClientUnaryCall;
  (
    request: Req,
    options: Partial<grpc.CallOptions>,
    callback: grpc.requestCallback<Res>,
  ): grpc.ClientUnaryCall;
  (request: Req, callback: grpc.requestCallback<Res>): grpc.ClientUnaryCall;
}

/** A server-streaming method of a generated client. */
export interface ServerStreamingClientMethod<Req, Res> {
  (
    request: Req,
    metadata?: grpc.Metadata,
    options?: Partial<grpc.CallOptions>,
  ): grpc.ClientReadableStream<Res>;
  (request: Req, options?: Partial<grpc.CallOptions>): grpc.ClientReadableStream<Res>;
}

/** A bidirectional-streaming method of a generated client. */
export interface BidiStreamingClientMethod<Req, Res> {
  (metadata?: grpc.Metadata, options?: Partial<grpc.CallOptions>): grpc.ClientDuplexStream<Req, Res>;
  (options?: Partial<grpc.CallOptions>): grpc.ClientDuplexStream<Req, Res>;
}

/** A client of `inference.GRPCInferenceService`: sends partial messages, receives decoded ones. */
export interface InferenceServiceClient extends grpc.Client {
  ServerLive: UnaryClientMethod<MessageInit<ServerLiveRequest>, ServerLiveResponse>;
  ServerReady: UnaryClientMethod<MessageInit<ServerReadyRequest>, ServerReadyResponse>;
  ModelReady: UnaryClientMethod<MessageInit<ModelReadyRequest>, ModelReadyResponse>;
  ServerMetadata: UnaryClientMethod<MessageInit<ServerMetadataRequest>, ServerMetadataResponse>;
  ModelMetadata: UnaryClientMethod<MessageInit<ModelMetadataRequest>, ModelMetadataResponse>;
  ModelInfer: UnaryClientMethod<MessageInit<ModelInferRequest>, ModelInferResponse>;
  ModelStreamInfer: BidiStreamingClientMethod<MessageInit<ModelInferRequest>, ModelStreamInferResponse>;
  RepositoryIndex: UnaryClientMethod<MessageInit<RepositoryIndexRequest>, RepositoryIndexResponse>;
  RepositoryModelLoad: UnaryClientMethod<
    MessageInit<RepositoryModelLoadRequest>,
    RepositoryModelLoadResponse
  >;
  RepositoryModelUnload: UnaryClientMethod<
    MessageInit<RepositoryModelUnloadRequest>,
    RepositoryModelUnloadResponse
  >;
}

/** A client of `grpc.health.v1.Health`. */
export interface HealthServiceClient extends grpc.Client {
  Check: UnaryClientMethod<MessageInit<HealthCheckRequest>, HealthCheckResponse>;
  Watch: ServerStreamingClientMethod<MessageInit<HealthCheckRequest>, HealthCheckResponse>;
}

export interface SidecarProtos {
  /** Everything proto-loader produced, keyed by fully-qualified name. */
  readonly packageDefinition: protoLoader.PackageDefinition;
  /** `inference.GRPCInferenceService`, for `server.addService(inferenceService, handlers)`. */
  readonly inferenceService: grpc.ServiceDefinition<InferenceServiceHandlers>;
  /** `grpc.health.v1.Health`, for `server.addService(healthService, handlers)`. */
  readonly healthService: grpc.ServiceDefinition<HealthServiceHandlers>;
}

let loaded: SidecarProtos | undefined;

/**
 * Loads both `.proto` files on the first call and returns the same definitions afterwards. Throws
 * if `@mlops/schema` or a `.proto` file cannot be found or parsed.
 */
export function loadSidecarProtos(): SidecarProtos {
  if (loaded) return loaded;
  const files = resolveProtoFiles();
  const packageDefinition = protoLoader.loadSync([files.inference, files.health], {
    ...PROTO_LOADER_OPTIONS,
  });
  loaded = {
    packageDefinition,
    inferenceService: serviceDefinition<InferenceServiceHandlers>(packageDefinition, INFERENCE_SERVICE_NAME),
    healthService: serviceDefinition<HealthServiceHandlers>(packageDefinition, HEALTH_SERVICE_NAME),
  };
  return loaded;
}

function serviceDefinition<T extends grpc.UntypedServiceImplementation>(
  packageDefinition: protoLoader.PackageDefinition,
  name: string,
): grpc.ServiceDefinition<T> {
  const definition = packageDefinition[name];
  // Message and enum definitions carry a `format`; services are maps of method definitions.
  if (!definition || 'format' in definition) {
    throw new Error(`The loaded .proto files define no service named ${name}`);
  }
  return definition as unknown as grpc.ServiceDefinition<T>;
}

/** A client of `inference.GRPCInferenceService` at `address` (`host:port`). Close it when done. */
export function createInferenceClient(
  address: string,
  credentials: grpc.ChannelCredentials,
  options?: grpc.ClientOptions,
): InferenceServiceClient {
  const Client = grpc.makeClientConstructor(loadSidecarProtos().inferenceService, INFERENCE_SERVICE_NAME);
  return new Client(address, credentials, options) as unknown as InferenceServiceClient;
}

/** A client of `grpc.health.v1.Health` at `address` (`host:port`). Close it when done. */
export function createHealthClient(
  address: string,
  credentials: grpc.ChannelCredentials,
  options?: grpc.ClientOptions,
): HealthServiceClient {
  const Client = grpc.makeClientConstructor(loadSidecarProtos().healthService, HEALTH_SERVICE_NAME);
  return new Client(address, credentials, options) as unknown as HealthServiceClient;
}
