import { ErrorCode } from '@mlops/schema';
import { DomainError } from '@mlops/runtime';

/** The registry's verdict on one version: its status, or null when the model or version does not exist. */
export type RegisteredVersionStatus = 'PENDING_REGISTRATION' | 'READY' | 'FAILED_REGISTRATION' | null;

/** The model registry as the deployments subgraph sees it. */
export interface ModelRegistryClient {
  /** Rejects with UNAVAILABLE when the registry cannot be asked. */
  versionStatus(modelName: string, version: number): Promise<RegisteredVersionStatus>;
}

const QUERY = 'query($m: String!, $v: Int!) { modelVersion(modelName: $m, version: $v) { status } }';

/**
 * Asks the models subgraph over HTTP GraphQL (`MODELS_SUBGRAPH_URL`), with `identityHeaders()` (the
 * service's signed identity when internal keys are configured) on every call.
 */
export function createHttpModelRegistryClient(
  url: string,
  timeoutMs = 5_000,
  identityHeaders: () => Record<string, string> = () => ({}),
): ModelRegistryClient {
  return {
    async versionStatus(modelName, version) {
      let body: {
        data?: { modelVersion?: { status: string } | null };
        errors?: { extensions?: { code?: string } }[];
      };
      try {
        const response = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...identityHeaders() },
          body: JSON.stringify({ query: QUERY, variables: { m: modelName, v: version } }),
          signal: AbortSignal.timeout(timeoutMs),
        });
        body = (await response.json()) as typeof body;
      } catch (error) {
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
