import type { Knex } from '@mikro-orm/knex';
import type { SqlDialect } from '@mlops/runtime/database';
import type { AlertEventType, Severity } from '../domain/alert-lifecycle';
import type { AlertEventRecord } from './records';
import { toEventRecord } from './records';

/**
 * The key of the PostgreSQL advisory lock every writer of `alert_events` holds from its insert to
 * its commit ('alev' in ASCII). One writer at a time allocates cursors and commits, so cursor order
 * is commit order: once cursor n is visible, every smaller cursor is visible or never will be, and a
 * reader that replays by cursor never skips an event committed later with a smaller one. SQLite has
 * a single writer anyway.
 */
export const ALERT_EVENTS_LOCK_KEY = 0x616c6576;

export type NewAlertEvent = Omit<AlertEventRecord, 'cursor'>;

/**
 * Appends events inside the caller's transaction, taking the cursor lock first, and answers them
 * with their cursors. Call it last in the transaction: the lock is held until commit.
 */
export async function appendEvents(
  trx: Knex.Transaction,
  dialect: SqlDialect,
  events: readonly NewAlertEvent[],
): Promise<AlertEventRecord[]> {
  if (events.length === 0) return [];
  if (dialect === 'postgresql') await trx.raw('SELECT pg_advisory_xact_lock(?)', [ALERT_EVENTS_LOCK_KEY]);
  const appended: AlertEventRecord[] = [];
  for (const event of events) {
    const [inserted] = (await trx('alert_events')
      .insert({
        type: event.type,
        alert_id: event.alertId,
        rule_id: event.ruleId,
        deployment: event.deployment,
        severity: event.severity,
        state: event.state,
        value: event.value,
        silenced: event.silenced,
        actor: event.actor,
        comment: event.comment,
        at: event.at,
      })
      .returning('cursor')) as ({ cursor: unknown } | number)[];
    const cursor = typeof inserted === 'object' && inserted !== null ? inserted.cursor : inserted;
    appended.push({ ...event, cursor: Number(cursor) });
  }
  return appended;
}

/** Which events a reader wants; every field optional (all events). */
export interface EventFilter {
  readonly deployment?: string | null;
  readonly severity?: Severity | null;
  readonly types?: readonly AlertEventType[] | null;
  /** Default false: events raised while a silence matched are left out. */
  readonly includeSilenced?: boolean | null;
}

export function eventMatches(event: AlertEventRecord, filter: EventFilter): boolean {
  if (filter.deployment && event.deployment !== filter.deployment) return false;
  if (filter.severity && event.severity !== filter.severity) return false;
  if (filter.types && filter.types.length > 0 && !filter.types.includes(event.type)) return false;
  if (!filter.includeSilenced && event.silenced) return false;
  return true;
}

/**
 * Up to `limit` events with a cursor above `after` (and at most `upTo`), oldest first, filtered in
 * the database.
 */
export async function eventsAfter(
  knex: Knex,
  after: number,
  limit: number,
  filter: EventFilter = { includeSilenced: true },
  upTo?: number,
): Promise<AlertEventRecord[]> {
  const query = knex('alert_events').where('cursor', '>', after).orderBy('cursor').limit(limit);
  if (upTo !== undefined) query.where('cursor', '<=', upTo);
  if (filter.deployment) query.where('deployment', filter.deployment);
  if (filter.severity) query.where('severity', filter.severity);
  if (filter.types && filter.types.length > 0) query.whereIn('type', [...filter.types]);
  if (!filter.includeSilenced) query.where('silenced', false);
  return (await query).map(toEventRecord);
}

/** The newest cursor, 0 for an empty log. */
export async function latestCursor(knex: Knex): Promise<number> {
  const row = (await knex('alert_events').max({ cursor: 'cursor' }).first()) as
    { cursor: unknown } | undefined;
  return row?.cursor === null || row?.cursor === undefined ? 0 : Number(row.cursor);
}
