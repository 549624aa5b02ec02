import { Alert } from './alert.entity';
import { AlertEvent } from './alert-event.entity';
import { AlertRule } from './alert-rule.entity';
import { MetricSample } from './metric-sample.entity';
import { Silence } from './silence.entity';

export { Alert, AlertEvent, AlertRule, MetricSample, Silence };

export const ENTITIES = [AlertRule, Alert, AlertEvent, Silence, MetricSample];
