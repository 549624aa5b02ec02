/**
 * What the control plane asks of one inference sidecar. The gRPC adapter (`grpc-sidecar-client.ts`)
 * speaks KServe v2 + Triton's repository extension; the controller and the prober depend only on this.
 * Every call rejects on a transport error or a gRPC error status, with the status details as message.
 */
import type { Routing } from '../domain/revision-spec';
import type { VersionFiles } from '../registry/model-registry-client';

export interface SidecarClient {
  /** gRPC `ServerReady`. */
  serverReady(deadline: number): Promise<boolean>;
  /**
   * `RepositoryModelLoad` with `{ version }`: loads it beside the versions serving (0% traffic).
   * With `files`, they travel in the request as Triton lays them out (`file:<version>/model.onnx`,
   * `file:<version>/signature.json`, bytes): the sidecar writes them into its repository first, so
   * it need not have the version on disk.
   */
  loadVersion(model: string, version: number, deadline: number, files?: VersionFiles): Promise<void>;
  /** `ModelReady { name, version }`. */
  modelReady(model: string, version: number, deadline: number): Promise<boolean>;
  /**
   * `RepositoryModelLoad` with `{ traffic: '{"<version>": weight}', shadow: '<version>' }`, or
   * `shadow: ''` (no mirroring) when `routing.shadow` is null; the sidecar applies both at once.
   */
  setRouting(model: string, routing: Routing, deadline: number): Promise<void>;
}

/** Hands out one client per address and closes them all at shutdown. */
export interface SidecarConnector {
  client(grpcAddress: string): SidecarClient;
  close(): void;
}
