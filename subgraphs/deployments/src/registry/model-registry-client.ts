import { ErrorCode } from '@mlops/schema';
import { DomainError, enableRequestScope, startOutgoingCall } from '@mlops/runtime';

/** The registry's verdict on one version: its status, or null when the model or version does not exist. */
export type RegisteredVersionStatus = 'PENDING_REGISTRATION' | 'READY' | 'FAILED_REGISTRATION' | null;

/** The model registry as the deployments subgraph sees it. */
export interface ModelRegistryClient {
  /** Rejects with UNAVAILABLE when the registry cannot be asked. */
  versionStatus(modelName: string, version: number): Promise<RegisteredVersionStatus>;
}

// Named, so that the models subgraph's span and logs say which call this is.
const QUERY =
  'query RegistryVersionStatus($m: String!, $v: Int!) { modelVersion(modelName: $m, version: $v) { status } }';

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
  const spanAttributes = {
    'http.request.method': 'POST',
    'server.address': hostname,
    'server.port': Number(port || (protocol === 'https:' ? 443 : 80)),
    'url.full': url,
  };
  return {
    async versionStatus(modelName, version) {
      let body: {
        data?: { modelVersion?: { status: string } | null };
        errors?: { extensions?: { code?: string } }[];
      };
      const headers: Record<string, string> = { 'content-type': 'application/json', ...identityHeaders() };
      const span = startOutgoingCall('POST', spanAttributes, (key, value) => (headers[key] = value));
      try {
        const response = await fetch(url, {
          method: 'POST',
          headers,
          body: JSON.stringify({ query: QUERY, variables: { m: modelName, v: version } }),
          signal: AbortSignal.timeout(timeoutMs),
        });
        span?.setAttribute('http.response.status_code', response.status);
        body = (await response.json()) as typeof body;
        span?.end(response.status >= 500 ? `HTTP ${response.status}` : undefined);
      } catch (error) {
        span?.end((error as Error).message);
        throw new DomainError(
          ErrorCode.UNAVAILABLE,
          `The model registry at ${url} did not answer: ${(error as Error).message}`,
        );
      }
      if (body.errors?.some((e) => e.extensions?.code === ErrorCode.NOT_FOUND)) return null;
      const status = body.data?.modelVersion?.status;
      if (body.errors || !status)
        throw new DomainError(ErrorCode.UNAVAILABLE, `The model registry at ${url} answered an error`);
      return status as RegisteredVersionStatus;
    },
  };
}
