/** Who may change the registry: the gateway enforces these (see README, Identity). */
export const MODEL_WRITERS =
  '@requiresScopes(scopes: [["role:data-scientist"], ["role:ml-engineer"], ["role:admin"]])';
