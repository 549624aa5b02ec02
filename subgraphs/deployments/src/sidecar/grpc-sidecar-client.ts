import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { enableRequestScope, startOutgoingCall } from '@mlops/runtime';
import type { SidecarClient, SidecarConnector } from './sidecar-client';

type Callback = (error: grpc.ServiceError | null, value: Record<string, unknown>) => void;
type UnaryMethod = (
  request: unknown,
  metadata: grpc.Metadata,
  options: Partial<grpc.CallOptions>,
  callback: Callback,
) => void;
type InferenceClient = grpc.Client & Record<string, UnaryMethod>;

let clientConstructor: grpc.ServiceClientConstructor | undefined;

/** Loads `grpc_predict_v2.proto` from the installed `@mlops/schema` on first use, never at import. */
function inferenceClientConstructor(): grpc.ServiceClientConstructor {
  if (clientConstructor) return clientConstructor;
  const protoFile = path.join(
    path.dirname(require.resolve('@mlops/schema/package.json')),
    'proto',
    'grpc_predict_v2.proto',
  );
  const definition = protoLoader.loadSync(protoFile, {
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const inference = grpc.loadPackageDefinition(definition).inference as grpc.GrpcObject;
  clientConstructor = inference.GRPCInferenceService as grpc.ServiceClientConstructor;
  return clientConstructor;
}

const SERVICE = 'inference.GRPCInferenceService';

/**
 * One call, carrying the `x-request-id` of the GraphQL request whose work makes it (a rollout or a
 * probe it asked for; none for the periodic probe) and, when tracing is on, a client span's
 * `traceparent`, so the sidecar's logs and spans join the request's.
 */
function unary(client: InferenceClient, method: string, request: unknown, deadline: number) {
  const metadata = new grpc.Metadata();
  const span = startOutgoingCall(
    `${SERVICE}/${method}`,
    { 'rpc.system': 'grpc', 'rpc.service': SERVICE, 'rpc.method': method },
    (key, value) => metadata.set(key, value),
  );
  return new Promise<Record<string, unknown>>((resolve, reject) =>
    client[method]!.call(client, request, metadata, { deadline: new Date(deadline) }, (error, value) => {
      span?.setAttribute('rpc.grpc.status_code', error ? error.code : grpc.status.OK);
      span?.end(error ? error.details || error.message : undefined);
      if (error) reject(new Error(`${method}: ${error.details || error.message}`));
      else resolve(value);
    }),
  );
}

const stringParam = (value: string) => ({ string_param: value });

function adapt(client: InferenceClient): SidecarClient {
  return {
    async serverReady(deadline) {
      return (await unary(client, 'ServerReady', {}, deadline)).ready === true;
    },
    async loadVersion(model, version, deadline, files) {
      const parameters: Record<string, { string_param: string } | { bytes_param: Buffer }> = {
        version: stringParam(String(version)),
      };
      if (files) {
        parameters[`file:${version}/model.onnx`] = { bytes_param: files.model };
        parameters[`file:${version}/signature.json`] = { bytes_param: files.signature };
      }
      await unary(client, 'RepositoryModelLoad', { model_name: model, parameters }, deadline);
    },
    async modelReady(model, version, deadline) {
      return (
        (await unary(client, 'ModelReady', { name: model, version: String(version) }, deadline)).ready ===
        true
      );
    },
    async setRouting(model, { trafficJson, shadow }, deadline) {
      const parameters = {
        traffic: stringParam(trafficJson),
        shadow: stringParam(shadow === null ? '' : String(shadow)),
      };
      await unary(client, 'RepositoryModelLoad', { model_name: model, parameters }, deadline);
    },
  };
}

/**
 * Insecure gRPC channels to sidecars (they listen inside the pod network), one per address. Turns
 * on the runtime's request scope, so that each call can forward the id of the request it serves.
 */
export function createGrpcSidecarConnector(): SidecarConnector {
  enableRequestScope();
  const clients = new Map<string, { raw: grpc.Client; adapted: SidecarClient }>();
  return {
    client(address) {
      let entry = clients.get(address);
      if (!entry) {
        const Constructor = inferenceClientConstructor();
        const raw = new Constructor(address, grpc.credentials.createInsecure()) as unknown as InferenceClient;
        entry = { raw, adapted: adapt(raw) };
        clients.set(address, entry);
      }
      return entry.adapted;
    },
    close() {
      for (const { raw } of clients.values()) raw.close();
      clients.clear();
    },
  };
}
