import { ErrorCode } from '@mlops/schema';
import {
  DomainError,
  badInput,
  decodeCursor,
  encodeCursor,
  queryFingerprint,
  validatePageSize,
} from '@mlops/runtime';
import { query, toNumber } from '@mlops/runtime/database';
import type { KeysetPosition } from '@mlops/runtime';
import type { Database, SqlFragment } from '@mlops/runtime/database';
import type { OrderTerm } from '../search/filter-ast';
import { SearchSyntaxError } from '../search/filter-ast';
import { parseFilter, parseOrderBy } from '../search/filter-parser';
import {
  compileFilter,
  keysetAfter,
  lacksKey,
  orderByClause,
  resolveSortKeys,
  sortJoin,
} from '../search/search-sql';
import type { KeyedSource, SortKey } from '../search/search-sql';
import type { LifecycleView } from './experiments';
import { findExperiments, stagesFor } from './experiments';
import type { RunRecord } from './records';
import { toRunRecord } from './records';

export interface SearchRunsInput {
  readonly experimentIds: readonly string[];
  readonly filter?: string | null;
  readonly orderBy?: readonly string[] | null;
  readonly runView?: LifecycleView | null;
  readonly first?: number | null;
  readonly after?: string | null;
}

export interface RunEdge {
  readonly run: RunRecord;
  readonly cursor: string;
}

export interface RunPage {
  readonly edges: readonly RunEdge[];
  readonly hasNextPage: boolean;
}

const MAX_EXPERIMENTS = 100;
const MAX_ORDER_TERMS = 10;

/**
 * MLflow's search_runs: the filter is parsed to an AST and compiled to parameterized SQL; filtering,
 * ordering and keyset paging all happen in the database, which returns one page (plus one row to
 * learn whether another page follows).
 */
export async function searchRuns(db: Database, input: SearchRunsInput): Promise<RunPage> {
  const first = validatePageSize(input.first);
  const view = input.runView ?? 'ACTIVE_ONLY';
  const experimentIds = [...new Set(input.experimentIds)];
  if (experimentIds.length === 0 || experimentIds.length > MAX_EXPERIMENTS) {
    throw badInput(
      'experimentIds',
      `experimentIds must name 1 to ${MAX_EXPERIMENTS} experiments; got ${experimentIds.length}`,
    );
  }
  const filter = parseSearchInput('filter', () => parseFilter(input.filter ?? ''));
  const terms: OrderTerm[] = (input.orderBy ?? []).map((text, i) =>
    parseSearchInput(`orderBy[${i}]`, () => parseOrderBy(text)),
  );
  if (terms.length > MAX_ORDER_TERMS)
    throw badInput('orderBy', `orderBy may hold at most ${MAX_ORDER_TERMS} terms; got ${terms.length}`);
  const known = await findExperiments(db, experimentIds);
  const missing = experimentIds.filter((id) => !known.has(id));
  if (missing.length > 0) {
    throw new DomainError(
      ErrorCode.NOT_FOUND,
      `No experiment with id ${missing.map((id) => `'${id}'`).join(', ')}`,
      {
        field: 'experimentIds',
        missing,
      },
    );
  }

  const keys = resolveSortKeys(terms);
  const fingerprint = queryFingerprint([experimentIds, input.filter ?? '', input.orderBy ?? [], view]);
  const position = input.after ? decodeCursor(input.after, fingerprint, keys.length) : null;
  const base: SqlFragment[] = [
    { sql: `r.experiment_id IN (${experimentIds.map(() => '?').join(', ')})`, bindings: experimentIds },
    {
      sql: `r.lifecycle_stage IN (${stagesFor(view)
        .map(() => '?')
        .join(', ')})`,
      bindings: stagesFor(view),
    },
  ];
  if (filter) base.push(compileFilter(filter, db.dialect));
  const rows = await fetchPage(db, keys, base, position, first + 1);

  const edges = rows.slice(0, first).map((row) => {
    const values = keys.map((key, i) => sortValue(key, row[`__o${i}`]));
    return { run: toRunRecord(row), cursor: encodeCursor({ values, id: String(row.id) }, fingerprint) };
  });
  return { edges, hasNextPage: rows.length > first };
}

type Row = Record<string, unknown>;

/**
 * One page in the total order. When the first sort key is a metric, param or tag, the page is read
 * in two parts: runs that have the key, through an INNER join that lets the database walk the
 * (key, value) index in order and stop after `limit` rows; then, only if the page is not full, the
 * runs without it, which sort last. A single LEFT JOIN would sort every matching run instead.
 */
async function fetchPage(
  db: Database,
  keys: readonly SortKey[],
  base: readonly SqlFragment[],
  position: KeysetPosition | null,
  limit: number,
): Promise<Row[]> {
  const leadSource = keys[0]?.keyed;
  if (!leadSource) {
    const conditions = position ? [...base, keysetAfter(keys, position)] : base;
    return query(db.knex, selectRuns(keys, joinsFor(keys), conditions, keys, new Set(), limit));
  }
  // The lead sort key may span two keys (a text value's prefix, then the value): the lead group.
  const lead = keys.filter((k) => k.keyed?.alias === leadSource.alias);
  const rest = keys.slice(lead.length);
  const rows: Row[] = [];
  const positionHasLead = position !== null && position.values[0] !== null;
  if (position === null || positionHasLead) {
    const conditions = [...base];
    if (position) {
      const first = keys[0]!;
      const bound = first.direction === 'ASC' ? '>=' : '<=';
      // Implied by the keyset predicate, but stated alone so the index range can start at the cursor.
      conditions.push(
        { sql: `${first.expression} ${bound} ?`, bindings: [position.values[0]] },
        keysetAfter(keys, position),
      );
    }
    const joins = [sortJoin(leadSource, 'INNER'), ...joinsFor(rest)];
    rows.push(...(await query(db.knex, selectRuns(keys, joins, conditions, keys, new Set(lead), limit))));
  }
  if (rows.length >= limit) return rows;
  const conditions = [...base, lacksKey(leadSource)];
  if (position && !positionHasLead) {
    conditions.push(keysetAfter(rest, { values: position.values.slice(lead.length), id: position.id }));
  }
  const absent = keys.map((k) => (lead.includes(k) ? { ...k, expression: 'NULL' } : k));
  rows.push(
    ...(await query(
      db.knex,
      selectRuns(absent, joinsFor(rest), conditions, rest, new Set(), limit - rows.length),
    )),
  );
  return rows;
}

/** One LEFT JOIN per keyed source, however many sort keys read it. */
function joinsFor(keys: readonly SortKey[]): SqlFragment[] {
  const sources = new Map<string, KeyedSource>();
  for (const k of keys) if (k.keyed) sources.set(k.keyed.alias, k.keyed);
  return [...sources.values()].map((source) => sortJoin(source, 'LEFT'));
}

function selectRuns(
  selected: readonly SortKey[],
  joins: readonly SqlFragment[],
  conditions: readonly SqlFragment[],
  order: readonly SortKey[],
  nonNull: ReadonlySet<SortKey>,
  limit: number,
): SqlFragment {
  const select = selected.map((k, i) => `${k.expression} AS __o${i}`).join(', ');
  return {
    sql:
      `SELECT r.*, ${select} FROM runs r ${joins.map((j) => j.sql).join(' ')} ` +
      `WHERE ${conditions.map((c) => c.sql).join(' AND ')} ORDER BY ${orderByClause(order, nonNull)} LIMIT ?`,
    bindings: [...joins.flatMap((j) => j.bindings), ...conditions.flatMap((c) => c.bindings), limit],
  };
}

function parseSearchInput<T>(field: string, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof SearchSyntaxError) {
      throw badInput(field, `Invalid ${field}: ${error.message}`, { position: error.position });
    }
    throw error;
  }
}

function sortValue(key: SortKey, value: unknown): string | number | null {
  if (value === null || value === undefined) return null;
  return key.numeric ? toNumber(value) : String(value);
}
