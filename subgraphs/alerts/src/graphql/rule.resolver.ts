import { Arg, Ctx, Directive, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import { getRule, listRules } from '../store/rules';
import type { AlertsContext } from './context';
import { CreateAlertRuleInput, UpdateAlertRuleInput } from './inputs';
import { toRuleNode } from './mappers';
import { AlertRule, Deployment } from './types';
import { ALERT_MANAGERS } from './access';

@Resolver(() => AlertRule)
export class AlertRuleResolver {
  @Query(() => AlertRule, { description: 'NOT_FOUND for an unknown id.' })
  async alertRule(@Arg('id', () => ID) id: string, @Ctx() { db }: AlertsContext): Promise<AlertRule> {
    return toRuleNode(await getRule(db.knex, id));
  }

  @Query(() => [AlertRule], { description: 'Every rule, by name.' })
  async alertRules(@Ctx() { db }: AlertsContext): Promise<AlertRule[]> {
    return (await listRules(db.knex)).map(toRuleNode);
  }

  @FieldResolver(() => Deployment, { description: 'The deployment watched (deployments subgraph).' })
  deployment(@Root() rule: AlertRule): Deployment {
    return { name: rule.deploymentName };
  }

  @Directive(ALERT_MANAGERS)
  @Mutation(() => AlertRule, {
    description:
      'BAD_USER_INPUT naming the field at fault (name, deployment, metric, forSeconds, labels[i].name, …); CONFLICT for a taken name.',
  })
  async createAlertRule(
    @Arg('input', () => CreateAlertRuleInput) input: CreateAlertRuleInput,
    @Ctx() { operations }: AlertsContext,
  ): Promise<AlertRule> {
    return toRuleNode(await operations.createRule({ ...input, labels: input.labels ?? [] }));
  }

  @Directive(ALERT_MANAGERS)
  @Mutation(() => AlertRule, {
    description:
      'Changes the given fields (validated as on create). When labels, deployment or metric change, the open alert resolves at the next evaluation and a new one may open under the new fingerprint.',
  })
  async updateAlertRule(
    @Arg('id', () => ID) id: string,
    @Arg('input', () => UpdateAlertRuleInput) input: UpdateAlertRuleInput,
    @Ctx() { operations }: AlertsContext,
  ): Promise<AlertRule> {
    return toRuleNode(await operations.updateRule(id, input));
  }

  @Directive(ALERT_MANAGERS)
  @Mutation(() => AlertRule, {
    description:
      'Deletes the rule and resolves its open alerts (RESOLVED events). NOT_FOUND for an unknown id.',
  })
  async deleteAlertRule(
    @Arg('id', () => ID) id: string,
    @Ctx() { operations }: AlertsContext,
  ): Promise<AlertRule> {
    return toRuleNode(await operations.deleteRule(id));
  }
}
