import type { RouteHandler } from '@mlops/runtime';
import type { ArtifactStore } from './artifact-store';
import { ARTIFACT_DOWNLOAD_PREFIX, createArtifactDownloadRoute } from './download-route';
import { createArtifactUploadRoute } from './upload-route';

export interface ArtifactRoutesOptions {
  readonly artifacts: ArtifactStore;
  /** Uploads over this many bytes answer 413. */
  readonly maxBytes: number;
  /** Whether uploads and downloads require a verified caller (see artifact-access.ts). */
  readonly identityRequired: boolean;
}

/**
 * The models service's extra HTTP routes: `POST /artifacts` (upload) and `/artifacts/<sha256>`
 * (download, which validates the rest of the path itself), for `startGraphQLService({ routes })`.
 */
export function createArtifactRoutes(options: ArtifactRoutesOptions): Readonly<Record<string, RouteHandler>> {
  return {
    '/artifacts': createArtifactUploadRoute(options),
    [`${ARTIFACT_DOWNLOAD_PREFIX}*`]: createArtifactDownloadRoute(options),
  };
}
