import { DomainError, isServiceIdentity } from '@mlops/runtime';
import { ErrorCode } from '@mlops/schema';
import type { Identity, Role } from '@mlops/schema';
import { MODEL_WRITER_ROLES } from '../graphql/access';

/** Roles that may download artifacts: those that may change the registry. */
export const ARTIFACT_READER_ROLES: readonly Role[] = MODEL_WRITER_ROLES;

/** Roles that may upload artifacts: those that may register the versions made of them. */
export const ARTIFACT_WRITER_ROLES: readonly Role[] = MODEL_WRITER_ROLES;

/** The scope a service token needs to download artifacts without one of those roles. */
export const ARTIFACT_READ_SCOPE = 'models:read';

/**
 * Platform services that may download artifacts with their own signed identity
 * (`serviceIdentityHeaders(<name>, keys)`): the deployments control plane, which hands a version's
 * file to the sidecars, and the sidecar itself, which loads it.
 */
export const ARTIFACT_READING_SERVICES: readonly string[] = ['deployments', 'inference-sidecar'];

/**
 * Decides whether a caller may download an artifact's bytes; throws UNAUTHENTICATED (no verified
 * caller) or FORBIDDEN. Registry metadata is open to every caller, but a model file is the model
 * itself, so it takes a verified caller with a registry role, scope `models:read`, or one of
 * `ARTIFACT_READING_SERVICES`. With `identityRequired` false (no `INTERNAL_IDENTITY_KEYS`, development)
 * every caller is anonymous and trusted, as for GraphQL and uploads.
 */
export function authorizeArtifactRead(identity: Identity | null, identityRequired: boolean): void {
  if (!identityRequired) return;
  if (identity === null) {
    throw new DomainError(
      ErrorCode.UNAUTHENTICATED,
      'Downloading an artifact takes a verified caller: a signed service identity or a token with a registry role',
    );
  }
  if (mayReadArtifacts(identity)) return;
  throw new DomainError(
    ErrorCode.FORBIDDEN,
    `Downloading an artifact takes role ${ARTIFACT_READER_ROLES.join(', ')} or scope '${ARTIFACT_READ_SCOPE}'; '${identity.subject}' has neither`,
  );
}

function mayReadArtifacts(identity: Identity): boolean {
  if (identity.roles.some((role) => ARTIFACT_READER_ROLES.includes(role))) return true;
  if (identity.scopes.includes(ARTIFACT_READ_SCOPE)) return true;
  return ARTIFACT_READING_SERVICES.some((service) => isServiceIdentity(identity, service));
}

/**
 * Decides whether a caller may upload an artifact; throws UNAUTHENTICATED (no verified caller) or
 * FORBIDDEN. An upload only makes sense to register a version, so it takes the role that
 * `registerModelVersion` takes; without `identityRequired` (development) every caller may.
 */
export function authorizeArtifactWrite(identity: Identity | null, identityRequired: boolean): void {
  if (!identityRequired) return;
  if (identity === null) {
    throw new DomainError(
      ErrorCode.UNAUTHENTICATED,
      'Uploading an artifact takes a verified caller with a registry role',
    );
  }
  if (identity.roles.some((role) => ARTIFACT_WRITER_ROLES.includes(role))) return;
  throw new DomainError(
    ErrorCode.FORBIDDEN,
    `Uploading an artifact takes role ${ARTIFACT_WRITER_ROLES.join(', ')}; '${identity.subject}' has none of them`,
  );
}
