import { Field, Float, InputType, Int } from 'type-graphql';
import type {
  AlertEventType as AlertEventTypeValue,
  AlertState as AlertStateValue,
  Comparison as ComparisonValue,
  Severity as SeverityValue,
} from '../domain/alert-lifecycle';
import { AlertComparison, AlertEventType, AlertSeverity, AlertState } from './types';

@InputType()
export class AlertLabelInput {
  @Field(() => String, {
    description: 'A Prometheus label name; deployment, metric, alertname and severity are reserved.',
  })
  name!: string;

  @Field(() => String)
  value!: string;
}

@InputType()
export class CreateAlertRuleInput {
  @Field(() => String, { description: 'Unique; at most 250 characters.' })
  name!: string;

  @Field(() => String, { description: 'The deployment watched (by name).' })
  deployment!: string;

  @Field(() => String, { description: 'Matches ^[a-z][a-z0-9_.]{0,127}$.' })
  metric!: string;

  @Field(() => AlertComparison)
  comparison!: ComparisonValue;

  @Field(() => Float)
  threshold!: number;

  @Field(() => Int, { defaultValue: 0, description: '0 to 604800 (a week).' })
  forSeconds!: number;

  @Field(() => AlertSeverity, { defaultValue: 'WARNING' })
  severity!: SeverityValue;

  @Field(() => [AlertLabelInput], { defaultValue: [] })
  labels!: AlertLabelInput[];
}

@InputType({ description: 'Fields left out keep their value.' })
export class UpdateAlertRuleInput {
  @Field(() => String, { nullable: true })
  name?: string | null;

  @Field(() => String, { nullable: true })
  deployment?: string | null;

  @Field(() => String, { nullable: true })
  metric?: string | null;

  @Field(() => AlertComparison, { nullable: true })
  comparison?: ComparisonValue | null;

  @Field(() => Float, { nullable: true })
  threshold?: number | null;

  @Field(() => Int, { nullable: true })
  forSeconds?: number | null;

  @Field(() => AlertSeverity, { nullable: true })
  severity?: SeverityValue | null;

  @Field(() => [AlertLabelInput], { nullable: true, description: 'Replaces all labels.' })
  labels?: AlertLabelInput[] | null;
}

@InputType()
export class MetricSampleInput {
  @Field(() => String)
  deployment!: string;

  @Field(() => String)
  metric!: string;

  @Field(() => Float)
  value!: number;

  @Field(() => Date, { nullable: true, description: 'Default: now.' })
  at?: Date | null;
}

@InputType()
export class AlertFilter {
  @Field(() => [AlertState], { nullable: true })
  states?: AlertStateValue[] | null;

  @Field(() => String, { nullable: true })
  deployment?: string | null;

  @Field(() => AlertSeverity, { nullable: true })
  severity?: SeverityValue | null;
}

@InputType()
export class AlertEventFilter {
  @Field(() => String, { nullable: true })
  deployment?: string | null;

  @Field(() => AlertSeverity, { nullable: true })
  severity?: SeverityValue | null;

  @Field(() => [AlertEventType], { nullable: true, description: 'Default: every type.' })
  types?: AlertEventTypeValue[] | null;

  @Field(() => Boolean, {
    defaultValue: false,
    description: 'Events raised while a silence matched are left out unless this is true.',
  })
  includeSilenced!: boolean;
}

@InputType()
export class SilenceMatcherInput {
  @Field(() => String)
  name!: string;

  @Field(() => String)
  value!: string;

  @Field(() => Boolean, { defaultValue: false })
  isRegex!: boolean;

  @Field(() => Boolean, { defaultValue: true, description: 'false negates the match.' })
  isEqual!: boolean;
}

@InputType()
export class CreateSilenceInput {
  @Field(() => [SilenceMatcherInput])
  matchers!: SilenceMatcherInput[];

  @Field(() => Date, { nullable: true, description: 'Default: now.' })
  startsAt?: Date | null;

  @Field(() => Date, { description: 'After startsAt and in the future.' })
  endsAt!: Date;

  @Field(() => String, {
    nullable: true,
    description: 'When given, must be the verified caller (FORBIDDEN otherwise).',
    deprecationReason:
      'The verified caller is recorded as the creator; a value given must equal it. Omit it.',
  })
  createdBy?: string | null;

  @Field(() => String, { defaultValue: '' })
  comment!: string;
}
