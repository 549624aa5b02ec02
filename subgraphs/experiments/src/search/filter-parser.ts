/**
 * A hand-written recursive-descent parser for MLflow's `search_runs` filter and order-by grammar,
 * extended with OR and parentheses. It only builds the AST of `filter-ast.ts`; nothing here touches SQL.
 * Tokens come from `filter-lexer.ts`, identifiers resolve in `filter-entities.ts` and operators are read
 * and checked in `filter-operators.ts`.
 *
 * Filter grammar (keywords are case-insensitive):
 *
 *   filter     := orExpr? END
 *   orExpr     := andExpr (OR andExpr)*
 *   andExpr    := primary (AND primary)*
 *   primary    := '(' orExpr ')' | comparison
 *   comparison := IDENTIFIER ( COMPARE value | IN list | NOT IN list | IS [NOT] NULL )
 *   list       := '(' STRING (',' STRING)* ')'
 *
 * IDENTIFIER and STRING are described in `filter-lexer.ts`.
 */
import type { Comparison, FilterExpression, OrderTerm, SearchEntity, SortDirection } from './filter-ast';
import { SearchSyntaxError } from './filter-ast';
import { entityLabel, resolveEntity, resolveOrderableEntity, resolvePrefix } from './filter-entities';
import { Lexer, acceptKeyword, describeToken, expectEnd } from './filter-lexer';
import type { ParsedOperator } from './filter-operators';
import { isNumericOperator, isStringOperator, operatorNotAllowed, parseOperator } from './filter-operators';

/** Longer filter or order-by text is rejected at position 0 before it is scanned. */
export const MAX_SEARCH_TEXT_LENGTH = 10_000;
/** A filter with more comparisons is rejected at the first comparison over the limit. */
export const MAX_FILTER_COMPARISONS = 100;
/** Deeper parentheses are rejected, so neither this parser nor the SQL compiler can overflow the stack. */
export const MAX_FILTER_NESTING = 50;

// ---------------------------------------------------------------------------------------------- parser

/** Parses one filter; counts comparisons and nesting so hostile input fails fast with a syntax error. */
class FilterParser {
  private comparisons = 0;
  private depth = 0;

  constructor(private readonly lexer: Lexer) {}

  parse(): FilterExpression | null {
    if (this.lexer.peek().kind === 'end') return null;
    const expression = this.parseOr();
    expectEnd(this.lexer);
    return expression;
  }

  private parseOr(): FilterExpression {
    const operands = [this.parseAnd()];
    while (acceptKeyword(this.lexer, 'OR')) operands.push(this.parseAnd());
    return combine('or', operands);
  }

  private parseAnd(): FilterExpression {
    const operands = [this.parsePrimary()];
    while (acceptKeyword(this.lexer, 'AND')) operands.push(this.parsePrimary());
    return combine('and', operands);
  }

  private parsePrimary(): FilterExpression {
    return this.lexer.peek().kind === 'lparen' ? this.parseGroup() : this.parseComparison();
  }

  private parseGroup(): FilterExpression {
    const open = this.lexer.next();
    if (++this.depth > MAX_FILTER_NESTING) {
      throw new SearchSyntaxError(`Parentheses may be nested at most ${MAX_FILTER_NESTING} deep`, open.start);
    }
    const inner = this.parseOr();
    this.depth--;
    const close = this.lexer.next();
    if (close.kind === 'rparen') return inner;
    const message = `Expected ')' to close the '(' at position ${open.start}; got ${describeToken(this.lexer, close)}`;
    throw new SearchSyntaxError(message, close.start);
  }

  private parseComparison(): Comparison {
    const token = this.lexer.next();
    if (token.kind !== 'identifier') {
      const message = `Expected a comparison such as metrics.rmse < 1; got ${describeToken(this.lexer, token)}`;
      throw new SearchSyntaxError(message, token.start);
    }
    if (++this.comparisons > MAX_FILTER_COMPARISONS) {
      const message = `A filter may contain at most ${MAX_FILTER_COMPARISONS} comparisons`;
      throw new SearchSyntaxError(message, token.start);
    }
    const entity = resolveEntity(token);
    return this.buildComparison(entity, parseOperator(this.lexer, entity), token.start);
  }

  private buildComparison(entity: SearchEntity, operator: ParsedOperator, position: number): Comparison {
    switch (entity.kind) {
      case 'metric':
      case 'param':
      case 'tag':
        if (operator.kind === 'presence') {
          return { type: 'presence', entity, present: operator.present, position };
        }
        return entity.kind === 'metric'
          ? this.numericComparison(entity, operator, position)
          : this.stringComparison(entity, operator, position);
      case 'attribute':
      case 'dataset':
        if (operator.kind === 'in') return this.inComparison(entity, operator.negated, position);
        return this.stringComparison(entity, operator, position);
      case 'numericAttribute':
        return this.numericComparison(entity, operator, position);
      default: {
        const _exhaustive: never = entity;
        return _exhaustive;
      }
    }
  }

  private numericComparison(
    entity: Extract<Comparison, { type: 'numeric' }>['entity'],
    operator: ParsedOperator,
    position: number,
  ): Comparison {
    if (operator.kind !== 'compare' || !isNumericOperator(operator.op)) {
      throw operatorNotAllowed(entity, operator);
    }
    const token = this.lexer.next();
    if (token.kind === 'number') {
      return { type: 'numeric', entity, op: operator.op, value: token.value, position };
    }
    throw new SearchSyntaxError(`Expected a numeric value for ${entityLabel(entity)}`, token.start);
  }

  private stringComparison(
    entity: Extract<Comparison, { type: 'string' }>['entity'],
    operator: ParsedOperator,
    position: number,
  ): Comparison {
    if (operator.kind !== 'compare' || !isStringOperator(operator.op)) {
      throw operatorNotAllowed(entity, operator);
    }
    const token = this.lexer.next();
    if (token.kind === 'string') {
      return { type: 'string', entity, op: operator.op, value: token.value, position };
    }
    throw new SearchSyntaxError(`Expected a quoted string value for ${entityLabel(entity)}`, token.start);
  }

  private inComparison(
    entity: Extract<Comparison, { type: 'in' }>['entity'],
    negated: boolean,
    position: number,
  ): Comparison {
    const keyword = negated ? 'NOT IN' : 'IN';
    const open = this.lexer.next();
    if (open.kind !== 'lparen') throw new SearchSyntaxError(`Expected '(' after ${keyword}`, open.start);
    return { type: 'in', entity, negated, values: this.parseList(entity, keyword), position };
  }

  private parseList(entity: SearchEntity, keyword: string): string[] {
    const values: string[] = [];
    for (;;) {
      const item = this.lexer.next();
      if (item.kind === 'rparen' && values.length === 0) {
        throw new SearchSyntaxError(
          `The ${keyword} list for ${entityLabel(entity)} must not be empty`,
          item.start,
        );
      }
      if (item.kind !== 'string') {
        const message = `Expected a quoted string in the ${keyword} list for ${entityLabel(entity)}`;
        throw new SearchSyntaxError(message, item.start);
      }
      values.push(item.value);
      const separator = this.lexer.next();
      if (separator.kind === 'rparen') return values;
      if (separator.kind !== 'comma') {
        throw new SearchSyntaxError(`Expected ',' or ')' in the ${keyword} list`, separator.start);
      }
    }
  }
}

/** One operand stays bare; nested operands of the same type are spliced in: `(a AND b) AND c` has three. */
function combine(type: 'and' | 'or', operands: readonly FilterExpression[]): FilterExpression {
  const [first] = operands;
  if (operands.length === 1 && first !== undefined) return first;
  return {
    type,
    operands: operands.flatMap((operand) => (operand.type === type ? operand.operands : [operand])),
  };
}

// ------------------------------------------------------------------------------------------ public API

function checkLength(text: string, what: string): void {
  if (text.length > MAX_SEARCH_TEXT_LENGTH) {
    const message = `${what} may be at most ${MAX_SEARCH_TEXT_LENGTH} characters long; got ${text.length}`;
    throw new SearchSyntaxError(message, 0);
  }
  // PostgreSQL text cannot hold NUL, and no key or value legitimately contains one.
  const nul = text.indexOf('\0');
  if (nul !== -1) throw new SearchSyntaxError('NUL characters are not allowed', nul);
}

/**
 * Parses a `search_runs` filter such as `metrics.rmse < 1 AND params.model = 'tree'`.
 * Returns null for empty or whitespace-only text (no filter). A single comparison is returned bare;
 * runs of AND or OR are flattened into one node. Throws `SearchSyntaxError` (with the 0-based offset of the
 * offending token) on any syntax error, disallowed operator, wrong value type, unknown attribute or
 * dataset field, text over 10,000 characters, more than 100 comparisons or parentheses over 50 deep.
 */
export function parseFilter(text: string): FilterExpression | null {
  checkLength(text, 'A filter');
  return new FilterParser(new Lexer(text)).parse();
}

/**
 * Parses one order-by term: an identifier with an optional, case-insensitive ASC or DESC (default ASC),
 * such as `metrics.rmse DESC` or ``params.`my key` asc``. Datasets are not orderable.
 * Throws `SearchSyntaxError` on an empty term, unknown prefix or attribute, bad direction or trailing input.
 */
export function parseOrderBy(text: string): OrderTerm {
  checkLength(text, 'An order-by term');
  const lexer = new Lexer(text);
  const token = lexer.next();
  if (token.kind !== 'identifier') {
    const message = `Expected an identifier such as metrics.rmse; got ${describeToken(lexer, token)}`;
    throw new SearchSyntaxError(message, token.start);
  }
  const prefix = resolvePrefix(token);
  if (prefix === 'dataset') {
    throw new SearchSyntaxError(
      'Datasets are not orderable; order by a metric, param, tag or attribute',
      token.start,
    );
  }
  const entity = resolveOrderableEntity(prefix, token);
  const direction = parseDirection(lexer, entity);
  expectEnd(lexer);
  return { entity, direction };
}

function parseDirection(lexer: Lexer, entity: SearchEntity): SortDirection {
  const token = lexer.peek();
  if (token.kind === 'end') return 'ASC';
  const word = token.kind === 'word' ? token.text.toUpperCase() : '';
  if (word === 'ASC' || word === 'DESC') {
    lexer.next();
    return word;
  }
  const message = `Expected ASC or DESC after ${entityLabel(entity)}; got ${describeToken(lexer, token)}`;
  throw new SearchSyntaxError(message, token.start);
}
