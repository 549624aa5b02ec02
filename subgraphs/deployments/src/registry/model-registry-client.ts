import { createHash } from 'node:crypto';
import { ErrorCode } from '@mlops/schema';
import { DomainError, enableRequestScope, startOutgoingCall } from '@mlops/runtime';

/** The registry's verdict on one version: its status, or null when the model or version does not exist. */
export type RegisteredVersionStatus = 'PENDING_REGISTRATION' | 'READY' | 'FAILED_REGISTRATION' | null;

/** What a sidecar needs on disk to serve one version: its ONNX file and its signature.json. */
export interface VersionFiles {
  /** Lower-case hex sha256 of `model`, as the registry recorded it (and checked on download). */
  readonly sha256: string;
  readonly model: Buffer;
  /** The sidecar's `signature.json`: `{ inputs, outputs }` of `{ name, datatype, shape }`. */
  readonly signature: Buffer;
}

/** The model registry as the deployments subgraph sees it. */
export interface ModelRegistryClient {
  /** Rejects with UNAVAILABLE when the registry cannot be asked. */
  versionStatus(modelName: string, version: number): Promise<RegisteredVersionStatus>;
  /**
   * The version's files, downloaded from the registry's artifact store; null when the registry
   * does not know the version. Rejects with UNAVAILABLE when the registry cannot be asked or the
   * download fails, INVALID_STATE when the version is not READY or its signature cannot be
   * served by a sidecar.
   */
  versionFiles?(modelName: string, version: number): Promise<VersionFiles | null>;
}

// Named, so that the models subgraph's span and logs say which call this is.
const STATUS_QUERY =
  'query RegistryVersionStatus($m: String!, $v: Int!) { modelVersion(modelName: $m, version: $v) { status } }';
const FILES_QUERY =
  'query RegistryVersionFiles($m: String!, $v: Int!) { modelVersion(modelName: $m, version: $v) { ' +
  'status source { sha256 } signature { inputs { name elementType shape } outputs { name elementType shape } } } }';

/** A model file may be large: its download gets longer than a registry query. */
const DOWNLOAD_TIMEOUT_MS = 120_000;

interface TensorSpec {
  readonly name: string;
  readonly elementType: string;
  readonly shape: readonly (number | string)[];
}

interface RegisteredVersion {
  readonly status: string;
  readonly source?: { readonly sha256: string };
  readonly signature?: {
    readonly inputs: readonly TensorSpec[];
    readonly outputs: readonly TensorSpec[];
  } | null;
}

type GraphQLBody = {
  data?: { modelVersion?: RegisteredVersion | null };
  errors?: { extensions?: { code?: string } }[];
};

/**
 * Asks the models subgraph over HTTP GraphQL (`MODELS_SUBGRAPH_URL`), with `identityHeaders()` (the
 * service's signed identity when internal keys are configured) on every call. Each call carries the
 * `x-request-id` of the GraphQL request whose work makes it and, when tracing is on, a client
 * span's `traceparent`, so the models subgraph's logs and spans join the request's. Turns on the
 * runtime's request scope for that.
 */
export function createHttpModelRegistryClient(
  url: string,
  timeoutMs = 5_000,
  identityHeaders: () => Record<string, string> = () => ({}),
): ModelRegistryClient {
  enableRequestScope();
  const { hostname, port, protocol } = new URL(url);
  const server = {
    'server.address': hostname,
    'server.port': Number(port || (protocol === 'https:' ? 443 : 80)),
  };
  /** One call to the registry: its span, request id and identity; UNAVAILABLE when it fails. */
  const call = async (target: string, init: RequestInit, limitMs = timeoutMs): Promise<Response> => {
    const method = init.method ?? 'GET';
    const headers: Record<string, string> = {
      ...(init.headers as Record<string, string>),
      ...identityHeaders(),
    };
    const attributes = { ...server, 'http.request.method': method, 'url.full': target };
    const span = startOutgoingCall(method, attributes, (key, value) => (headers[key] = value));
    try {
      const response = await fetch(target, { ...init, headers, signal: AbortSignal.timeout(limitMs) });
      span?.setAttribute('http.response.status_code', response.status);
      span?.end(response.status >= 500 ? `HTTP ${response.status}` : undefined);
      return response;
    } catch (error) {
      span?.end((error as Error).message);
      throw new DomainError(
        ErrorCode.UNAVAILABLE,
        `The model registry at ${target} did not answer: ${(error as Error).message}`,
      );
    }
  };
  /** The version as the registry answers `query` for it; null when it does not exist. */
  const modelVersion = async (query: string, modelName: string, version: number) => {
    const response = await call(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query, variables: { m: modelName, v: version } }),
    });
    let body: GraphQLBody;
    try {
      body = (await response.json()) as GraphQLBody;
    } catch (error) {
      throw new DomainError(
        ErrorCode.UNAVAILABLE,
        `The model registry at ${url} answered no JSON: ${(error as Error).message}`,
      );
    }
    if (body.errors?.some((e) => e.extensions?.code === ErrorCode.NOT_FOUND)) return null;
    const found = body.data?.modelVersion;
    if (body.errors || !found?.status)
      throw new DomainError(ErrorCode.UNAVAILABLE, `The model registry at ${url} answered an error`);
    return found;
  };
  return {
    async versionStatus(modelName, version) {
      const found = await modelVersion(STATUS_QUERY, modelName, version);
      return found && (found.status as RegisteredVersionStatus);
    },
    async versionFiles(modelName, version) {
      const found = await modelVersion(FILES_QUERY, modelName, version);
      if (!found) return null;
      const name = `${modelName} version ${version}`;
      if (found.status !== 'READY' || !found.source || !found.signature) {
        throw new DomainError(
          ErrorCode.INVALID_STATE,
          `${name} is ${found.status} in the registry, not READY`,
        );
      }
      const signature = sidecarSignature(name, found.signature);
      const { sha256 } = found.source;
      const artifact = new URL(`/artifacts/${sha256}`, url).toString();
      const response = await call(artifact, { method: 'GET' }, DOWNLOAD_TIMEOUT_MS);
      if (!response.ok) {
        throw new DomainError(
          ErrorCode.UNAVAILABLE,
          `Downloading ${name} from ${artifact} answered HTTP ${response.status}`,
        );
      }
      let model: Buffer;
      try {
        model = Buffer.from(await response.arrayBuffer());
      } catch (error) {
        throw new DomainError(
          ErrorCode.UNAVAILABLE,
          `Downloading ${name} from ${artifact} failed: ${(error as Error).message}`,
        );
      }
      const received = createHash('sha256').update(model).digest('hex');
      if (received !== sha256) {
        throw new DomainError(
          ErrorCode.UNAVAILABLE,
          `Downloading ${name} from ${artifact} gave a file whose sha256 is ${received}, not the registered ${sha256}`,
        );
      }
      return { sha256, model, signature };
    },
  };
}

/**
 * The registry's signature in the sidecar's signature.json layout: datatypes as they are, symbolic
 * dimensions ("batch") as -1. Sequences and maps (`NON_TENSOR`) cannot be served by a sidecar.
 */
export function sidecarSignature(
  name: string,
  signature: { readonly inputs: readonly TensorSpec[]; readonly outputs: readonly TensorSpec[] },
): Buffer {
  const tensors = (specs: readonly TensorSpec[]) =>
    specs.map((spec) => {
      if (spec.elementType === 'NON_TENSOR') {
        throw new DomainError(
          ErrorCode.INVALID_STATE,
          `${name}: tensor '${spec.name}' is a sequence or map, which inference sidecars do not serve`,
        );
      }
      return {
        name: spec.name,
        datatype: spec.elementType,
        shape: spec.shape.map((dim) =>
          typeof dim === 'number' && Number.isInteger(dim) && dim >= -1 ? dim : -1,
        ),
      };
    });
  return Buffer.from(
    `${JSON.stringify({ inputs: tensors(signature.inputs), outputs: tensors(signature.outputs) }, null, 2)}\n`,
  );
}
