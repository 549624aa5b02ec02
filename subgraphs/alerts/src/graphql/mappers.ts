import type { AlertEventRecord, AlertRecord, RuleRecord, SilenceRecord } from '../store/records';
import type { Alert, AlertEvent, AlertRule, Silence } from './types';

const date = (ms: number | null) => (ms === null ? null : new Date(ms));

export function toRuleNode(record: RuleRecord): AlertRule {
  return {
    id: record.id,
    name: record.name,
    deploymentName: record.deployment,
    metric: record.metric,
    comparison: record.comparison,
    threshold: record.threshold,
    forSeconds: record.forSeconds,
    severity: record.severity,
    labels: record.labels.map((l) => ({ ...l })),
    createdAt: new Date(record.createdAt),
    updatedAt: new Date(record.updatedAt),
  };
}

export function toAlertNode(record: AlertRecord): Alert {
  return {
    id: record.id,
    fingerprint: record.fingerprint,
    ruleId: record.ruleId,
    ruleName: record.ruleName,
    deploymentName: record.deployment,
    metric: record.metric,
    severity: record.severity,
    state: record.state,
    labels: record.labels.map((l) => ({ ...l })),
    value: record.value,
    activeAt: new Date(record.activeAt),
    firedAt: date(record.firedAt),
    resolvedAt: date(record.resolvedAt),
    acknowledgedBy: record.acknowledgedBy,
    acknowledgedAt: date(record.acknowledgedAt),
  };
}

export function toEventNode(record: AlertEventRecord): AlertEvent {
  return {
    cursor: String(record.cursor),
    type: record.type,
    alertId: record.alertId,
    deploymentName: record.deployment,
    at: new Date(record.at),
    silenced: record.silenced,
    state: record.state,
    value: record.value,
    ruleId: record.ruleId,
    severity: record.severity,
    acknowledgedBy: record.actor,
    comment: record.comment,
  };
}

export function toSilenceNode(record: SilenceRecord, now: number): Silence {
  return {
    id: record.id,
    matchers: record.matchers.map((m) => ({ ...m })),
    startsAt: new Date(record.startsAt),
    endsAt: new Date(record.endsAt),
    createdBy: record.createdBy,
    comment: record.comment,
    createdAt: new Date(record.createdAt),
    active: record.startsAt <= now && now < record.endsAt,
  };
}
