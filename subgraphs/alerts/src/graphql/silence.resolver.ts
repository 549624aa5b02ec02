import { Arg, Ctx, Directive, ID, Mutation, Query, Resolver } from 'type-graphql';
import { createSilence, expireSilence, listSilences } from '../store/silences';
import type { AlertsContext } from './context';
import { CreateSilenceInput } from './inputs';
import { toSilenceNode } from './mappers';
import { Silence } from './types';
import { ALERT_MANAGERS } from './access';
import { actingCaller } from './acting-caller';

@Resolver(() => Silence)
export class SilenceResolver {
  @Query(() => [Silence], {
    description: 'Newest first. active: true for those in force now, false for expired or not yet started.',
  })
  async silences(
    @Arg('active', () => Boolean, { nullable: true }) active: boolean | null,
    @Ctx() { db }: AlertsContext,
  ): Promise<Silence[]> {
    const now = db.clock.now();
    return (await listSilences(db.knex, now, active)).map((s) => toSilenceNode(s, now));
  }

  @Directive(ALERT_MANAGERS)
  @Mutation(() => Silence, {
    description:
      'Records the verified caller as the creator (createdBy). BAD_USER_INPUT naming the field: no matchers, a bad label name or regex (matchers[i].name/value), endsAt not after startsAt or not in the future; FORBIDDEN when `createdBy` names anyone else.',
  })
  async createSilence(
    @Arg('input', () => CreateSilenceInput) input: CreateSilenceInput,
    @Ctx() { db, identity }: AlertsContext,
  ): Promise<Silence> {
    const createdBy = actingCaller(identity, input.createdBy, {
      field: 'createdBy',
      action: 'Creating a silence',
    });
    const silence = await createSilence(db, {
      matchers: input.matchers,
      startsAt: input.startsAt ? input.startsAt.getTime() : null,
      endsAt: input.endsAt.getTime(),
      createdBy,
      comment: input.comment ?? '',
    });
    return toSilenceNode(silence, db.clock.now());
  }

  @Directive(ALERT_MANAGERS)
  @Mutation(() => Silence, {
    description: 'Ends the silence now. NOT_FOUND; INVALID_STATE when already expired.',
  })
  async expireSilence(@Arg('id', () => ID) id: string, @Ctx() { db }: AlertsContext): Promise<Silence> {
    return toSilenceNode(await expireSilence(db, id), db.clock.now());
  }
}
