import { randomUUID } from 'node:crypto';
import type { Knex } from '@mikro-orm/knex';
import { ErrorCode } from '@mlops/schema';
import { DomainError, validateLength, validateName } from '@mlops/runtime';
import type { Database } from '@mlops/runtime/database';
import type { AlertState, Severity, Transition } from '../domain/alert-lifecycle';
import type { Label } from '../domain/labels';
import { appendEvents } from './events';
import type { NewAlertEvent } from './events';
import type { AlertEventRecord, AlertRecord, RuleRecord } from './records';
import { toAlertRecord } from './records';
import { MAX_COMMENT_LENGTH, activeSilences, isSilenced } from './silences';

type Row = Record<string, unknown>;

const OPEN_STATES: readonly AlertState[] = ['PENDING', 'FIRING'];

function eventOf(
  alert: AlertRecord,
  type: NewAlertEvent['type'],
  state: AlertState,
  silenced: boolean,
  at: number,
  extra: { value?: number | null; actor?: string | null; comment?: string | null } = {},
): NewAlertEvent {
  return {
    type,
    alertId: alert.id,
    ruleId: alert.ruleId,
    deployment: alert.deployment,
    severity: alert.severity,
    state,
    value: extra.value === undefined ? alert.value : extra.value,
    silenced,
    actor: extra.actor ?? null,
    comment: extra.comment ?? null,
    at,
  };
}

/**
 * Resolves every open alert of a rule (all of them, or those whose fingerprint is not `keep`)
 * inside `trx`, with a RESOLVED event each. Conditional on the alert still being open, so that of
 * two replicas resolving the same alert only one raises the event.
 */
export async function resolveOpenAlerts(
  trx: Knex.Transaction,
  db: Database,
  ruleId: string,
  keep: string | null,
): Promise<AlertEventRecord[]> {
  const now = db.clock.now();
  const query = trx('alerts').where({ rule_id: ruleId }).whereNull('resolved_at');
  if (keep !== null) query.whereNot('fingerprint', keep);
  const open = (await query).map(toAlertRecord);
  if (open.length === 0) return [];
  const silences = await activeSilences(trx, now);
  const events: NewAlertEvent[] = [];
  for (const alert of open) {
    const updated = await trx('alerts')
      .where({ id: alert.id })
      .whereNull('resolved_at')
      .update({ state: 'RESOLVED', resolved_at: now, updated_at: now });
    if (updated === 1) events.push(eventOf(alert, 'RESOLVED', 'RESOLVED', isSilenced(silences, alert), now));
  }
  return appendEvents(trx, db.dialect, events);
}

/** What evaluation knows about the alert a transition applies to. */
export interface TransitionContext {
  readonly rule: RuleRecord;
  readonly fingerprint: string;
  readonly labels: readonly Label[];
  /** Whether an active silence matches the alert now. */
  readonly silenced: boolean;
  readonly now: number;
}

/**
 * Applies one transition in its own transaction and answers the events it raised: none when another
 * replica (or a concurrent evaluation) made the same change first. Opening relies on the partial
 * unique index on open fingerprints; firing and resolving are UPDATEs conditional on the state read.
 */
export async function applyTransition(
  db: Database,
  transition: Transition,
  context: TransitionContext,
): Promise<AlertEventRecord[]> {
  const { rule, now, silenced } = context;
  switch (transition.kind) {
    case 'none':
      return [];
    case 'hold':
      await db
        .knex('alerts')
        .where({ id: transition.alertId })
        .whereNull('resolved_at')
        .update({ value: transition.value, updated_at: now });
      return [];
    case 'open': {
      const alert: AlertRecord = {
        id: randomUUID(),
        fingerprint: context.fingerprint,
        ruleId: rule.id,
        ruleName: rule.name,
        deployment: rule.deployment,
        metric: rule.metric,
        severity: rule.severity,
        state: transition.state,
        labels: context.labels,
        value: transition.value,
        activeAt: now,
        firedAt: transition.state === 'FIRING' ? now : null,
        resolvedAt: null,
        acknowledgedBy: null,
        acknowledgedAt: null,
      };
      try {
        return await db.knex.transaction(async (trx) => {
          await trx('alerts').insert({
            id: alert.id,
            fingerprint: alert.fingerprint,
            rule_id: alert.ruleId,
            rule_name: alert.ruleName,
            deployment: alert.deployment,
            metric: alert.metric,
            severity: alert.severity,
            state: alert.state,
            labels: JSON.stringify(alert.labels),
            value: alert.value,
            active_at: now,
            fired_at: alert.firedAt,
            resolved_at: null,
            updated_at: now,
          });
          return appendEvents(trx, db.dialect, [
            eventOf(alert, transition.state, transition.state, silenced, now),
          ]);
        });
      } catch (error) {
        // Another evaluation opened this fingerprint first: its alert and event stand.
        if (db.isUniqueViolation(error)) return [];
        throw error;
      }
    }
    case 'fire':
      return db.knex.transaction(async (trx) => {
        const updated = await trx('alerts')
          .where({ id: transition.alertId, state: 'PENDING' })
          .whereNull('resolved_at')
          .update({ state: 'FIRING', fired_at: now, value: transition.value, updated_at: now });
        if (updated !== 1) return [];
        const alert = toAlertRecord(await trx('alerts').where({ id: transition.alertId }).first());
        return appendEvents(trx, db.dialect, [eventOf(alert, 'FIRING', 'FIRING', silenced, now)]);
      });
    case 'resolve':
      return db.knex.transaction(async (trx) => {
        const updated = await trx('alerts')
          .where({ id: transition.alertId })
          .whereIn('state', [...OPEN_STATES])
          .whereNull('resolved_at')
          .update({ state: 'RESOLVED', resolved_at: now, value: transition.value, updated_at: now });
        if (updated !== 1) return [];
        const alert = toAlertRecord(await trx('alerts').where({ id: transition.alertId }).first());
        return appendEvents(trx, db.dialect, [eventOf(alert, 'RESOLVED', 'RESOLVED', silenced, now)]);
      });
    default: {
      const _exhaustive: never = transition;
      throw new Error(`Unknown transition ${String(_exhaustive)}`);
    }
  }
}

/**
 * Records who acknowledged an open alert, with an ACKNOWLEDGED event. INVALID_STATE for a resolved
 * alert, CONFLICT when someone already acknowledged it.
 */
export async function acknowledgeAlert(
  db: Database,
  id: string,
  rawBy: string,
  comment: string | null,
): Promise<{ alert: AlertRecord; events: AlertEventRecord[] }> {
  const by = validateName('by', rawBy, 250);
  if (comment !== null) validateLength('comment', comment, MAX_COMMENT_LENGTH);
  const before = await getAlert(db.knex, id);
  const now = db.clock.now();
  const silenced = isSilenced(await activeSilences(db.knex, now), before);
  const outcome = await db.knex.transaction(async (trx) => {
    const updated = await trx('alerts')
      .where({ id })
      .whereNull('resolved_at')
      .whereNull('acknowledged_at')
      .update({ acknowledged_by: by, acknowledged_at: now, updated_at: now });
    const alert = toAlertRecord(await trx('alerts').where({ id }).first());
    if (updated !== 1) return { kind: 'refused' as const, alert };
    const events = await appendEvents(trx, db.dialect, [
      eventOf(alert, 'ACKNOWLEDGED', alert.state, silenced, now, { actor: by, comment }),
    ]);
    return { kind: 'acknowledged' as const, alert, events };
  });
  if (outcome.kind === 'acknowledged') return { alert: outcome.alert, events: outcome.events };
  if (outcome.alert.resolvedAt !== null)
    throw new DomainError(
      ErrorCode.INVALID_STATE,
      `Alert '${id}' is RESOLVED; only open alerts can be acknowledged`,
      {
        field: 'id',
      },
    );
  throw new DomainError(
    ErrorCode.CONFLICT,
    `Alert '${id}' was already acknowledged by '${outcome.alert.acknowledgedBy}'`,
    { field: 'id', acknowledgedBy: outcome.alert.acknowledgedBy },
  );
}

export async function getAlert(knex: Knex, id: string, field = 'id'): Promise<AlertRecord> {
  const row: Row | undefined = await knex('alerts').where({ id }).first();
  if (!row) throw new DomainError(ErrorCode.NOT_FOUND, `No alert with id '${id}'`, { field });
  return toAlertRecord(row);
}

export async function findAlerts(knex: Knex, ids: readonly string[]): Promise<Map<string, AlertRecord>> {
  if (ids.length === 0) return new Map();
  const rows: Row[] = await knex('alerts').whereIn('id', [...new Set(ids)]);
  return new Map(rows.map((r) => [String(r.id), toAlertRecord(r)]));
}

/** Open (PENDING or FIRING) alerts of the given rules. */
export async function openAlertsOfRules(knex: Knex, ruleIds: readonly string[]): Promise<AlertRecord[]> {
  if (ruleIds.length === 0) return [];
  const rows: Row[] = await knex('alerts')
    .whereIn('rule_id', [...ruleIds])
    .whereNull('resolved_at');
  return rows.map(toAlertRecord);
}

export interface AlertFilter {
  readonly states?: readonly AlertState[] | null;
  readonly deployment?: string | null;
  readonly severity?: Severity | null;
  readonly ruleId?: string | null;
}

/** Newest incidents first (then by id), at most `limit`. */
export async function listAlerts(knex: Knex, filter: AlertFilter, limit: number): Promise<AlertRecord[]> {
  const query = knex('alerts')
    .orderBy([
      { column: 'active_at', order: 'desc' },
      { column: 'id', order: 'asc' },
    ])
    .limit(limit);
  if (filter.states && filter.states.length > 0) query.whereIn('state', [...filter.states]);
  if (filter.deployment) query.where('deployment', filter.deployment);
  if (filter.severity) query.where('severity', filter.severity);
  if (filter.ruleId) query.where('rule_id', filter.ruleId);
  return (await query).map(toAlertRecord);
}
