import type { DocumentNode, GraphQLError, GraphQLSchema, Source } from 'graphql';
import { print } from 'graphql';
import { analyzeOperation } from './operation-analysis';
import { badLimitInput, limitExceeded } from './limit-errors';
import { MAX_ANALYSED_DEPTH, resolveOperationLimits } from './operation-limits-options';
import type { OperationLimits, OperationLimitsOptions } from './operation-limits-options';
import { countTokens } from './token-count';

/**
 * The token limit alone, for a document not parsed yet: a `LIMIT_EXCEEDED` error when `source`
 * has more than `maxTokens` tokens, else `undefined`. Lexes at most `maxTokens + 1` tokens.
 */
export function checkTokenLimit(
  source: string | Source,
  options: OperationLimitsOptions = {},
): GraphQLError | undefined {
  const { maxTokens } = resolveOperationLimits(options);
  const tokens = countTokens(source, maxTokens);
  if (tokens <= maxTokens) return undefined;
  return limitExceeded(
    'maxTokens',
    maxTokens,
    tokens,
    `The document has more than ${maxTokens} tokens; the maximum is ${maxTokens}`,
  );
}

/**
 * Every limit `document` breaks for the operation `operationName` selects (all operations when
 * none can be selected), as coded errors, most fundamental first: tokens, fragment cycles, depth,
 * aliases, root fields, directives, cost. Empty when the operation is within every limit. Pure
 * and safe on unvalidated documents (cycles, unknown fields, any nesting), so it also serves
 * WebSocket subscriptions; the tokens are counted on the document's source, or on the printed
 * document when it has no location.
 */
export function checkOperationLimits(
  document: DocumentNode,
  operationName: string | null | undefined,
  schema: GraphQLSchema,
  variables: Readonly<Record<string, unknown>> | null | undefined,
  options: OperationLimitsOptions = {},
): GraphQLError[] {
  const limits = resolveOperationLimits(options);
  const tooManyTokens = checkTokenLimit(document.loc?.source ?? print(document), limits);
  // Past the token limit the rest is not worth measuring: the request is refused either way.
  if (tooManyTokens) return [tooManyTokens];
  const analysis = analyzeOperation(document, operationName, schema, variables, limits);
  const errors: GraphQLError[] = [];
  for (const name of analysis.cyclicFragments) {
    errors.push(badLimitInput(`Cannot spread fragment '${name}' within itself`));
  }
  errors.push(...depthErrors(analysis.depth, analysis.truncated, limits));
  const { maxAliases, maxRootFields, maxDirectivesPerField, maxCost } = limits;
  if (analysis.aliases > maxAliases) {
    errors.push(
      limitExceeded(
        'maxAliases',
        maxAliases,
        analysis.aliases,
        `The operation uses ${analysis.aliases} aliases; the maximum is ${maxAliases}`,
      ),
    );
  }
  if (analysis.rootFields > maxRootFields) {
    errors.push(
      limitExceeded(
        'maxRootFields',
        maxRootFields,
        analysis.rootFields,
        `The operation selects ${analysis.rootFields} root fields; the maximum is ${maxRootFields}`,
      ),
    );
  }
  const { count, where } = analysis.mostDirectives;
  if (count > maxDirectivesPerField) {
    errors.push(
      limitExceeded(
        'maxDirectivesPerField',
        maxDirectivesPerField,
        count,
        `${where} carries ${count} directives; the maximum is ${maxDirectivesPerField}`,
      ),
    );
  }
  if (analysis.cost > maxCost) {
    errors.push(
      limitExceeded(
        'maxCost',
        maxCost,
        analysis.cost,
        `The operation has an estimated cost of ${analysis.cost}; the maximum is ${maxCost}`,
      ),
    );
  }
  return errors;
}

function depthErrors(depth: number, truncated: boolean, { maxDepth }: OperationLimits): GraphQLError[] {
  if (truncated) {
    return [
      limitExceeded(
        'maxDepth',
        maxDepth,
        MAX_ANALYSED_DEPTH + 1,
        `The operation nests fields and fragments more than ${MAX_ANALYSED_DEPTH} levels deep; the maximum depth is ${maxDepth}`,
      ),
    ];
  }
  if (depth <= maxDepth) return [];
  return [
    limitExceeded(
      'maxDepth',
      maxDepth,
      depth,
      `The operation has depth ${depth}; the maximum is ${maxDepth}`,
    ),
  ];
}
