import type { Role } from '@mlops/schema';

/** The roles that may change the registry (and download model files, see artifact-access.ts). */
export const MODEL_WRITER_ROLES: readonly Role[] = ['data-scientist', 'ml-engineer', 'admin'];

/** Who may change the registry: the gateway enforces these (see README, Identity). */
export const MODEL_WRITERS = `@requiresScopes(scopes: [${MODEL_WRITER_ROLES.map((role) => `["role:${role}"]`).join(', ')}])`;
