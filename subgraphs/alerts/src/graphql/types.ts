import { Directive, Field, Float, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { ALERT_EVENT_TYPES, ALERT_STATES, COMPARISONS, SEVERITIES } from '../domain/alert-lifecycle';
import type {
  AlertEventType as AlertEventTypeValue,
  AlertState as AlertStateValue,
  Comparison as ComparisonValue,
  Severity as SeverityValue,
} from '../domain/alert-lifecycle';

const enumOf = <T extends string>(values: readonly T[]) =>
  Object.fromEntries(values.map((v) => [v, v])) as { [K in T]: K };

export const AlertState = enumOf(ALERT_STATES);
registerEnumType(AlertState, {
  name: 'AlertState',
  description:
    'PENDING: the condition holds, not yet for `forSeconds`. FIRING: it has held for `forSeconds`. RESOLVED: it stopped holding (or the rule was deleted or changed); a PENDING alert whose condition clears is RESOLVED too, with `firedAt` null.',
});

export const AlertEventType = enumOf(ALERT_EVENT_TYPES);
registerEnumType(AlertEventType, {
  name: 'AlertEventType',
  description: 'A state change, or an acknowledgement.',
});

export const AlertComparison = enumOf(COMPARISONS);
registerEnumType(AlertComparison, {
  name: 'AlertComparison',
  description: 'How the latest sample is compared with the threshold: `sample <comparison> threshold`.',
});

export const AlertSeverity = enumOf(SEVERITIES);
registerEnumType(AlertSeverity, { name: 'AlertSeverity' });

/** Owned by the deployments subgraph; here only its key, extended with its open alerts. */
@ObjectType()
@Directive('@key(fields: "name")')
export class Deployment {
  @Field(() => String)
  name!: string;
}

@ObjectType({ description: 'A name/value pair identifying an alert (Prometheus label).' })
export class AlertLabel {
  @Field(() => String)
  name!: string;

  @Field(() => String)
  value!: string;
}

@ObjectType({ description: 'A condition on the latest sample of one metric of one deployment.' })
export class AlertRule {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  name!: string;

  deploymentName!: string;

  @Field(() => String, {
    description: 'e.g. latency_p99_ms, error_rate, drift_score, sharpe, drawdown, pnl.',
  })
  metric!: string;

  @Field(() => AlertComparison)
  comparison!: ComparisonValue;

  @Field(() => Float)
  threshold!: number;

  @Field(() => Int, {
    description: 'How long the condition must hold before the alert fires; 0 fires at once.',
  })
  forSeconds!: number;

  @Field(() => AlertSeverity)
  severity!: SeverityValue;

  @Field(() => [AlertLabel], { description: "The rule's own labels, sorted by name." })
  labels!: AlertLabel[];

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => Date)
  updatedAt!: Date;
}

@ObjectType({ description: 'One incident of a rule, from PENDING to RESOLVED.' })
export class Alert {
  @Field(() => ID)
  id!: string;

  @Field(() => String, {
    description:
      'Stable hash of the rule id and the sorted labels: the same while the condition holds; a new incident after RESOLVED is a new alert with the same fingerprint.',
  })
  fingerprint!: string;

  ruleId!: string;
  deploymentName!: string;

  @Field(() => String, {
    description: 'The rule name when the alert opened (kept after the rule is deleted).',
  })
  ruleName!: string;

  @Field(() => String)
  metric!: string;

  @Field(() => AlertSeverity)
  severity!: SeverityValue;

  @Field(() => AlertState)
  state!: AlertStateValue;

  @Field(() => [AlertLabel], {
    description: "The rule's labels plus `deployment` and `metric`, sorted by name.",
  })
  labels!: AlertLabel[];

  @Field(() => Float, { nullable: true, description: 'The sample last evaluated; null when none was fresh.' })
  value!: number | null;

  @Field(() => Date, { description: 'When the condition started to hold.' })
  activeAt!: Date;

  @Field(() => Date, { nullable: true })
  firedAt!: Date | null;

  @Field(() => Date, { nullable: true })
  resolvedAt!: Date | null;

  @Field(() => String, { nullable: true })
  acknowledgedBy!: string | null;

  @Field(() => Date, { nullable: true })
  acknowledgedAt!: Date | null;
}

@ObjectType({ description: 'A persisted state change; `cursor` orders the log.' })
export class AlertEvent {
  @Field(() => ID, { description: 'Monotonic in commit order; pass it as `after` to resume.' })
  cursor!: string;

  @Field(() => AlertEventType)
  type!: AlertEventTypeValue;

  alertId!: string;
  deploymentName!: string;

  @Field(() => Date)
  at!: Date;

  @Field(() => Boolean, {
    description: 'Whether an active silence matched the alert when the event was raised.',
  })
  silenced!: boolean;

  @Field(() => AlertState, { description: "The alert's state after the event." })
  state!: AlertStateValue;

  @Field(() => Float, { nullable: true })
  value!: number | null;

  @Field(() => ID)
  ruleId!: string;

  @Field(() => AlertSeverity)
  severity!: SeverityValue;

  @Field(() => String, { nullable: true, description: 'Who acknowledged (ACKNOWLEDGED only).' })
  acknowledgedBy!: string | null;

  @Field(() => String, { nullable: true, description: 'The acknowledgement comment (ACKNOWLEDGED only).' })
  comment!: string | null;
}

@ObjectType({ description: 'Events after a cursor, oldest first.' })
export class AlertEventPage {
  @Field(() => [AlertEvent])
  events!: AlertEvent[];

  @Field(() => ID, {
    nullable: true,
    description: 'Pass as `after` for the next page; the cursor of the last event, or `after` when none.',
  })
  endCursor!: string | null;

  @Field(() => Boolean)
  hasMore!: boolean;
}

@ObjectType({ description: 'Alertmanager matcher: `=`, `!=`, `=~` (full-match regex) or `!~`.' })
export class SilenceMatcher {
  @Field(() => String)
  name!: string;

  @Field(() => String)
  value!: string;

  @Field(() => Boolean)
  isRegex!: boolean;

  @Field(() => Boolean)
  isEqual!: boolean;
}

@ObjectType({
  description:
    'Suppresses notifications (not state) of alerts whose labels, plus `alertname` (the rule name) and `severity`, match every matcher.',
})
export class Silence {
  @Field(() => ID)
  id!: string;

  @Field(() => [SilenceMatcher])
  matchers!: SilenceMatcher[];

  @Field(() => Date)
  startsAt!: Date;

  @Field(() => Date)
  endsAt!: Date;

  @Field(() => String)
  createdBy!: string;

  @Field(() => String)
  comment!: string;

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => Boolean, { description: 'In force now: startsAt <= now < endsAt.' })
  active!: boolean;
}
