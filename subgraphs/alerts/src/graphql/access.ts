/** Who may change alert rules and silences: the gateway enforces these (see README, Identity). */
export const ALERT_MANAGERS = '@requiresScopes(scopes: [["role:ml-engineer"], ["role:admin"]])';

/** Who may write metric samples: operators, or a producer holding the `metrics:write` scope. */
export const METRIC_PRODUCERS =
  '@requiresScopes(scopes: [["role:ml-engineer"], ["role:admin"], ["metrics:write"]])';

/** Acknowledging an alert takes a verified caller (any role). */
export const ANY_CALLER = '@authenticated';
