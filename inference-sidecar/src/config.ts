import path from 'node:path';
import { ConfigError, createEnvReader, readInternalIdentityKeys } from '@mlops/runtime';
import type { InternalIdentityKeys } from '@mlops/runtime';

export interface SidecarConfig {
  /** `SIDECAR_GRPC_PORT`; default 8001 (Triton's gRPC port). */
  readonly grpcPort: number;
  /** `SIDECAR_HTTP_PORT`; default 8002: `/health`, `/ready` and Prometheus `/metrics`. */
  readonly httpPort: number;
  /** `SIDECAR_HOST`; default 127.0.0.1 (0.0.0.0 in a pod). */
  readonly host: string;
  /** `MODEL_REPOSITORY`; default the repository shipped in `inference-sidecar/models`. */
  readonly modelRepository: string;
  /**
   * `SIDECAR_MODELS`: comma-separated models loaded at start-up; default every model in the
   * repository. The repository extension (RepositoryModelLoad) loads others later.
   */
  readonly startupModels: readonly string[] | 'all';
  /**
   * `SIDECAR_MAX_MESSAGE_BYTES`: the largest message of every call but RepositoryModelLoad (inference
   * requests above all) and the largest answer; larger requests answer RESOURCE_EXHAUSTED. Default
   * 16 MiB.
   */
  readonly maxMessageBytes: number;
  /**
   * `SIDECAR_MAX_MODEL_BYTES`: the largest RepositoryModelLoad message, which may carry a version's
   * files (`file:<version>/model.onnx` …); larger ones answer RESOURCE_EXHAUSTED. Default 256 MiB.
   * The transport accepts the larger of the two limits and each call is held to its own, so raising
   * this never lets a larger inference request through (it is read, then refused).
   */
  readonly maxModelBytes: number;
  /**
   * Registration with the deployments control plane, when `SIDECAR_CONTROL_PLANE_URL` (its GraphQL
   * endpoint, usually the gateway) and `SIDECAR_POOL` are both set: `SIDECAR_ADVERTISE_ADDRESS`
   * (default: the bound gRPC address), `SIDECAR_HEARTBEAT_MS` (default 5000),
   * `SIDECAR_CREATE_POOL=true` to create a missing pool (development; it takes a token allowed to
   * `createServingPool`), `INTERNAL_IDENTITY_KEYS` (the platform's keys, to sign its calls when it
   * calls the deployments subgraph directly), `SIDECAR_CONTROL_PLANE_TOKEN` (see `token`). Default:
   * no registration.
   */
  readonly controlPlane: {
    url: string;
    pool: string;
    advertiseAddress: string | undefined;
    heartbeatMs: number;
    createPool: boolean;
    identityKeys: InternalIdentityKeys | undefined;
    /**
     * `SIDECAR_CONTROL_PLANE_TOKEN`: the sidecar's service credential, a JWT sent as
     * `Authorization: Bearer` with every registration and heartbeat; the gateway lets a token with
     * the scope `serving:register` (or the role `ml-engineer` or `admin`) call them. Mount it from a
     * Secret. Default none: the calls are anonymous and the gateway refuses them (UNAUTHENTICATED),
     * so the sidecar serves but never joins its pool. A value that is not a JWT fails start-up.
     */
    token?: string | undefined;
  } | null;
  /** `LOG_LEVEL`; default info. */
  readonly logLevel: string;
}

export const DEFAULT_MODEL_REPOSITORY = path.resolve(__dirname, '..', 'models');

const CONTROL_PLANE_TOKEN = 'SIDECAR_CONTROL_PLANE_TOKEN';

export function readSidecarConfig(
  env: Readonly<Record<string, string | undefined>> = process.env,
): SidecarConfig {
  const read = createEnvReader(env);
  const models = read.optionalString('SIDECAR_MODELS');
  const config: SidecarConfig = {
    grpcPort: read.port('SIDECAR_GRPC_PORT', 8001),
    httpPort: read.port('SIDECAR_HTTP_PORT', 8002),
    host: read.string('SIDECAR_HOST', '127.0.0.1'),
    modelRepository: path.resolve(read.string('MODEL_REPOSITORY', DEFAULT_MODEL_REPOSITORY)),
    startupModels: models
      ? models
          .split(',')
          .map((m) => m.trim())
          .filter(Boolean)
      : 'all',
    maxMessageBytes: read.int('SIDECAR_MAX_MESSAGE_BYTES', 16 * 1024 * 1024, {
      min: 1024,
      max: 1024 * 1024 * 1024,
    }),
    maxModelBytes: read.int('SIDECAR_MAX_MODEL_BYTES', 256 * 1024 * 1024, {
      min: 1024,
      max: 2 ** 31 - 1, // gRPC lengths are 32-bit signed
    }),
    controlPlane: null,
    logLevel: read.oneOf('LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], 'info'),
  };
  const controlPlaneUrl = read.url('SIDECAR_CONTROL_PLANE_URL', ['http', 'https']);
  const pool = read.optionalString('SIDECAR_POOL');
  const heartbeatMs = read.int('SIDECAR_HEARTBEAT_MS', 5_000, { min: 100, max: 600_000 });
  const createPool = read.oneOf('SIDECAR_CREATE_POOL', ['true', 'false'], 'false') === 'true';
  const advertiseAddress = read.optionalString('SIDECAR_ADVERTISE_ADDRESS');
  const identityKeys = readInternalIdentityKeys(read, false);
  const token = read.optionalString(CONTROL_PLANE_TOKEN);
  read.done();
  if ((controlPlaneUrl === undefined) !== (pool === undefined)) {
    throw new ConfigError(['SIDECAR_CONTROL_PLANE_URL and SIDECAR_POOL must be set together (or neither)']);
  }
  if (token !== undefined && !/^[\w-]+\.[\w-]+\.[\w-]*$/.test(token)) {
    throw new ConfigError([`${CONTROL_PLANE_TOKEN} must be a JWT (header.payload.signature, base64url)`]);
  }
  if (controlPlaneUrl && pool)
    return {
      ...config,
      controlPlane: {
        url: controlPlaneUrl,
        pool,
        advertiseAddress,
        heartbeatMs,
        createPool,
        identityKeys,
        token,
      },
    };
  return config;
}
