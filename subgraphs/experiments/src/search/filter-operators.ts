/**
 * The comparison operators of the search grammar: which ones each entity kind allows, how the operator
 * after an identifier is read, and the error that names the allowed ones when it is not.
 */
import type { NumericOperator, SearchEntity, StringOperator } from './filter-ast';
import { SearchSyntaxError } from './filter-ast';
import { entityLabel, operatorSubject } from './filter-entities';
import type { Lexer } from './filter-lexer';
import { acceptKeyword, describeToken, expectKeyword } from './filter-lexer';

type ComparisonOperator = NumericOperator | StringOperator;

export type ParsedOperator =
  | { readonly kind: 'compare'; readonly op: ComparisonOperator; readonly start: number }
  | { readonly kind: 'in'; readonly negated: boolean; readonly start: number }
  | { readonly kind: 'presence'; readonly present: boolean; readonly start: number };

const NUMERIC_OPERATORS: readonly string[] = ['=', '!=', '<', '<=', '>', '>='];
const STRING_OPERATORS: readonly string[] = ['=', '!=', 'LIKE', 'ILIKE'];
const LIST_OPERATORS: readonly string[] = [...STRING_OPERATORS, 'IN', 'NOT IN'];

/** The operators that take a value, per entity kind; IS [NOT] NULL is reported separately. */
const VALUE_OPERATORS: Readonly<Record<SearchEntity['kind'], readonly string[]>> = {
  metric: NUMERIC_OPERATORS,
  numericAttribute: NUMERIC_OPERATORS,
  param: STRING_OPERATORS,
  tag: STRING_OPERATORS,
  attribute: LIST_OPERATORS,
  dataset: LIST_OPERATORS,
};

export const isNumericOperator = (op: ComparisonOperator): op is NumericOperator =>
  NUMERIC_OPERATORS.includes(op);
export const isStringOperator = (op: ComparisonOperator): op is StringOperator =>
  STRING_OPERATORS.includes(op);

export function parseOperator(lexer: Lexer, entity: SearchEntity): ParsedOperator {
  const token = lexer.next();
  const { start } = token;
  if (token.kind === 'operator') return { kind: 'compare', op: token.op, start };
  switch (token.kind === 'word' ? token.text.toUpperCase() : '') {
    case 'LIKE':
      return { kind: 'compare', op: 'LIKE', start };
    case 'ILIKE':
      return { kind: 'compare', op: 'ILIKE', start };
    case 'IN':
      return { kind: 'in', negated: false, start };
    case 'NOT':
      expectKeyword(lexer, 'IN', 'Expected IN after NOT');
      return { kind: 'in', negated: true, start };
    case 'IS': {
      const present = acceptKeyword(lexer, 'NOT');
      expectKeyword(
        lexer,
        'NULL',
        present ? 'Expected NULL after IS NOT' : 'Expected NULL or NOT NULL after IS',
      );
      return { kind: 'presence', present, start };
    }
  }
  const message = `Expected an operator after ${entityLabel(entity)}; got ${describeToken(lexer, token)}`;
  throw new SearchSyntaxError(message, start);
}

function operatorLabel(operator: ParsedOperator): string {
  switch (operator.kind) {
    case 'compare':
      return operator.op;
    case 'in':
      return operator.negated ? 'NOT IN' : 'IN';
    case 'presence':
      return operator.present ? 'IS NOT NULL' : 'IS NULL';
    default: {
      const _exhaustive: never = operator;
      return _exhaustive;
    }
  }
}

export function operatorNotAllowed(entity: SearchEntity, operator: ParsedOperator): SearchSyntaxError {
  const label = operatorLabel(operator);
  if (operator.kind === 'presence') {
    const message = `${label} is not allowed for ${entityLabel(entity)}; only metrics, params and tags can be tested for presence`;
    return new SearchSyntaxError(message, operator.start);
  }
  const allowed = VALUE_OPERATORS[entity.kind].join(', ');
  const message = `Operator '${label}' is not allowed for ${operatorSubject(entity)}; use one of ${allowed}`;
  return new SearchSyntaxError(message, operator.start);
}
