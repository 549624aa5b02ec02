import { toNumber } from '@mlops/runtime/database';
import type { AlertEventType, AlertState, Comparison, Severity } from '../domain/alert-lifecycle';
import type { Label } from '../domain/labels';
import type { Matcher } from '../domain/silence-matchers';

/** Rows as the store returns them: camelCase, times in epoch milliseconds. */
export interface RuleRecord {
  readonly id: string;
  readonly name: string;
  readonly deployment: string;
  readonly metric: string;
  readonly comparison: Comparison;
  readonly threshold: number;
  readonly forSeconds: number;
  readonly severity: Severity;
  readonly labels: readonly Label[];
  readonly createdAt: number;
  readonly updatedAt: number;
}

export interface AlertRecord {
  readonly id: string;
  readonly fingerprint: string;
  readonly ruleId: string;
  readonly ruleName: string;
  readonly deployment: string;
  readonly metric: string;
  readonly severity: Severity;
  readonly state: AlertState;
  readonly labels: readonly Label[];
  readonly value: number | null;
  readonly activeAt: number;
  readonly firedAt: number | null;
  readonly resolvedAt: number | null;
  readonly acknowledgedBy: string | null;
  readonly acknowledgedAt: number | null;
}

/** One persisted state change; `cursor` orders the log in commit order. */
export interface AlertEventRecord {
  readonly cursor: number;
  readonly type: AlertEventType;
  readonly alertId: string;
  readonly ruleId: string;
  readonly deployment: string;
  readonly severity: Severity;
  readonly state: AlertState;
  readonly value: number | null;
  readonly silenced: boolean;
  /** Who acknowledged (ACKNOWLEDGED events only). */
  readonly actor: string | null;
  readonly comment: string | null;
  readonly at: number;
}

export interface SilenceRecord {
  readonly id: string;
  readonly matchers: readonly Matcher[];
  readonly startsAt: number;
  readonly endsAt: number;
  readonly createdBy: string;
  readonly comment: string;
  readonly createdAt: number;
}

export interface SampleRecord {
  readonly deployment: string;
  readonly metric: string;
  readonly value: number;
  readonly at: number;
}

type Row = Record<string, unknown>;

const nullableNumber = (value: unknown): number | null =>
  value === null || value === undefined ? null : toNumber(value);
const nullableString = (value: unknown): string | null =>
  value === null || value === undefined ? null : String(value);

export function toRuleRecord(row: Row): RuleRecord {
  return {
    id: String(row.id),
    name: String(row.name),
    deployment: String(row.deployment),
    metric: String(row.metric),
    comparison: row.comparison as Comparison,
    threshold: toNumber(row.threshold),
    forSeconds: toNumber(row.for_seconds),
    severity: row.severity as Severity,
    labels: JSON.parse(String(row.labels)) as Label[],
    createdAt: toNumber(row.created_at),
    updatedAt: toNumber(row.updated_at),
  };
}

export function toAlertRecord(row: Row): AlertRecord {
  return {
    id: String(row.id),
    fingerprint: String(row.fingerprint),
    ruleId: String(row.rule_id),
    ruleName: String(row.rule_name),
    deployment: String(row.deployment),
    metric: String(row.metric),
    severity: row.severity as Severity,
    state: row.state as AlertState,
    labels: JSON.parse(String(row.labels)) as Label[],
    value: nullableNumber(row.value),
    activeAt: toNumber(row.active_at),
    firedAt: nullableNumber(row.fired_at),
    resolvedAt: nullableNumber(row.resolved_at),
    acknowledgedBy: nullableString(row.acknowledged_by),
    acknowledgedAt: nullableNumber(row.acknowledged_at),
  };
}

export function toEventRecord(row: Row): AlertEventRecord {
  return {
    cursor: toNumber(row.cursor),
    type: row.type as AlertEventType,
    alertId: String(row.alert_id),
    ruleId: String(row.rule_id),
    deployment: String(row.deployment),
    severity: row.severity as Severity,
    state: row.state as AlertState,
    value: nullableNumber(row.value),
    // SQLite answers 0/1, PostgreSQL booleans.
    silenced: row.silenced === true || row.silenced === 1,
    actor: nullableString(row.actor),
    comment: nullableString(row.comment),
    at: toNumber(row.at),
  };
}

export function toSilenceRecord(row: Row): SilenceRecord {
  return {
    id: String(row.id),
    matchers: JSON.parse(String(row.matchers)) as Matcher[],
    startsAt: toNumber(row.starts_at),
    endsAt: toNumber(row.ends_at),
    createdBy: String(row.created_by),
    comment: String(row.comment),
    createdAt: toNumber(row.created_at),
  };
}

export function toSampleRecord(row: Row): SampleRecord {
  return {
    deployment: String(row.deployment),
    metric: String(row.metric),
    value: toNumber(row.value),
    at: toNumber(row.at),
  };
}
