import { ConfigError } from '@mlops/runtime';

/**
 * Documents nesting deeper than this are never analysed further (the walk is recursive and must
 * not exhaust the stack on a hand-built document), so `maxDepth` may not exceed it.
 */
export const MAX_ANALYSED_DEPTH = 1_000;

/**
 * Limits applied to every operation before it executes. Each limit is a positive integer;
 * `Infinity` switches a limit off (except `maxDepth`, which is capped at 1000). An operation over
 * any limit is answered with a `LIMIT_EXCEEDED` error, HTTP 400, and is not executed; the error's
 * `extensions` carry `limit` (the option's name), `maximum` and `actual`.
 */
export interface OperationLimitsOptions {
  /**
   * Deepest nesting of fields, fragments expanded: `{ a { b } }` has depth 2. Introspection fields
   * count like any other. Default 15, the depth of the standard introspection query
   * (`getIntrospectionQuery()`). Over it: "The operation has depth 16; the maximum is 15".
   * At most 1000.
   */
  readonly maxDepth?: number;
  /**
   * Aliased fields in the operation, counted once per place a fragment is spread (so a fragment
   * with 10 aliases spread 5 times counts 50). Default 30. Over it:
   * "The operation uses 31 aliases; the maximum is 30".
   */
  readonly maxAliases?: number;
  /**
   * Fields selected directly on the root type (fragments expanded, `__typename` included). Default
   * 20. Over it: "The operation selects 21 root fields; the maximum is 20".
   */
  readonly maxRootFields?: number;
  /**
   * Lexical tokens in the whole document (punctuators, names, values; comments excluded, the same
   * count as `graphql`'s `parse(…, { maxTokens })`). Counted before the document is parsed, and
   * the count stops at the first token over the limit. Default 5000. Over it:
   * "The document has more than 5000 tokens; the maximum is 5000" (`actual` is then 5001, a lower
   * bound).
   */
  readonly maxTokens?: number;
  /**
   * Estimated cost of the operation (`analyzeOperation(…).cost`): object fields
   * cost 1, scalar and enum fields 0, `@cost(weight:)` overrides a field's or type's weight, and a
   * list field multiplies its cost by its estimated size. Default 20000: the standard
   * introspection query costs 16424 at the default list size, and developer tools must keep
   * working where introspection is enabled. Over it:
   * "The operation has an estimated cost of 20480; the maximum is 20000".
   */
  readonly maxCost?: number;
  /**
   * Size assumed for a list field whose size is not given by `@listSize` or by a `first`, `last`
   * or `limit` argument. Default 10. Must be a non-negative integer; not itself a limit.
   */
  readonly defaultListSize?: number;
  /**
   * Directives on any one field, fragment spread or inline fragment (a cheap guard against
   * directive floods). Default 10. Over it:
   * "The field 'name' carries 11 directives; the maximum is 10".
   */
  readonly maxDirectivesPerField?: number;
  /**
   * SDL to read `@cost` and `@listSize` from, instead of the AST of the schema the operation runs
   * against. The gateway passes its current supergraph SDL here: the API schema Apollo executes
   * against drops directive applications. Called on every check (the parsed result is cached
   * while the same string is returned); default: read the executing schema's own AST nodes, so a
   * schema without AST nodes simply has no `@cost`/`@listSize`. An SDL that does not parse makes
   * the check throw (HTTP 500), so pass only SDL that Apollo has already loaded.
   */
  readonly costDirectivesSdl?: () => string | undefined;
}

/** Every limit resolved to a number; what `resolveOperationLimits` returns. */
export interface OperationLimits {
  readonly maxDepth: number;
  readonly maxAliases: number;
  readonly maxRootFields: number;
  readonly maxTokens: number;
  readonly maxCost: number;
  readonly defaultListSize: number;
  readonly maxDirectivesPerField: number;
  readonly costDirectivesSdl: (() => string | undefined) | undefined;
}

/** What `extensions.limit` names in a `LIMIT_EXCEEDED` error: an option, or `checkBatch`'s `maxBatchSize`. */
export type LimitName =
  | 'maxDepth'
  | 'maxAliases'
  | 'maxRootFields'
  | 'maxTokens'
  | 'maxCost'
  | 'maxDirectivesPerField'
  | 'maxBatchSize';

const resolvedMarker = Symbol('operation-limits-resolved');

/**
 * Fills in the defaults and validates every option; throws a `ConfigError` naming each invalid
 * option. Already-resolved limits are returned unchanged.
 */
export function resolveOperationLimits(options: OperationLimitsOptions = {}): OperationLimits {
  if (resolvedMarker in options) return options as OperationLimits;
  const {
    maxDepth = 15,
    maxAliases = 30,
    maxRootFields = 20,
    maxTokens = 5_000,
    maxCost = 20_000,
    defaultListSize = 10,
    maxDirectivesPerField = 10,
    costDirectivesSdl,
  } = options;
  const problems: string[] = [];
  const limit = (name: Exclude<LimitName, 'maxBatchSize'>, value: number, allowInfinity = true): void => {
    const ok = (allowInfinity && value === Infinity) || (Number.isSafeInteger(value) && value > 0);
    if (!ok) {
      const range = allowInfinity ? 'a positive integer or Infinity' : 'a positive integer';
      problems.push(`${name} must be ${range}; got ${String(value)}`);
    }
  };
  limit('maxDepth', maxDepth, false);
  if (Number.isSafeInteger(maxDepth) && maxDepth > MAX_ANALYSED_DEPTH) {
    problems.push(`maxDepth may be at most ${MAX_ANALYSED_DEPTH}; got ${maxDepth}`);
  }
  limit('maxAliases', maxAliases);
  limit('maxRootFields', maxRootFields);
  limit('maxTokens', maxTokens);
  limit('maxCost', maxCost);
  limit('maxDirectivesPerField', maxDirectivesPerField);
  if (!Number.isSafeInteger(defaultListSize) || defaultListSize < 0) {
    problems.push(`defaultListSize must be a non-negative integer; got ${String(defaultListSize)}`);
  }
  if (costDirectivesSdl !== undefined && typeof costDirectivesSdl !== 'function') {
    problems.push('costDirectivesSdl must be a function returning SDL');
  }
  if (problems.length > 0) throw new ConfigError(problems.map((p) => `operation limits: ${p}`));
  const resolved = {
    maxDepth,
    maxAliases,
    maxRootFields,
    maxTokens,
    maxCost,
    defaultListSize,
    maxDirectivesPerField,
    costDirectivesSdl,
  };
  Object.defineProperty(resolved, resolvedMarker, { value: true, enumerable: false });
  return resolved;
}
