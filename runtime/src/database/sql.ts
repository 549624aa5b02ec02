/** Where a service keeps its rows: a PostgreSQL URL, or an SQLite file when there is no server. */
export type DatabaseConfig =
  { readonly kind: 'postgresql'; readonly url: string } | { readonly kind: 'sqlite'; readonly file: string };

export type SqlDialect = DatabaseConfig['kind'];

/** SQL text with `?` placeholders and the values bound to them, in order. Values are never spliced. */
export interface SqlFragment {
  readonly sql: string;
  readonly bindings: readonly unknown[];
}
