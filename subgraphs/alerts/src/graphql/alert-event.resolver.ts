import { Arg, Ctx, FieldResolver, ID, Int, Query, Resolver, Root, Subscription } from 'type-graphql';
import type { SubscribeResolverData } from 'type-graphql';
import { badInput, validatePageSize } from '@mlops/runtime';
import { openAlertEventStream } from '../events/alert-event-stream';
import { getAlert } from '../store/alerts';
import { eventsAfter } from '../store/events';
import type { EventFilter } from '../store/events';
import type { AlertEventRecord } from '../store/records';
import type { AlertsContext } from './context';
import { AlertEventFilter } from './inputs';
import { toAlertNode, toEventNode } from './mappers';
import { Alert, AlertEvent, AlertEventPage, Deployment } from './types';

/** A cursor as clients pass it: the decimal event number; BAD_USER_INPUT naming `field` otherwise. */
export function parseCursor(field: string, value: string | null | undefined): number | null {
  if (value === null || value === undefined) return null;
  if (!/^\d{1,15}$/.test(value))
    throw badInput(field, `${field} must be an event cursor (digits); got '${value}'`);
  return Number(value);
}

const toFilter = (filter: AlertEventFilter | null | undefined): EventFilter => ({
  deployment: filter?.deployment ?? null,
  severity: filter?.severity ?? null,
  types: filter?.types ?? null,
  includeSilenced: filter?.includeSilenced ?? false,
});

interface AlertEventsArgs {
  readonly [name: string]: unknown;
  readonly after?: string | null;
  readonly filter?: AlertEventFilter | null;
}

@Resolver(() => AlertEvent)
export class AlertEventResolver {
  @Query(() => AlertEventPage, {
    description:
      'Events with a cursor above `after` (default: from the start), oldest first; `first` 1…1000, default 100.',
  })
  async alertEventsPage(
    @Arg('after', () => ID, { nullable: true }) after: string | null,
    @Arg('first', () => Int, { nullable: true }) first: number | null,
    @Arg('filter', () => AlertEventFilter, { nullable: true }) filter: AlertEventFilter | null,
    @Ctx() { db }: AlertsContext,
  ): Promise<AlertEventPage> {
    const from = parseCursor('after', after) ?? 0;
    const size = validatePageSize(first);
    const events = await eventsAfter(db.knex, from, size + 1, toFilter(filter));
    const page = events.slice(0, size);
    return {
      events: page.map(toEventNode),
      endCursor: page.length > 0 ? String(page[page.length - 1]!.cursor) : after,
      hasMore: events.length > size,
    };
  }

  @Subscription(() => AlertEvent, {
    description:
      'Replays every event with a cursor above `after` (none when `after` is omitted), then follows live events, in cursor order with no gap and no duplicate. Resume after a disconnect with the last cursor received.',
    subscribe: async ({ args, context }: SubscribeResolverData<unknown, AlertEventsArgs, AlertsContext>) => {
      const { after, filter } = args;
      return openAlertEventStream({
        knex: context.db.knex,
        pubsub: context.pubsub,
        channel: context.channel,
        after: parseCursor('after', after),
        filter: toFilter(filter),
        catchupIntervalMs: context.catchupIntervalMs,
        logger: context.logger,
      });
    },
  })
  alertEvents(
    @Root() event: AlertEventRecord,
    @Arg('after', () => ID, { nullable: true }) _after: string | null,
    @Arg('filter', () => AlertEventFilter, { nullable: true }) _filter: AlertEventFilter | null,
  ): AlertEvent {
    return toEventNode(event);
  }

  @FieldResolver(() => Alert)
  async alert(@Root() event: AlertEvent, @Ctx() { db }: AlertsContext): Promise<Alert> {
    return toAlertNode(await getAlert(db.knex, event.alertId));
  }

  @FieldResolver(() => Deployment)
  deployment(@Root() event: AlertEvent): Deployment {
    return { name: event.deploymentName };
  }
}
