/**
 * Who may change what serves (deployments, rollouts, weights), and create or probe serving pools. The
 * gateway enforces these rules (see README, Identity).
 */
export const CHANGES_SERVING = '@requiresScopes(scopes: [["role:ml-engineer"], ["role:admin"]])';

/**
 * Who may join a pool and keep an endpoint alive: operators, or a sidecar's service token holding
 * the `serving:register` scope (which may do nothing else).
 */
export const ENDPOINT_REGISTRARS =
  '@requiresScopes(scopes: [["role:ml-engineer"], ["role:admin"], ["serving:register"]])';
