import { randomUUID } from 'node:crypto';
import type { Knex } from '@mikro-orm/knex';
import { ErrorCode } from '@mlops/schema';
import { DomainError, badInput, validateLength, validateName } from '@mlops/runtime';
import type { Database } from '@mlops/runtime/database';
import type { Label } from '../domain/labels';
import type { Matcher } from '../domain/silence-matchers';
import { silenceMatches, validateMatchers } from '../domain/silence-matchers';
import type { AlertRecord, SilenceRecord } from './records';
import { toSilenceRecord } from './records';

export const MAX_COMMENT_LENGTH = 2000;

export interface SilenceSpec {
  readonly matchers: readonly Matcher[];
  /** Default: now. */
  readonly startsAt: number | null;
  readonly endsAt: number;
  readonly createdBy: string;
  readonly comment: string;
}

export async function createSilence(db: Database, spec: SilenceSpec): Promise<SilenceRecord> {
  const matchers = validateMatchers('matchers', spec.matchers);
  const now = db.clock.now();
  const startsAt = spec.startsAt ?? now;
  if (spec.endsAt <= startsAt)
    throw badInput('endsAt', `endsAt must be after startsAt (${new Date(startsAt).toISOString()})`);
  if (spec.endsAt <= now) throw badInput('endsAt', 'endsAt must be in the future');
  const createdBy = validateName('createdBy', spec.createdBy, 250);
  validateLength('comment', spec.comment, MAX_COMMENT_LENGTH);
  const record: SilenceRecord = {
    id: randomUUID(),
    matchers,
    startsAt,
    endsAt: spec.endsAt,
    createdBy,
    comment: spec.comment,
    createdAt: now,
  };
  await db.knex('silences').insert({
    id: record.id,
    matchers: JSON.stringify(matchers),
    starts_at: startsAt,
    ends_at: record.endsAt,
    created_by: createdBy,
    comment: record.comment,
    created_at: now,
  });
  return record;
}

export async function getSilence(knex: Knex, id: string): Promise<SilenceRecord> {
  const row = await knex('silences').where({ id }).first();
  if (!row) throw new DomainError(ErrorCode.NOT_FOUND, `No silence with id '${id}'`, { field: 'id' });
  return toSilenceRecord(row);
}

/** Ends a silence now; INVALID_STATE when it has already ended. */
export async function expireSilence(db: Database, id: string): Promise<SilenceRecord> {
  const now = db.clock.now();
  await getSilence(db.knex, id);
  // A silence not yet started ends before it starts: move both so that startsAt <= endsAt holds.
  const updated = await db
    .knex('silences')
    .where({ id })
    .where('ends_at', '>', now)
    .update({
      ends_at: now,
      starts_at: db.knex.raw('CASE WHEN starts_at > ? THEN ? ELSE starts_at END', [now, now]),
    });
  if (updated === 0)
    throw new DomainError(ErrorCode.INVALID_STATE, `Silence '${id}' has already expired`, { field: 'id' });
  return getSilence(db.knex, id);
}

/** All silences, newest first; `active` true: in force now, false: expired or not started yet. */
export async function listSilences(
  knex: Knex,
  now: number,
  active?: boolean | null,
): Promise<SilenceRecord[]> {
  const query = knex('silences').orderBy([
    { column: 'created_at', order: 'desc' },
    { column: 'id', order: 'asc' },
  ]);
  if (active === true) query.where('starts_at', '<=', now).where('ends_at', '>', now);
  if (active === false) query.where((w) => w.where('starts_at', '>', now).orWhere('ends_at', '<=', now));
  return (await query).map(toSilenceRecord);
}

export function activeSilences(knex: Knex, now: number): Promise<SilenceRecord[]> {
  return listSilences(knex, now, true);
}

/** The labels silences match against: the alert's own plus `alertname` (the rule name) and `severity`. */
export function matchableLabels(alert: Pick<AlertRecord, 'labels' | 'ruleName' | 'severity'>): Label[] {
  return [
    ...alert.labels,
    { name: 'alertname', value: alert.ruleName },
    { name: 'severity', value: alert.severity },
  ];
}

export function isSilenced(
  silences: readonly SilenceRecord[],
  alert: Pick<AlertRecord, 'labels' | 'ruleName' | 'severity'>,
): boolean {
  const labels = matchableLabels(alert);
  return silences.some((s) => silenceMatches(s.matchers, labels));
}
