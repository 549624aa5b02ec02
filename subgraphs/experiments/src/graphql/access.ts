/**
 * Who may record experiments: data scientists, ML engineers and admins, or a training job holding
 * the `experiments:write` scope (a service token). The gateway enforces it (see README, Identity);
 * reads stay open.
 */
export const EXPERIMENT_WRITERS =
  '@requiresScopes(scopes: [["role:data-scientist"], ["role:ml-engineer"], ["role:admin"], ["experiments:write"]])';
