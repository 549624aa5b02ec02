/** Values the API and the database share; the GraphQL enums are built from these lists. */
export const ALERT_STATES = ['PENDING', 'FIRING', 'RESOLVED'] as const;
export type AlertState = (typeof ALERT_STATES)[number];

export const ALERT_EVENT_TYPES = ['PENDING', 'FIRING', 'RESOLVED', 'ACKNOWLEDGED'] as const;
export type AlertEventType = (typeof ALERT_EVENT_TYPES)[number];

export const COMPARISONS = ['GT', 'GTE', 'LT', 'LTE', 'EQ', 'NE'] as const;
export type Comparison = (typeof COMPARISONS)[number];

export const SEVERITIES = ['INFO', 'WARNING', 'CRITICAL'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** Whether `value <comparison> threshold` holds. */
export function compare(value: number, comparison: Comparison, threshold: number): boolean {
  switch (comparison) {
    case 'GT':
      return value > threshold;
    case 'GTE':
      return value >= threshold;
    case 'LT':
      return value < threshold;
    case 'LTE':
      return value <= threshold;
    case 'EQ':
      return value === threshold;
    case 'NE':
      return value !== threshold;
    default: {
      const _exhaustive: never = comparison;
      throw new Error(`Unknown comparison ${String(_exhaustive)}`);
    }
  }
}

/** The open alert of a fingerprint as evaluation sees it; null when there is none. */
export interface OpenAlert {
  readonly id: string;
  readonly state: Exclude<AlertState, 'RESOLVED'>;
  readonly activeAt: number;
}

/** What one evaluation of one rule does to its alert, Prometheus-style. */
export type Transition =
  /** Condition true and no open alert: a new incident, FIRING at once when `forSeconds` is 0. */
  | { readonly kind: 'open'; readonly state: Exclude<AlertState, 'RESOLVED'>; readonly value: number }
  /** PENDING for at least `forSeconds`: FIRING. */
  | { readonly kind: 'fire'; readonly alertId: string; readonly value: number }
  /** Condition false (or no fresh sample) with an open alert, PENDING or FIRING: RESOLVED. */
  | { readonly kind: 'resolve'; readonly alertId: string; readonly value: number | null }
  /** Still PENDING (not long enough) or still FIRING: only the last value moves, no event. */
  | { readonly kind: 'hold'; readonly alertId: string; readonly value: number }
  | { readonly kind: 'none' };

/**
 * The next step of an alert given the condition now. `value` is the sample evaluated (null when
 * there is no fresh one, which makes the condition false).
 */
export function planTransition(
  open: OpenAlert | null,
  condition: boolean,
  value: number | null,
  forSeconds: number,
  now: number,
): Transition {
  if (!condition || value === null) {
    return open ? { kind: 'resolve', alertId: open.id, value } : { kind: 'none' };
  }
  if (!open) return { kind: 'open', state: forSeconds === 0 ? 'FIRING' : 'PENDING', value };
  if (open.state === 'PENDING' && now - open.activeAt >= forSeconds * 1000)
    return { kind: 'fire', alertId: open.id, value };
  return { kind: 'hold', alertId: open.id, value };
}
