import type { Role } from '@mlops/schema';

/**
 * The roles that may change strategies and their series: those that change the registry
 * (data-scientist, ml-engineer, admin), which include those that change deployments.
 */
export const STRATEGY_WRITER_ROLES: readonly Role[] = ['data-scientist', 'ml-engineer', 'admin'];

/**
 * Who may change strategies and record performance: the gateway enforces these (see README,
 * Identity). A trading job's service token holding the scope `business-metrics:write` may too;
 * reads stay open.
 */
export const STRATEGY_WRITERS = `@requiresScopes(scopes: [${[
  ...STRATEGY_WRITER_ROLES.map((role) => `["role:${role}"]`),
  '["business-metrics:write"]',
].join(', ')}])`;
