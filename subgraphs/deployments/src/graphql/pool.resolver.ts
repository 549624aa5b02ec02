import { Arg, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import { createPool, endpointsOfPool, getPool, heartbeat, listPools, registerEndpoint } from '../store/pools';
import type { DeploymentsContext } from './context';
import { toEndpointNode, toPoolNode } from './mappers';
import { ServingEndpoint, ServingPool } from './types';

@Resolver(() => ServingPool)
export class ServingPoolResolver {
  @Query(() => ServingPool, { description: 'NOT_FOUND for an unknown pool.' })
  async servingPool(
    @Arg('name', () => String) name: string,
    @Ctx() { db }: DeploymentsContext,
  ): Promise<ServingPool> {
    return toPoolNode(await getPool(db.knex, name, 'name'));
  }

  @Query(() => [ServingPool])
  async servingPools(@Ctx() { db }: DeploymentsContext): Promise<ServingPool[]> {
    return (await listPools(db.knex)).map(toPoolNode);
  }

  @FieldResolver(() => [ServingEndpoint])
  async endpoints(@Root() pool: ServingPool, @Ctx() { db, heartbeatTimeoutMs }: DeploymentsContext) {
    const now = db.clock.now();
    return (await endpointsOfPool(db.knex, pool.name)).map((e) => toEndpointNode(e, now, heartbeatTimeoutMs));
  }

  @Mutation(() => ServingPool, { description: 'CONFLICT when the name is taken.' })
  async createServingPool(@Arg('name', () => String) name: string, @Ctx() { db }: DeploymentsContext) {
    return toPoolNode(await createPool(db, name));
  }

  @Mutation(() => ServingEndpoint, {
    description:
      'Called by a sidecar at start-up: the same pool and address give the same endpoint again (and count as a heartbeat).',
  })
  async registerEndpoint(
    @Arg('pool', () => String) pool: string,
    @Arg('grpcAddress', () => String) grpcAddress: string,
    @Ctx() { db, heartbeatTimeoutMs }: DeploymentsContext,
  ): Promise<ServingEndpoint> {
    return toEndpointNode(await registerEndpoint(db, pool, grpcAddress), db.clock.now(), heartbeatTimeoutMs);
  }

  @Mutation(() => ServingEndpoint, {
    description: 'Keeps an endpoint UP; without one for ENDPOINT_HEARTBEAT_TIMEOUT_MS it reports DOWN.',
  })
  async heartbeat(
    @Arg('endpointId', () => ID) endpointId: string,
    @Ctx() { db, heartbeatTimeoutMs }: DeploymentsContext,
  ): Promise<ServingEndpoint> {
    return toEndpointNode(await heartbeat(db, endpointId), db.clock.now(), heartbeatTimeoutMs);
  }

  @Mutation(() => ServingPool, {
    description:
      "Calls every endpoint's gRPC ServerReady now and records UP or DOWN (also done periodically).",
  })
  async probeServingPool(
    @Arg('name', () => String) name: string,
    @Ctx() { db, prober }: DeploymentsContext,
  ): Promise<ServingPool> {
    const pool = await getPool(db.knex, name, 'name');
    await prober.probe(pool.name);
    return toPoolNode(pool);
  }
}
