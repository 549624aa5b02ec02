import type { Comparison, FilterExpression, OrderTerm, SearchEntity } from './filter-ast';
import type { KeysetPosition } from '@mlops/runtime';
import type { SqlDialect, SqlFragment } from '@mlops/runtime/database';

const fragment = (sql: string, bindings: readonly unknown[] = []): SqlFragment => ({ sql, bindings });

function join(parts: readonly SqlFragment[], separator: string): SqlFragment {
  return fragment(
    parts.map((p) => p.sql).join(separator),
    parts.flatMap((p) => p.bindings),
  );
}

const ATTRIBUTE_COLUMNS = {
  run_id: 'r.id',
  run_name: 'r.name',
  status: 'r.status',
  lifecycle_stage: 'r.lifecycle_stage',
  start_time: 'r.start_time',
  end_time: 'r.end_time',
} as const;

const KEYED_TABLES = { metric: 'latest_metrics', param: 'params', tag: 'run_tags' } as const;

/**
 * Compiles a filter to a boolean SQL expression over the run alias `r`. Each comparison on a metric,
 * param, tag or dataset is an EXISTS on its own table, so a run without the key never matches
 * (MLflow's semantics) and AND/OR compose without join fan-out.
 */
export function compileFilter(expression: FilterExpression, dialect: SqlDialect): SqlFragment {
  switch (expression.type) {
    case 'and':
    case 'or': {
      const parts = expression.operands.map((o) => compileFilter(o, dialect));
      const joined = join(parts, expression.type === 'and' ? ' AND ' : ' OR ');
      return fragment(`(${joined.sql})`, joined.bindings);
    }
    default:
      return compileComparison(expression, dialect);
  }
}

function compileComparison(c: Comparison, dialect: SqlDialect): SqlFragment {
  switch (c.type) {
    case 'numeric': {
      const op = c.op === '!=' ? '<>' : c.op;
      if (c.entity.kind === 'numericAttribute')
        return fragment(`${ATTRIBUTE_COLUMNS[c.entity.name]} ${op} ?`, [c.value]);
      return existsKeyed('metric', c.entity.key, fragment(`x."value" ${op} ?`, [c.value]));
    }
    case 'string': {
      const predicate = (column: string) => stringPredicate(column, c.op, c.value, dialect);
      switch (c.entity.kind) {
        case 'attribute':
          return predicate(ATTRIBUTE_COLUMNS[c.entity.name]);
        case 'dataset':
          return existsDataset(predicate(`d.${c.entity.field}`));
        case 'param':
        case 'tag': {
          if (c.op !== '=') return existsKeyed(c.entity.kind, c.entity.key, predicate('x."value"'));
          // Equality goes through the indexed prefix. A value shorter than the prefix equals a stored
          // value exactly when their prefixes are equal; a longer one is also compared in full. (One
          // predicate where one suffices: the planner would multiply two selectivities and misplan.)
          // substr counts characters (code points) in both databases; so must we.
          const characters = [...c.value];
          const prefix = fragment(`${valuePrefix('x')} = ?`, [
            characters.slice(0, VALUE_PREFIX_LENGTH).join(''),
          ]);
          if (characters.length < VALUE_PREFIX_LENGTH)
            return existsKeyed(c.entity.kind, c.entity.key, prefix);
          return existsKeyed(c.entity.kind, c.entity.key, join([prefix, predicate('x."value"')], ' AND '));
        }
        default: {
          const _exhaustive: never = c.entity;
          throw new Error(`Unhandled entity ${JSON.stringify(_exhaustive)}`);
        }
      }
    }
    case 'in': {
      const list = fragment(`(${c.values.map(() => '?').join(', ')})`, c.values);
      const op = c.negated ? 'NOT IN' : 'IN';
      if (c.entity.kind === 'attribute') {
        return fragment(`${ATTRIBUTE_COLUMNS[c.entity.name]} ${op} ${list.sql}`, list.bindings);
      }
      return existsDataset(fragment(`d.${c.entity.field} ${op} ${list.sql}`, list.bindings));
    }
    case 'presence': {
      const exists = existsKeyed(c.entity.kind, c.entity.key, fragment('1 = 1'));
      return c.present ? exists : fragment(`NOT ${exists.sql}`, exists.bindings);
    }
    default: {
      const _exhaustive: never = c;
      throw new Error(`Unhandled comparison ${JSON.stringify(_exhaustive)}`);
    }
  }
}

function stringPredicate(
  column: string,
  op: '=' | '!=' | 'LIKE' | 'ILIKE',
  value: string,
  dialect: SqlDialect,
): SqlFragment {
  switch (op) {
    case '=':
      return fragment(`${column} = ?`, [value]);
    case '!=':
      return fragment(`${column} <> ?`, [value]);
    case 'LIKE':
      // SQLite's LIKE ignores ASCII case; GLOB is its case-sensitive match, so translate the pattern.
      return dialect === 'postgresql'
        ? fragment(`${column} LIKE ?`, [value])
        : fragment(`${column} GLOB ?`, [likeToGlob(value)]);
    case 'ILIKE':
      return dialect === 'postgresql'
        ? fragment(`${column} ILIKE ?`, [value])
        : fragment(`lower(${column}) LIKE lower(?)`, [value]);
    default: {
      const _exhaustive: never = op;
      throw new Error(`Unhandled operator ${String(_exhaustive)}`);
    }
  }
}

/** `%` → `*`, `_` → `?`, and GLOB's own metacharacters matched literally through classes. */
export function likeToGlob(pattern: string): string {
  let glob = '';
  for (const ch of pattern) {
    if (ch === '%') glob += '*';
    else if (ch === '_') glob += '?';
    else if (ch === '*' || ch === '?' || ch === '[') glob += `[${ch}]`;
    else glob += ch;
  }
  return glob;
}

function existsKeyed(kind: keyof typeof KEYED_TABLES, key: string, predicate: SqlFragment): SqlFragment {
  return fragment(
    `EXISTS (SELECT 1 FROM ${KEYED_TABLES[kind]} x WHERE x.run_id = r.id AND x."key" = ? AND ${predicate.sql})`,
    [key, ...predicate.bindings],
  );
}

function existsDataset(predicate: SqlFragment): SqlFragment {
  return fragment(
    `EXISTS (SELECT 1 FROM run_inputs d WHERE d.run_id = r.id AND ${predicate.sql})`,
    predicate.bindings,
  );
}

/** A sort key read from a keyed table (a metric, param or tag), joined under its own alias. */
export interface KeyedSource {
  readonly alias: string;
  readonly table: (typeof KEYED_TABLES)[keyof typeof KEYED_TABLES];
  readonly key: string;
}

/** One resolved sort key: the SQL expression to order by, its direction, and where it is read from. */
export interface SortKey {
  readonly expression: string;
  readonly direction: 'ASC' | 'DESC';
  /** Set for metrics, params and tags; null for run attributes. */
  readonly keyed: KeyedSource | null;
  /** Whether values read back from the database must be turned into numbers (BIGINT as text). */
  readonly numeric: boolean;
}

/**
 * Resolves order terms to sort keys, appending MLflow's tie-breakers (start_time DESC, then id) so
 * that every order is total and keyset paging is exact.
 */
export function resolveSortKeys(terms: readonly OrderTerm[]): SortKey[] {
  const keys = terms.flatMap((term, index) => sortKeysFor(term.entity, term.direction, index));
  const hasStartTime = terms.some(
    (t) => t.entity.kind === 'numericAttribute' && t.entity.name === 'start_time',
  );
  if (!hasStartTime) keys.push({ expression: 'r.start_time', direction: 'DESC', keyed: null, numeric: true });
  return keys;
}

function sortKeysFor(
  entity: Exclude<SearchEntity, { kind: 'dataset' }>,
  direction: 'ASC' | 'DESC',
  index: number,
): SortKey[] {
  switch (entity.kind) {
    case 'attribute':
      return [{ expression: ATTRIBUTE_COLUMNS[entity.name], direction, keyed: null, numeric: false }];
    case 'numericAttribute':
      return [{ expression: ATTRIBUTE_COLUMNS[entity.name], direction, keyed: null, numeric: true }];
    case 'metric': {
      const keyed = { alias: `o${index}`, table: KEYED_TABLES.metric, key: entity.key };
      return [{ expression: `${keyed.alias}."value"`, direction, keyed, numeric: true }];
    }
    case 'param':
    case 'tag': {
      // Text values order by their indexed prefix first, then in full: the same order wherever
      // values are shorter than the prefix, and always a total order the index can walk.
      const keyed = { alias: `o${index}`, table: KEYED_TABLES[entity.kind], key: entity.key };
      return [
        { expression: valuePrefix(keyed.alias), direction, keyed, numeric: false },
        { expression: `${keyed.alias}."value"`, direction, keyed, numeric: false },
      ];
    }
    default: {
      const _exhaustive: never = entity;
      throw new Error(`Unhandled entity ${JSON.stringify(_exhaustive)}`);
    }
  }
}

/**
 * Param and tag values are indexed by their first characters: a B-tree entry must stay small, and
 * values may be thousands of characters long. 200 characters fit any encoding within the limit.
 */
export const VALUE_PREFIX_LENGTH = 200;

function valuePrefix(alias: string): string {
  return `substr(${alias}."value", 1, ${VALUE_PREFIX_LENGTH})`;
}

/** The join that reads a keyed sort key: INNER where only runs having the key are wanted. */
export function sortJoin(source: KeyedSource, kind: 'INNER' | 'LEFT'): SqlFragment {
  const { alias, table, key } = source;
  return fragment(`${kind} JOIN ${table} ${alias} ON ${alias}.run_id = r.id AND ${alias}."key" = ?`, [key]);
}

/** Runs that lack a keyed sort key (they sort after every run that has it). */
export function lacksKey(source: KeyedSource): SqlFragment {
  return fragment(`NOT EXISTS (SELECT 1 FROM ${source.table} x WHERE x.run_id = r.id AND x."key" = ?)`, [
    source.key,
  ]);
}

/**
 * ORDER BY for the sort keys; NULLs (runs without the key) always sort last, as in MLflow. Keys
 * named in `nonNull` are known to hold no NULL and get no NULLS clause, so an index can serve them.
 */
export function orderByClause(keys: readonly SortKey[], nonNull: ReadonlySet<SortKey> = new Set()): string {
  return [
    ...keys.map((k) => `${k.expression} ${k.direction}${nonNull.has(k) ? '' : ' NULLS LAST'}`),
    'r.id ASC',
  ].join(', ');
}

/**
 * The keyset predicate "strictly after `position`" for a total order with NULLS LAST:
 * OR over i of (keys before i equal AND key i after), with the run id as the final key.
 */
export function keysetAfter(keys: readonly SortKey[], position: KeysetPosition): SqlFragment {
  const alternatives: SqlFragment[] = [];
  const equalities: SqlFragment[] = [];
  keys.forEach((key, i) => {
    const value = position.values[i] ?? null;
    if (value !== null) {
      const op = key.direction === 'ASC' ? '>' : '<';
      alternatives.push(
        join(
          [...equalities, fragment(`(${key.expression} ${op} ? OR ${key.expression} IS NULL)`, [value])],
          ' AND ',
        ),
      );
      equalities.push(fragment(`${key.expression} = ?`, [value]));
    } else {
      equalities.push(fragment(`${key.expression} IS NULL`));
    }
  });
  alternatives.push(join([...equalities, fragment('r.id > ?', [position.id])], ' AND '));
  const combined = join(
    alternatives.map((a) => fragment(`(${a.sql})`, a.bindings)),
    ' OR ',
  );
  return fragment(`(${combined.sql})`, combined.bindings);
}
