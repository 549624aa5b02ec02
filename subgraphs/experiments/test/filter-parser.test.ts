import type {
  Comparison,
  DatasetField,
  FilterExpression,
  NumericAttribute,
  SearchEntity,
  StringAttribute,
} from '../src/search/filter-ast';
import { SearchSyntaxError } from '../src/search/filter-ast';
import {
  MAX_FILTER_COMPARISONS,
  MAX_FILTER_NESTING,
  MAX_SEARCH_TEXT_LENGTH,
  parseFilter,
  parseOrderBy,
} from '../src/search/filter-parser';

const metric = (key: string) => ({ kind: 'metric', key }) as const;
const param = (key: string) => ({ kind: 'param', key }) as const;
const tag = (key: string) => ({ kind: 'tag', key }) as const;
const attribute = (name: StringAttribute) => ({ kind: 'attribute', name }) as const;
const numericAttribute = (name: NumericAttribute) => ({ kind: 'numericAttribute', name }) as const;
const dataset = (field: DatasetField) => ({ kind: 'dataset', field }) as const;

const PARAMS_OPERATORS = '=, !=, LIKE, ILIKE';
const NUMERIC_OPERATORS = '=, !=, <, <=, >, >=';
const LIST_OPERATORS = '=, !=, LIKE, ILIKE, IN, NOT IN';
const NON_ASCII = 'outside quoted strings and keys only ASCII characters are allowed';

function syntaxErrorFrom(run: () => unknown): SearchSyntaxError {
  try {
    run();
  } catch (error) {
    if (error instanceof SearchSyntaxError) return error;
    throw error;
  }
  throw new Error('Expected a SearchSyntaxError, but nothing was thrown');
}

/** Asserts the exact message (with the position suffix SearchSyntaxError appends) and the position. */
function expectError(run: () => unknown, message: string, position: number): void {
  const error = syntaxErrorFrom(run);
  expect({ message: error.message, position: error.position }).toEqual({
    message: `${message} (at position ${position})`,
    position,
  });
}

const expectFilterError = (text: string, message: string, position: number): void =>
  expectError(() => parseFilter(text), message, position);

const expectOrderByError = (text: string, message: string, position: number): void =>
  expectError(() => parseOrderBy(text), message, position);

/** Parses a filter that must be a single comparison. */
function parseComparison(text: string): Comparison {
  const expression = parseFilter(text);
  if (expression === null || expression.type === 'and' || expression.type === 'or') {
    throw new Error(`Expected a single comparison from ${text}`);
  }
  return expression;
}

const lt = (
  entity: Extract<SearchEntity, { kind: 'metric' }>,
  value: number,
  position: number,
): Comparison => ({
  type: 'numeric',
  entity,
  op: '<',
  value,
  position,
});

describe('parseFilter', () => {
  describe('empty input', () => {
    it.each(['', ' ', '   ', '\t\n\r '])('should return null for %j', (text) => {
      expect(parseFilter(text)).toBeNull();
    });
  });

  describe('single comparisons', () => {
    it('should return a single comparison bare, not wrapped in an and node', () => {
      expect(parseFilter('metrics.rmse < 1')).toEqual(lt(metric('rmse'), 1, 0));
    });

    it('should report the offset of the identifier as the position', () => {
      expect(parseFilter('   metrics.rmse < 1')).toEqual(lt(metric('rmse'), 1, 3));
    });

    it('should ignore surrounding and inner whitespace of every kind', () => {
      expect(parseFilter('\n\tmetrics.rmse\r\n<\t1 \n')).toEqual(lt(metric('rmse'), 1, 2));
    });

    it('should not need whitespace around operators', () => {
      expect(parseFilter('metrics.rmse<1')).toEqual(lt(metric('rmse'), 1, 0));
      expect(parseFilter("params.x='a'")).toEqual({
        type: 'string',
        entity: param('x'),
        op: '=',
        value: 'a',
        position: 0,
      });
    });
  });

  describe('metrics', () => {
    it.each(['=', '!=', '<', '<=', '>', '>='] as const)('should accept %s with a number', (op) => {
      expect(parseFilter(`metrics.rmse ${op} 0.5`)).toEqual({
        type: 'numeric',
        entity: metric('rmse'),
        op,
        value: 0.5,
        position: 0,
      });
    });

    it.each([
      ['LIKE', "'a'"],
      ['ILIKE', "'a'"],
      ['IN', "('a')"],
      ['NOT IN', "('a')"],
    ])('should reject %s naming the allowed operators', (op, value) => {
      expectFilterError(
        `metrics.rmse ${op} ${value}`,
        `Operator '${op}' is not allowed for metrics; use one of ${NUMERIC_OPERATORS}`,
        13,
      );
    });

    it('should parse IS NULL and IS NOT NULL as presence tests', () => {
      expect(parseFilter('metrics.rmse IS NULL')).toEqual({
        type: 'presence',
        entity: metric('rmse'),
        present: false,
        position: 0,
      });
      expect(parseFilter('metrics.rmse is not null')).toEqual({
        type: 'presence',
        entity: metric('rmse'),
        present: true,
        position: 0,
      });
    });

    it('should reject a string value, naming the metric', () => {
      expectFilterError("metrics.rmse < 'a'", 'Expected a numeric value for metrics.rmse', 15);
    });
  });

  describe.each([
    ['params', param],
    ['tags', tag],
  ] as const)('%s', (prefix, entityOf) => {
    it.each(['=', '!=', 'LIKE', 'ILIKE'] as const)('should accept %s with a string', (op) => {
      expect(parseFilter(`${prefix}.model ${op} 'tree%'`)).toEqual({
        type: 'string',
        entity: entityOf('model'),
        op,
        value: 'tree%',
        position: 0,
      });
    });

    it('should accept LIKE and ILIKE in any case, normalised to upper case', () => {
      expect(parseComparison(`${prefix}.model like 'a'`)).toMatchObject({ op: 'LIKE' });
      expect(parseComparison(`${prefix}.model iLike 'a'`)).toMatchObject({ op: 'ILIKE' });
    });

    it.each([
      ['<', "'a'"],
      ['<=', "'a'"],
      ['>', "'a'"],
      ['>=', "'a'"],
      ['IN', "('a')"],
      ['NOT IN', "('a')"],
    ])('should reject %s naming the allowed operators', (op, value) => {
      const text = `${prefix}.model ${op} ${value}`;
      const message = `Operator '${op}' is not allowed for ${prefix}; use one of ${PARAMS_OPERATORS}`;
      expectFilterError(text, message, prefix.length + 7);
    });

    it('should parse IS NULL and IS NOT NULL as presence tests', () => {
      expect(parseFilter(`${prefix}.model IS NULL`)).toEqual({
        type: 'presence',
        entity: entityOf('model'),
        present: false,
        position: 0,
      });
      expect(parseFilter(`${prefix}.model IS NOT NULL`)).toEqual({
        type: 'presence',
        entity: entityOf('model'),
        present: true,
        position: 0,
      });
    });

    it('should reject a number value, naming the key', () => {
      expectFilterError(
        `${prefix}.model = 1`,
        `Expected a quoted string value for ${prefix}.model`,
        prefix.length + 9,
      );
    });
  });

  describe('string attributes', () => {
    it.each([
      ['run_id', 'run_id'],
      ['id', 'run_id'],
      ['run_name', 'run_name'],
      ['name', 'run_name'],
      ['status', 'status'],
      ['lifecycle_stage', 'lifecycle_stage'],
    ] as const)('should resolve attributes.%s to %s', (written, name) => {
      expect(parseComparison(`attributes.${written} = 'x'`).entity).toEqual(attribute(name));
    });

    it.each(['=', '!=', 'LIKE', 'ILIKE'] as const)('should accept %s with a string', (op) => {
      expect(parseFilter(`attributes.run_name ${op} 'exp-%'`)).toEqual({
        type: 'string',
        entity: attribute('run_name'),
        op,
        value: 'exp-%',
        position: 0,
      });
    });

    it('should parse IN with a list of strings', () => {
      expect(parseFilter("attributes.status IN ('RUNNING', 'FINISHED')")).toEqual({
        type: 'in',
        entity: attribute('status'),
        negated: false,
        values: ['RUNNING', 'FINISHED'],
        position: 0,
      });
    });

    it('should parse NOT IN, in any case and spacing, with a single-item list', () => {
      expect(parseFilter("attributes.status not In('FAILED')")).toEqual({
        type: 'in',
        entity: attribute('status'),
        negated: true,
        values: ['FAILED'],
        position: 0,
      });
    });

    it('should keep list items exactly, including escaped quotes, commas and parentheses', () => {
      expect(parseComparison("attributes.run_name IN ('a''b', \"c,d\", ')')")).toMatchObject({
        values: ["a'b", 'c,d', ')'],
      });
    });

    it.each(['<', '<=', '>', '>='])('should reject %s naming the allowed operators', (op) => {
      expectFilterError(
        `attributes.status ${op} 'a'`,
        `Operator '${op}' is not allowed for attributes.status; use one of ${LIST_OPERATORS}`,
        18,
      );
    });

    it.each(['IS NULL', 'IS NOT NULL'])('should reject %s', (op) => {
      expectFilterError(
        `attributes.status ${op}`,
        `${op} is not allowed for attributes.status; only metrics, params and tags can be tested for presence`,
        18,
      );
    });

    it('should reject a number value, naming the attribute', () => {
      expectFilterError('attributes.run_id = 1', 'Expected a quoted string value for attributes.run_id', 20);
    });
  });

  describe('numeric attributes', () => {
    it.each([
      ['start_time', 'start_time'],
      ['created', 'start_time'],
      ['end_time', 'end_time'],
    ] as const)('should resolve attributes.%s to %s', (written, name) => {
      expect(parseComparison(`attributes.${written} > 0`).entity).toEqual(numericAttribute(name));
    });

    it.each(['=', '!=', '<', '<=', '>', '>='] as const)('should accept %s with a number', (op) => {
      expect(parseFilter(`attributes.start_time ${op} 1700000000000`)).toEqual({
        type: 'numeric',
        entity: numericAttribute('start_time'),
        op,
        value: 1_700_000_000_000,
        position: 0,
      });
    });

    it.each([
      ['LIKE', "'1%'"],
      ['ILIKE', "'1%'"],
      ['IN', "('1')"],
      ['NOT IN', "('1')"],
    ])('should reject %s naming the allowed operators', (op, value) => {
      expectFilterError(
        `attributes.start_time ${op} ${value}`,
        `Operator '${op}' is not allowed for attributes.start_time; use one of ${NUMERIC_OPERATORS}`,
        22,
      );
    });

    it('should reject IS NULL', () => {
      expectFilterError(
        'attributes.end_time IS NULL',
        'IS NULL is not allowed for attributes.end_time; only metrics, params and tags can be tested for presence',
        20,
      );
    });

    it('should reject a string value, naming the canonical attribute', () => {
      expectFilterError("attributes.created > '1'", 'Expected a numeric value for attributes.start_time', 21);
    });
  });

  describe('datasets', () => {
    it.each(['name', 'digest', 'context'] as const)('should accept datasets.%s', (field) => {
      expect(parseFilter(`datasets.${field} = 'x'`)).toEqual({
        type: 'string',
        entity: dataset(field),
        op: '=',
        value: 'x',
        position: 0,
      });
    });

    it.each(['=', '!=', 'LIKE', 'ILIKE'] as const)('should accept %s with a string', (op) => {
      expect(parseComparison(`datasets.digest ${op} 'ab%'`)).toMatchObject({ type: 'string', op });
    });

    it('should accept IN and NOT IN lists', () => {
      expect(parseFilter("datasets.context IN ('train', 'eval')")).toEqual({
        type: 'in',
        entity: dataset('context'),
        negated: false,
        values: ['train', 'eval'],
        position: 0,
      });
      expect(parseComparison("datasets.context NOT IN ('test')")).toMatchObject({ negated: true });
    });

    it.each(['<', '<=', '>', '>='])('should reject %s naming the allowed operators', (op) => {
      expectFilterError(
        `datasets.name ${op} 'a'`,
        `Operator '${op}' is not allowed for datasets; use one of ${LIST_OPERATORS}`,
        14,
      );
    });

    it('should reject IS NULL', () => {
      expectFilterError(
        'datasets.name IS NULL',
        'IS NULL is not allowed for datasets.name; only metrics, params and tags can be tested for presence',
        14,
      );
    });

    it('should reject an unknown field, listing the known ones', () => {
      expectFilterError(
        "datasets.foo = 'a'",
        "Unknown dataset field 'foo'; expected one of name, digest, context",
        0,
      );
    });

    it('should reject a number value', () => {
      expectFilterError('datasets.name = 1', 'Expected a quoted string value for datasets.name', 16);
    });
  });

  describe('identifier prefixes', () => {
    it.each([
      ['metric', metric('x')],
      ['metrics', metric('x')],
      ['METRICS', metric('x')],
      ['param', param('x')],
      ['params', param('x')],
      ['parameter', param('x')],
      ['Parameters', param('x')],
      ['tag', tag('x')],
      ['tags', tag('x')],
    ] as const)('should resolve %s.x', (prefix, entity) => {
      expect(parseComparison(`${prefix}.x IS NULL`).entity).toEqual(entity);
    });

    it.each(['attribute', 'attributes', 'attr', 'run', 'RUN', 'Attributes'])(
      'should resolve %s.status to the status attribute',
      (prefix) => {
        expect(parseComparison(`${prefix}.status = 'FINISHED'`).entity).toEqual(attribute('status'));
      },
    );

    it.each(['dataset', 'datasets', 'DATASETS'])('should resolve %s.name to the dataset name', (prefix) => {
      expect(parseComparison(`${prefix}.name = 'iris'`).entity).toEqual(dataset('name'));
    });

    it('should reject an unknown prefix, listing the known ones', () => {
      expectFilterError(
        "foo.bar = 'a'",
        "Unknown identifier prefix 'foo'; expected one of metrics, params, tags, attributes, datasets",
        0,
      );
    });

    it('should reject an unknown attribute, listing the known ones', () => {
      expectFilterError(
        "attributes.foo = 'a'",
        "Unknown attribute 'foo'; expected one of run_id, run_name, status, lifecycle_stage, start_time, end_time",
        0,
      );
    });

    it('should match attribute names case-sensitively, as MLflow does', () => {
      expectFilterError(
        "attributes.Status = 'a'",
        "Unknown attribute 'Status'; expected one of run_id, run_name, status, lifecycle_stage, start_time, end_time",
        0,
      );
    });

    it('should reject a bare word that is not an identifier', () => {
      expectFilterError('rmse < 1', "Expected a comparison such as metrics.rmse < 1; got 'rmse'", 0);
    });

    // Regression guard: lookups through plain objects would resolve these via Object.prototype.
    it.each([
      ["attributes.constructor = 'x'", "Unknown attribute 'constructor'; expected one of"],
      ["attributes.toString = 'x'", "Unknown attribute 'toString'; expected one of"],
      ["datasets.hasOwnProperty = 'x'", "Unknown dataset field 'hasOwnProperty'; expected one of"],
      ["constructor.x = 'x'", "Unknown identifier prefix 'constructor'; expected one of"],
      ["toString.x = 'x'", "Unknown identifier prefix 'toString'; expected one of"],
    ])('should not resolve prototype property names: %s', (text, message) => {
      expect(syntaxErrorFrom(() => parseFilter(text)).message).toContain(message);
    });
  });

  describe('keys', () => {
    it('should split only on the first dot, as MLflow does', () => {
      expect(parseComparison('metrics.train.loss < 1').entity).toEqual(metric('train.loss'));
    });

    it('should accept letters, digits, _, -, ., / and : in bare keys', () => {
      expect(parseComparison('tags.mlflow.source:git/sha-1_x IS NULL').entity).toEqual(
        tag('mlflow.source:git/sha-1_x'),
      );
    });

    it('should accept backtick-quoted keys with spaces and punctuation', () => {
      expect(parseFilter('metrics.`my metric (val)` >= 2')).toEqual({
        type: 'numeric',
        entity: metric('my metric (val)'),
        op: '>=',
        value: 2,
        position: 0,
      });
    });

    it('should accept double-quoted keys', () => {
      expect(parseComparison('params."a b" = \'c\'')).toEqual({
        type: 'string',
        entity: param('a b'),
        op: '=',
        value: 'c',
        position: 0,
      });
    });

    it('should accept quoted attribute and dataset names', () => {
      expect(parseComparison('attributes.`start_time` > 0').entity).toEqual(numericAttribute('start_time'));
      expect(parseComparison('datasets."digest" = \'x\'').entity).toEqual(dataset('digest'));
    });

    it('should quote a key that needs quoting when naming it in a message', () => {
      expectFilterError('params.`my key` = 1', 'Expected a quoted string value for params.`my key`', 18);
    });

    it('should reject a prefix without a key', () => {
      expectFilterError('metrics. < 1', "Missing key after 'metrics.'", 8);
    });

    it('should reject an unterminated quoted key', () => {
      expectFilterError('metrics.`rmse < 1', 'Unterminated quoted key', 8);
      expectFilterError('metrics."rmse < 1', 'Unterminated quoted key', 8);
    });

    it('should reject an empty quoted key', () => {
      expectFilterError('metrics.`` < 1', 'Quoted key must not be empty', 8);
    });

    it('should reject a backtick that does not quote a key', () => {
      expectFilterError('`rmse` < 1', "Unexpected '`'; backticks only quote a key, as in params.`my key`", 0);
    });

    it('should not treat a doubled quote inside a quoted key as an escape', () => {
      expectFilterError(
        'params."a""b" = \'x\'',
        'Expected an operator after params.a; got a quoted string',
        10,
      );
    });
  });

  describe('string values', () => {
    it.each([
      ["'tree'", 'tree'],
      ['"tree"', 'tree'],
      ["''", ''],
      ["'it''s'", "it's"],
      ['"say ""hi"""', 'say "hi"'],
      ['"it\'s"', "it's"],
      ['\'say "hi"\'', 'say "hi"'],
      ["'a\\'", 'a\\'],
      ["'a\\nb'", 'a\\nb'],
      ["'  spaced  '", '  spaced  '],
      ["'ünïcødé ✓ 🚀'", 'ünïcødé ✓ 🚀'],
      ["'line\nbreak'", 'line\nbreak'],
    ])('should read %s as %j', (literal, value) => {
      expect(parseComparison(`params.x = ${literal}`)).toMatchObject({ value });
    });

    it('should reject an unterminated string at its opening quote', () => {
      expectFilterError("metrics.rmse < 1 AND params.x = 'a", 'Unterminated string', 32);
      expectFilterError('params.x = "a', 'Unterminated string', 11);
      expectFilterError("params.x = 'it''", 'Unterminated string', 11);
    });

    it('should reject a bare word where a string is required', () => {
      expectFilterError('params.x = abc', 'Expected a quoted string value for params.x', 11);
      expectFilterError('params.x = NULL', 'Expected a quoted string value for params.x', 11);
    });
  });

  describe('numeric values', () => {
    it.each([
      ['1', 1],
      ['42', 42],
      ['-1', -1],
      ['-0.5', -0.5],
      ['0.5', 0.5],
      ['.5', 0.5],
      ['-.5', -0.5],
      ['1.', 1],
      ['1e-3', 0.001],
      ['1E3', 1000],
      ['2.5e+2', 250],
      ['-1.5E-2', -0.015],
      ['-0', 0],
    ])('should read %s as %d', (literal, value) => {
      expect(parseComparison(`metrics.x < ${literal}`)).toMatchObject({ value });
    });

    it('should normalise -0 to 0', () => {
      const comparison = parseComparison('metrics.x = -0');
      expect(comparison.type === 'numeric' && Object.is(comparison.value, 0)).toBe(true);
    });

    it('should read a negative number directly after an operator', () => {
      expect(parseComparison('metrics.x>=-1')).toMatchObject({ op: '>=', value: -1 });
    });

    it.each([
      ['1e', 'Invalid number', '1e'],
      ['1.2.3', 'Invalid number', '1.2.3'],
      ['0x10', 'Invalid number', '0x10'],
      ['12abc', 'Invalid number', '12abc'],
      ['1_000', 'Invalid number', '1_000'],
    ])('should reject %s', (literal, what, shown) => {
      expectFilterError(`metrics.x < ${literal}`, `${what} '${shown}'`, 12);
    });

    it('should reject a number too large for a double', () => {
      expectFilterError('metrics.x < 1e999', "Number '1e999' is out of range", 12);
    });

    it('should reject a sign separated from its digits', () => {
      expectFilterError('metrics.x < - 1', "Unexpected character '-'", 12);
    });

    it('should reject a lone dot', () => {
      expectFilterError('metrics.x < .', "Unexpected character '.'", 12);
    });

    it('should reject words that are not numbers', () => {
      expectFilterError('metrics.x < Infinity', 'Expected a numeric value for metrics.x', 12);
      expectFilterError('metrics.x < NaN', 'Expected a numeric value for metrics.x', 12);
    });
  });

  describe('operators', () => {
    it('should reject a missing operator', () => {
      expectFilterError('metrics.rmse', 'Expected an operator after metrics.rmse; got end of input', 12);
      expectFilterError('metrics.rmse 1', "Expected an operator after metrics.rmse; got '1'", 13);
    });

    it('should reject == and <> as a value in the wrong place', () => {
      expectFilterError('metrics.x == 1', 'Expected a numeric value for metrics.x', 11);
      expectFilterError('metrics.x <> 1', 'Expected a numeric value for metrics.x', 11);
    });

    it('should reject ! without =', () => {
      expectFilterError('metrics.x ! 1', "Unexpected character '!'", 10);
    });

    it('should reject NOT that is not followed by IN', () => {
      expectFilterError("attributes.status NOT LIKE 'a'", 'Expected IN after NOT', 22);
    });

    it('should reject IS that is not followed by NULL or NOT NULL', () => {
      expectFilterError('metrics.x IS 1', 'Expected NULL or NOT NULL after IS', 13);
      expectFilterError('metrics.x IS NOT', 'Expected NULL after IS NOT', 16);
      expectFilterError("metrics.x IS NOT 'a'", 'Expected NULL after IS NOT', 17);
    });
  });

  describe('IN lists', () => {
    it('should reject an empty list', () => {
      expectFilterError('attributes.status IN ()', 'The IN list for attributes.status must not be empty', 22);
      expectFilterError('datasets.name NOT IN ()', 'The NOT IN list for datasets.name must not be empty', 22);
    });

    it('should reject a trailing comma', () => {
      expectFilterError(
        "attributes.status IN ('a',)",
        'Expected a quoted string in the IN list for attributes.status',
        26,
      );
    });

    it('should reject a number in the list', () => {
      expectFilterError(
        'attributes.status IN (1)',
        'Expected a quoted string in the IN list for attributes.status',
        22,
      );
    });

    it('should reject a missing comma', () => {
      expectFilterError("attributes.status IN ('a' 'b')", "Expected ',' or ')' in the IN list", 26);
    });

    it('should reject an unclosed list', () => {
      expectFilterError("attributes.status IN ('a'", "Expected ',' or ')' in the IN list", 25);
    });

    it('should reject a list without parentheses', () => {
      expectFilterError("attributes.status IN 'a'", "Expected '(' after IN", 21);
      expectFilterError("attributes.status NOT IN 'a'", "Expected '(' after NOT IN", 25);
    });
  });

  describe('AND, OR and parentheses', () => {
    const a = lt(metric('a'), 1, 0);

    it('should combine AND operands into one node', () => {
      expect(parseFilter('metrics.a < 1 AND metrics.b < 2 AND metrics.c < 3')).toEqual({
        type: 'and',
        operands: [a, lt(metric('b'), 2, 18), lt(metric('c'), 3, 36)],
      });
    });

    it('should bind AND tighter than OR', () => {
      expect(parseFilter('metrics.a < 1 OR metrics.b < 2 AND metrics.c < 3')).toEqual({
        type: 'or',
        operands: [a, { type: 'and', operands: [lt(metric('b'), 2, 17), lt(metric('c'), 3, 35)] }],
      });
      expect(parseFilter('metrics.a < 1 AND metrics.b < 2 OR metrics.c < 3')).toEqual({
        type: 'or',
        operands: [{ type: 'and', operands: [a, lt(metric('b'), 2, 18)] }, lt(metric('c'), 3, 35)],
      });
    });

    it('should let parentheses override precedence', () => {
      expect(parseFilter('metrics.a < 1 AND (metrics.b < 2 OR metrics.c < 3)')).toEqual({
        type: 'and',
        operands: [a, { type: 'or', operands: [lt(metric('b'), 2, 19), lt(metric('c'), 3, 36)] }],
      });
    });

    it('should flatten parenthesised groups of the same type', () => {
      expect(parseFilter('(metrics.a < 1 AND metrics.b < 2) AND (metrics.c < 3 AND metrics.d < 4)')).toEqual({
        type: 'and',
        operands: [
          lt(metric('a'), 1, 1),
          lt(metric('b'), 2, 19),
          lt(metric('c'), 3, 39),
          lt(metric('d'), 4, 57),
        ],
      });
      expect(parseFilter('metrics.a < 1 OR (metrics.b < 2 OR (metrics.c < 3))')).toEqual({
        type: 'or',
        operands: [a, lt(metric('b'), 2, 18), lt(metric('c'), 3, 36)],
      });
    });

    it('should not flatten groups of the other type', () => {
      const expression = parseFilter('(metrics.a < 1 OR metrics.b < 2) AND metrics.c < 3');
      expect(expression).toEqual({
        type: 'and',
        operands: [
          { type: 'or', operands: [lt(metric('a'), 1, 1), lt(metric('b'), 2, 18)] },
          lt(metric('c'), 3, 37),
        ],
      });
    });

    it('should unwrap redundant parentheses around a single comparison', () => {
      expect(parseFilter('((( metrics.a < 1 )))')).toEqual(lt(metric('a'), 1, 4));
    });

    it('should accept keywords in any case', () => {
      const expected: FilterExpression = {
        type: 'or',
        operands: [{ type: 'and', operands: [a, lt(metric('b'), 2, 18)] }, lt(metric('c'), 3, 35)],
      };
      expect(parseFilter('metrics.a < 1 and metrics.b < 2 or metrics.c < 3')).toEqual(expected);
      expect(parseFilter('metrics.a < 1 AnD metrics.b < 2 oR metrics.c < 3')).toEqual(expected);
    });

    it('should accept parentheses without surrounding whitespace', () => {
      expect(parseFilter("(metrics.a<1)AND(params.b='x')")).toEqual({
        type: 'and',
        operands: [
          lt(metric('a'), 1, 1),
          { type: 'string', entity: param('b'), op: '=', value: 'x', position: 17 },
        ],
      });
    });

    it('should report each comparison at its identifier inside nested groups', () => {
      const expression = parseFilter("metrics.a < 1 AND (params.b = 'x' OR tags.c != 'y')");
      expect(expression).toMatchObject({
        operands: [{ position: 0 }, { operands: [{ position: 19 }, { position: 37 }] }],
      });
    });

    it('should reject a dangling AND or OR', () => {
      expectFilterError(
        'metrics.a < 1 AND',
        'Expected a comparison such as metrics.rmse < 1; got end of input',
        17,
      );
      expectFilterError(
        'metrics.a < 1 OR',
        'Expected a comparison such as metrics.rmse < 1; got end of input',
        16,
      );
      expectFilterError('AND metrics.a < 1', "Expected a comparison such as metrics.rmse < 1; got 'AND'", 0);
      expectFilterError(
        'metrics.a < 1 AND AND metrics.b < 2',
        "Expected a comparison such as metrics.rmse < 1; got 'AND'",
        18,
      );
    });

    it('should reject empty parentheses', () => {
      expectFilterError('()', "Expected a comparison such as metrics.rmse < 1; got ')'", 1);
    });

    it('should reject an unclosed parenthesis where the ) was expected', () => {
      expectFilterError(
        '(metrics.a < 1',
        "Expected ')' to close the '(' at position 0; got end of input",
        14,
      );
      expectFilterError(
        'metrics.a < 1 AND ((metrics.b < 2) metrics.c < 3',
        "Expected ')' to close the '(' at position 18; got 'metrics.c'",
        35,
      );
    });

    it('should reject trailing input', () => {
      expectFilterError('metrics.a < 1)', 'Unexpected trailing input', 13);
      expectFilterError('metrics.a < 1 metrics.b < 2', 'Unexpected trailing input', 14);
      expectFilterError("params.a = 'x' 'y'", 'Unexpected trailing input', 15);
      expectFilterError('metrics.a < 1 ,', 'Unexpected trailing input', 14);
    });
  });

  describe('limits', () => {
    const longFilter = (length: number): string => `params.x = '${'a'.repeat(length - 13)}'`;

    it(`should accept a filter of exactly ${MAX_SEARCH_TEXT_LENGTH} characters`, () => {
      const text = longFilter(MAX_SEARCH_TEXT_LENGTH);
      expect(text).toHaveLength(10_000);
      expect(parseComparison(text)).toMatchObject({ type: 'string' });
    });

    it('should reject a longer filter at position 0', () => {
      expectFilterError(
        longFilter(MAX_SEARCH_TEXT_LENGTH + 1),
        'A filter may be at most 10000 characters long; got 10001',
        0,
      );
    });

    const comparisons = (count: number): string =>
      Array.from({ length: count }, (_, i) => `metrics.m${i} < ${i}`).join(' AND ');

    it(`should accept ${MAX_FILTER_COMPARISONS} comparisons`, () => {
      const expression = parseFilter(comparisons(100));
      expect(expression?.type === 'and' && expression.operands).toHaveLength(100);
    });

    it('should reject the 101st comparison at its position', () => {
      const text = comparisons(101);
      expectFilterError(text, 'A filter may contain at most 100 comparisons', text.indexOf('metrics.m100 '));
    });

    const nested = (depth: number): string => `${'('.repeat(depth)}metrics.a < 1${')'.repeat(depth)}`;

    it(`should accept parentheses nested ${MAX_FILTER_NESTING} deep`, () => {
      expect(parseFilter(nested(50))).toEqual(lt(metric('a'), 1, 50));
    });

    it('should reject deeper nesting at the first ( over the limit', () => {
      expectFilterError(nested(51), 'Parentheses may be nested at most 50 deep', 50);
    });

    it('should fail with a syntax error, not a stack overflow, on thousands of parentheses', () => {
      expectFilterError('('.repeat(9_999), 'Parentheses may be nested at most 50 deep', 50);
    });
  });

  describe('injection and hostile input', () => {
    it('should keep SQL inside quotes as a literal value', () => {
      expect(parseFilter("params.model = 'tree; DROP TABLE runs; --'")).toEqual({
        type: 'string',
        entity: param('model'),
        op: '=',
        value: 'tree; DROP TABLE runs; --',
        position: 0,
      });
    });

    it('should reject SQL after a closed string at the ;', () => {
      expectFilterError("params.model = 'tree'; DROP TABLE runs; --'", "Unexpected character ';'", 21);
      expectFilterError("params.model = 'tree'; DROP TABLE runs", "Unexpected character ';'", 21);
    });

    it('should reject SQL comments', () => {
      expectFilterError('metrics.rmse < 1 -- comment', 'SQL comments are not allowed', 17);
      expectFilterError('/* */', 'SQL comments are not allowed', 0);
      expectFilterError('metrics.rmse /* x */ < 1', 'SQL comments are not allowed', 13);
      expectFilterError('metrics.rmse < 1 /* x */', 'SQL comments are not allowed', 17);
    });

    it('should read doubled quotes as escaped quotes inside one literal', () => {
      expect(parseFilter("params.x = 'a'' OR ''1''=''1'")).toEqual({
        type: 'string',
        entity: param('x'),
        op: '=',
        value: "a' OR '1'='1",
        position: 0,
      });
      expect(parseComparison('params.x = "a"" OR ""1""=""1"')).toMatchObject({ value: 'a" OR "1"="1' });
    });

    it('should reject a classic tautology outside quotes', () => {
      expectFilterError(
        "params.x = 'a' OR '1'='1'",
        'Expected a comparison such as metrics.rmse < 1; got a quoted string',
        18,
      );
    });

    it('should not let a backslash escape the closing quote', () => {
      expectFilterError(
        "params.x = 'a\\' OR 1=1 --'",
        "Expected a comparison such as metrics.rmse < 1; got '1'",
        19,
      );
    });

    it.each([
      ['U+2019 right single quotation mark', 'params.x = \u2019a\u2019', '\u2019', 'U+2019', 11],
      ['U+2018 left single quotation mark', 'params.x = \u2018a\u2019', '\u2018', 'U+2018', 11],
      ['U+FF07 fullwidth apostrophe', 'params.x = \uFF07a\uFF07', '\uFF07', 'U+FF07', 11],
      ['U+201C left double quotation mark', 'params.x = \u201Ca\u201D', '\u201C', 'U+201C', 11],
      ['U+FF1D fullwidth equals sign', "params.x \uFF1D 'a'", '\uFF1D', 'U+FF1D', 9],
      ['U+FF1C fullwidth less-than sign', 'metrics.x \uFF1C 1', '\uFF1C', 'U+FF1C', 10],
      ['U+00A0 no-break space', "params.x\u00A0= 'a'", '\u00A0', 'U+00A0', 8],
    ])('should not treat %s as syntax', (_name, text, char, hex, position) => {
      expectFilterError(text, `Unexpected character '${char}' (${hex}); ${NON_ASCII}`, position);
    });

    it('should keep look-alike quotes inside a real string as literal characters', () => {
      expect(parseComparison("params.x = 'it\u2019s \uFF07\uFF1D\uFF07'")).toMatchObject({
        value: 'it\u2019s \uFF07\uFF1D\uFF07',
      });
    });

    it('should treat quotes and semicolons inside a backtick-quoted key as part of the key', () => {
      expect(parseFilter("params.`a'; DROP TABLE runs; --` = 'x'")).toEqual({
        type: 'string',
        entity: param("a'; DROP TABLE runs; --"),
        op: '=',
        value: 'x',
        position: 0,
      });
      expect(parseComparison('tags."it\'s;" IS NULL').entity).toEqual(tag("it's;"));
    });

    it.each([
      ['in a value', "params.x = 'a\u0000b'", 13],
      ['in a quoted key', "params.`a\u0000` = 'b'", 9],
      ['between tokens', "params.x\u0000= 'b'", 8],
      ['at the start', "\u0000params.x = 'b'", 0],
    ])('should reject a NUL character %s', (_where, text, position) => {
      expectFilterError(text, 'NUL characters are not allowed', position);
    });

    it('should name other control characters by code point', () => {
      expectFilterError('metrics.x\u0001< 1', 'Unexpected character U+0001', 9);
      expectFilterError('metrics.x <\u001b1', 'Unexpected character U+001B', 11);
    });

    it.each([
      [';', 'metrics.x < 1;', 13],
      ['#', 'metrics.x < 1 # c', 14],
      ['*', 'metrics.x * 1', 10],
      ['+', 'metrics.x < +1', 12],
      ['|', "params.x = 'a' || 'b'", 15],
      ['@', 'metrics.x < @p', 12],
      ['$', 'metrics.x < $1', 12],
      ['?', 'metrics.x < ?', 12],
    ])('should reject %s outside quotes', (char, text, position) => {
      expectFilterError(text, `Unexpected character '${char}'`, position);
    });

    it('should truncate long offending text in messages', () => {
      const key = 'k'.repeat(500);
      const error = syntaxErrorFrom(() => parseFilter(`params.${key} = 1`));
      expect(error.message).toBe(
        `Expected a quoted string value for params.${'k'.repeat(40)}… (at position 510)`,
      );
    });
  });
});

describe('parseOrderBy', () => {
  it.each([
    ['metrics.rmse DESC', { entity: metric('rmse'), direction: 'DESC' }],
    ['metrics.rmse', { entity: metric('rmse'), direction: 'ASC' }],
    ['metrics.rmse asc', { entity: metric('rmse'), direction: 'ASC' }],
    ['metrics.rmse Desc', { entity: metric('rmse'), direction: 'DESC' }],
    ['metrics.train.loss DESC', { entity: metric('train.loss'), direction: 'DESC' }],
    ['attributes.start_time', { entity: numericAttribute('start_time'), direction: 'ASC' }],
    ['run.created DESC', { entity: numericAttribute('start_time'), direction: 'DESC' }],
    ['attr.name', { entity: attribute('run_name'), direction: 'ASC' }],
    ['attributes.status desc', { entity: attribute('status'), direction: 'DESC' }],
    ['params.`my key` asc', { entity: param('my key'), direction: 'ASC' }],
    ['parameters.lr', { entity: param('lr'), direction: 'ASC' }],
    ['tags."a b" DESC', { entity: tag('a b'), direction: 'DESC' }],
    ['  \tmetrics.rmse \n DESC  ', { entity: metric('rmse'), direction: 'DESC' }],
  ])('should parse %j', (text, term) => {
    expect(parseOrderBy(text)).toEqual(term);
  });

  it('should reject empty input', () => {
    expectOrderByError('', 'Expected an identifier such as metrics.rmse; got end of input', 0);
    expectOrderByError('   ', 'Expected an identifier such as metrics.rmse; got end of input', 3);
  });

  it('should reject an unknown prefix', () => {
    expectOrderByError(
      'foo.rmse',
      "Unknown identifier prefix 'foo'; expected one of metrics, params, tags, attributes, datasets",
      0,
    );
  });

  it('should reject an unknown attribute', () => {
    expectOrderByError(
      'attributes.foo DESC',
      "Unknown attribute 'foo'; expected one of run_id, run_name, status, lifecycle_stage, start_time, end_time",
      0,
    );
  });

  it.each(['datasets.name', 'dataset.digest DESC', 'datasets.foo'])(
    'should reject %j because datasets are not orderable',
    (text) => {
      expectOrderByError(text, 'Datasets are not orderable; order by a metric, param, tag or attribute', 0);
    },
  );

  it('should reject a bad direction', () => {
    expectOrderByError('metrics.rmse DOWN', "Expected ASC or DESC after metrics.rmse; got 'DOWN'", 13);
    expectOrderByError('metrics.rmse < 1', "Expected ASC or DESC after metrics.rmse; got '<'", 13);
    expectOrderByError('params.`a b` 1', "Expected ASC or DESC after params.`a b`; got '1'", 13);
  });

  it('should reject trailing input', () => {
    expectOrderByError('metrics.rmse DESC ASC', 'Unexpected trailing input', 18);
    expectOrderByError('metrics.rmse DESC, params.x', 'Unexpected trailing input', 17);
  });

  it('should reject a second term without a direction', () => {
    expectOrderByError('metrics.rmse, params.x', "Expected ASC or DESC after metrics.rmse; got ','", 12);
  });

  it('should reject a bare word, a string and injected SQL', () => {
    expectOrderByError('rmse', "Expected an identifier such as metrics.rmse; got 'rmse'", 0);
    expectOrderByError(
      "'metrics.rmse'",
      'Expected an identifier such as metrics.rmse; got a quoted string',
      0,
    );
    expectOrderByError('metrics.rmse DESC; DROP TABLE runs', "Unexpected character ';'", 17);
    expectOrderByError('metrics.rmse -- x', 'SQL comments are not allowed', 13);
    expectOrderByError('metrics.rmse\u0000', 'NUL characters are not allowed', 12);
  });

  it('should reject text over the length limit at position 0', () => {
    expectOrderByError(
      `params.${'k'.repeat(MAX_SEARCH_TEXT_LENGTH)}`,
      'An order-by term may be at most 10000 characters long; got 10007',
      0,
    );
  });
});
