import { randomUUID } from 'node:crypto';
import type { Knex } from '@mikro-orm/knex';
import { ErrorCode } from '@mlops/schema';
import { DomainError } from '@mlops/runtime';
import type { Database } from '@mlops/runtime/database';
import type { RuleSpec } from '../domain/rule-spec';
import { validateRuleSpec } from '../domain/rule-spec';
import { resolveOpenAlerts } from './alerts';
import type { AlertEventRecord, RuleRecord } from './records';
import { toRuleRecord } from './records';

const columns = (spec: RuleSpec) => ({
  name: spec.name,
  deployment: spec.deployment,
  metric: spec.metric,
  comparison: spec.comparison,
  threshold: spec.threshold,
  for_seconds: spec.forSeconds,
  severity: spec.severity,
  labels: JSON.stringify(spec.labels),
});

const nameTaken = (name: string) =>
  new DomainError(ErrorCode.CONFLICT, `An alert rule named '${name}' already exists`, { field: 'name' });

export async function createRule(db: Database, rawSpec: RuleSpec): Promise<RuleRecord> {
  const spec = validateRuleSpec(rawSpec);
  const now = db.clock.now();
  const id = randomUUID();
  try {
    await db.knex('alert_rules').insert({ id, ...columns(spec), created_at: now, updated_at: now });
  } catch (error) {
    if (db.isUniqueViolation(error)) throw nameTaken(spec.name);
    throw error;
  }
  return getRule(db.knex, id);
}

/** Fields of a rule to change; undefined or null keeps the stored value. */
export type RuleChanges = { readonly [K in keyof RuleSpec]?: RuleSpec[K] | null };

/** Replaces the given fields; an alert whose labels change resolves at the next evaluation. */
export async function updateRule(db: Database, id: string, changes: RuleChanges): Promise<RuleRecord> {
  const current = await getRule(db.knex, id);
  const defined = Object.fromEntries(
    Object.entries(changes).filter(([, value]) => value !== undefined && value !== null),
  ) as Partial<RuleSpec>;
  const spec = validateRuleSpec({ ...current, ...defined });
  try {
    await db
      .knex('alert_rules')
      .where({ id })
      .update({ ...columns(spec), updated_at: db.clock.now() });
  } catch (error) {
    if (db.isUniqueViolation(error)) throw nameTaken(spec.name);
    throw error;
  }
  return getRule(db.knex, id);
}

/** Deletes the rule and resolves its open alerts in one transaction; answers the events raised. */
export async function deleteRule(
  db: Database,
  id: string,
): Promise<{ rule: RuleRecord; events: AlertEventRecord[] }> {
  const rule = await getRule(db.knex, id);
  const events = await db.knex.transaction(async (trx) => {
    const deleted = await trx('alert_rules').where({ id }).delete();
    if (deleted === 0) return null;
    return resolveOpenAlerts(trx, db, id, null);
  });
  if (events === null)
    throw new DomainError(ErrorCode.NOT_FOUND, `No alert rule with id '${id}'`, { field: 'id' });
  return { rule, events };
}

export async function getRule(knex: Knex, id: string, field = 'id'): Promise<RuleRecord> {
  const row = await knex('alert_rules').where({ id }).first();
  if (!row) throw new DomainError(ErrorCode.NOT_FOUND, `No alert rule with id '${id}'`, { field });
  return toRuleRecord(row);
}

export async function findRules(knex: Knex, ids: readonly string[]): Promise<Map<string, RuleRecord>> {
  if (ids.length === 0) return new Map();
  const rows: Record<string, unknown>[] = await knex('alert_rules').whereIn('id', [...new Set(ids)]);
  return new Map(rows.map((r) => [String(r.id), toRuleRecord(r)]));
}

/** Every rule by name; or those watching one of `series` (deployment and metric). */
export async function listRules(
  knex: Knex,
  series?: readonly { deployment: string; metric: string }[],
): Promise<RuleRecord[]> {
  const query = knex('alert_rules').orderBy('name');
  if (series) {
    const distinct = new Map(series.map((s) => [JSON.stringify([s.deployment, s.metric]), s]));
    if (distinct.size === 0) return [];
    query.where((w) => {
      for (const s of distinct.values()) w.orWhere({ deployment: s.deployment, metric: s.metric });
    });
  }
  return (await query).map(toRuleRecord);
}
