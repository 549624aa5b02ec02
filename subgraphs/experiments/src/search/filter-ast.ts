/**
 * The abstract syntax of run search: MLflow's `search_runs` filter and order-by grammar, parsed once
 * and compiled to parameterized SQL. Nothing here is SQL; values are always bound, never spliced.
 */

/** Run attributes addressable as `attributes.<name>` (aliases are resolved by the parser). */
export type StringAttribute = 'run_id' | 'run_name' | 'status' | 'lifecycle_stage';
export type NumericAttribute = 'start_time' | 'end_time';
export type DatasetField = 'name' | 'digest' | 'context';

/** What a comparison reads. */
export type SearchEntity =
  | { readonly kind: 'metric'; readonly key: string }
  | { readonly kind: 'param'; readonly key: string }
  | { readonly kind: 'tag'; readonly key: string }
  | { readonly kind: 'attribute'; readonly name: StringAttribute }
  | { readonly kind: 'numericAttribute'; readonly name: NumericAttribute }
  | { readonly kind: 'dataset'; readonly field: DatasetField };

export type NumericOperator = '=' | '!=' | '<' | '<=' | '>' | '>=';
export type StringOperator = '=' | '!=' | 'LIKE' | 'ILIKE';

/** A leaf of the filter; `position` is the 0-based offset of its first character in the filter text. */
export type Comparison =
  | {
      readonly type: 'numeric';
      readonly entity: Extract<SearchEntity, { kind: 'metric' | 'numericAttribute' }>;
      readonly op: NumericOperator;
      readonly value: number;
      readonly position: number;
    }
  | {
      readonly type: 'string';
      readonly entity: Extract<SearchEntity, { kind: 'param' | 'tag' | 'attribute' | 'dataset' }>;
      readonly op: StringOperator;
      readonly value: string;
      readonly position: number;
    }
  | {
      readonly type: 'in';
      readonly entity: Extract<SearchEntity, { kind: 'attribute' | 'dataset' }>;
      readonly negated: boolean;
      readonly values: readonly string[];
      readonly position: number;
    }
  | {
      /** `IS NULL` / `IS NOT NULL`: whether a run has the param, tag or metric at all. */
      readonly type: 'presence';
      readonly entity: Extract<SearchEntity, { kind: 'metric' | 'param' | 'tag' }>;
      readonly present: boolean;
      readonly position: number;
    };

export type FilterExpression =
  | Comparison
  | { readonly type: 'and'; readonly operands: readonly FilterExpression[] }
  | { readonly type: 'or'; readonly operands: readonly FilterExpression[] };

export type SortDirection = 'ASC' | 'DESC';

/** One `orderBy` term: `metrics.rmse DESC`, `attributes.start_time`, `params.lr ASC`. */
export interface OrderTerm {
  readonly entity: Exclude<SearchEntity, { kind: 'dataset' }>;
  readonly direction: SortDirection;
}

/** A filter or order-by that does not parse; `position` is the 0-based offset of the offending token. */
export class SearchSyntaxError extends Error {
  constructor(
    message: string,
    readonly position: number,
  ) {
    super(`${message} (at position ${position})`);
    this.name = 'SearchSyntaxError';
  }
}
