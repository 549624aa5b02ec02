import { Arg, Ctx, Directive, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { validatePageSize } from '@mlops/runtime';
import { getAlert, listAlerts } from '../store/alerts';
import { findRules } from '../store/rules';
import { isSilenced } from '../store/silences';
import type { AlertsContext } from './context';
import { AlertFilter } from './inputs';
import { toAlertNode, toRuleNode } from './mappers';
import { Alert, AlertRule, Deployment } from './types';
import { ANY_CALLER } from './access';
import { actingCaller } from './acting-caller';

@Resolver(() => Alert)
export class AlertResolver {
  @Query(() => Alert, { description: 'NOT_FOUND for an unknown id.' })
  async alert(@Arg('id', () => ID) id: string, @Ctx() { db }: AlertsContext): Promise<Alert> {
    return toAlertNode(await getAlert(db.knex, id));
  }

  @Query(() => [Alert], { description: 'Newest incidents first; `first` 1…1000, default 100.' })
  async alerts(
    @Arg('filter', () => AlertFilter, { nullable: true }) filter: AlertFilter | null,
    @Arg('first', () => Int, { nullable: true }) first: number | null,
    @Ctx() { db }: AlertsContext,
  ): Promise<Alert[]> {
    return (await listAlerts(db.knex, filter ?? {}, validatePageSize(first))).map(toAlertNode);
  }

  @FieldResolver(() => AlertRule, { nullable: true, description: 'Null once the rule is deleted.' })
  async rule(@Root() alert: Alert, @Ctx() { db }: AlertsContext): Promise<AlertRule | null> {
    const rule = (await findRules(db.knex, [alert.ruleId])).get(alert.ruleId);
    return rule ? toRuleNode(rule) : null;
  }

  @FieldResolver(() => Deployment, { description: 'The deployment (deployments subgraph).' })
  deployment(@Root() alert: Alert): Deployment {
    return { name: alert.deploymentName };
  }

  @FieldResolver(() => Boolean, {
    description: 'Whether an active silence matches the alert now: its notifications are suppressed.',
  })
  async silenced(@Root() alert: Alert, @Ctx() context: AlertsContext): Promise<boolean> {
    return isSilenced(await context.activeSilences(), alert);
  }

  @Directive(ANY_CALLER)
  @Mutation(() => Alert, {
    description:
      'Records the verified caller as having acknowledged an open alert (an ACKNOWLEDGED event). NOT_FOUND, INVALID_STATE when RESOLVED, CONFLICT when already acknowledged; FORBIDDEN when `by` names anyone else.',
  })
  async acknowledgeAlert(
    @Arg('id', () => ID) id: string,
    @Arg('by', () => String, {
      nullable: true,
      description: 'When given, must be the verified caller (FORBIDDEN otherwise).',
      deprecationReason: 'The verified caller is recorded; omit it.',
    })
    by: string | null | undefined,
    @Arg('comment', () => String, { nullable: true }) comment: string | null,
    @Ctx() { identity, operations }: AlertsContext,
  ): Promise<Alert> {
    const acknowledger = actingCaller(identity, by, { field: 'by', action: 'Acknowledging an alert' });
    return toAlertNode(await operations.acknowledge(id, acknowledger, comment ?? null));
  }
}

/** Extends the deployments subgraph's `Deployment` with its alerts. */
@Resolver(() => Deployment)
export class DeploymentAlertsResolver {
  @FieldResolver(() => [Alert], {
    description: 'Open (PENDING or FIRING) alerts of the deployment, newest first.',
  })
  async openAlerts(@Root() deployment: Deployment, @Ctx() { db }: AlertsContext): Promise<Alert[]> {
    return (
      await listAlerts(db.knex, { deployment: deployment.name, states: ['PENDING', 'FIRING'] }, 1000)
    ).map(toAlertNode);
  }
}
