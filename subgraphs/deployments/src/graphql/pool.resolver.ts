import { Arg, Ctx, Directive, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import {
  createPool,
  deregisterEndpoint,
  endpointsOfPool,
  getPool,
  heartbeat,
  listPools,
  registerEndpoint,
} from '../store/pools';
import { CHANGES_SERVING, ENDPOINT_REGISTRARS } from './access';
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
  async endpoints(
    @Root() pool: ServingPool,
    @Ctx() { db, heartbeatTimeoutMs, reconciler }: DeploymentsContext,
  ) {
    const now = db.clock.now();
    return (await endpointsOfPool(db.knex, pool.name)).map((e) =>
      toEndpointNode(e, now, heartbeatTimeoutMs, reconciler.status(e.id)),
    );
  }

  @Directive(CHANGES_SERVING)
  @Mutation(() => ServingPool, { description: 'CONFLICT when the name is taken.' })
  async createServingPool(@Arg('name', () => String) name: string, @Ctx() { db }: DeploymentsContext) {
    return toPoolNode(await createPool(db, name));
  }

  @Directive(ENDPOINT_REGISTRARS)
  @Mutation(() => ServingEndpoint, {
    description:
      'Called by a sidecar at start-up: the same pool and address give the same endpoint again (and count as a heartbeat). A new endpoint, or one that was DOWN, is given the serving revisions of its pool in the background.',
  })
  async registerEndpoint(
    @Arg('pool', () => String) pool: string,
    @Arg('grpcAddress', () => String) grpcAddress: string,
    @Ctx() { db, heartbeatTimeoutMs, reconciler }: DeploymentsContext,
  ): Promise<ServingEndpoint> {
    const { endpoint, previous } = await registerEndpoint(db, pool, grpcAddress);
    const now = db.clock.now();
    // Answers at once: the reconcile runs in the background and logs its own failures.
    void reconciler.registered(endpoint, previous, now);
    return toEndpointNode(endpoint, now, heartbeatTimeoutMs, reconciler.status(endpoint.id));
  }

  @Directive(ENDPOINT_REGISTRARS)
  @Mutation(() => ServingEndpoint, {
    description:
      'Keeps an endpoint UP; without one for ENDPOINT_HEARTBEAT_TIMEOUT_MS it reports DOWN, and after ENDPOINT_PRUNE_AFTER_MS more it is removed (a later heartbeat answers NOT_FOUND: register again).',
  })
  async heartbeat(
    @Arg('endpointId', () => ID) endpointId: string,
    @Ctx() { db, heartbeatTimeoutMs, reconciler }: DeploymentsContext,
  ): Promise<ServingEndpoint> {
    const endpoint = await heartbeat(db, endpointId);
    return toEndpointNode(endpoint, db.clock.now(), heartbeatTimeoutMs, reconciler.status(endpoint.id));
  }

  @Directive(ENDPOINT_REGISTRARS)
  @Mutation(() => ServingEndpoint, {
    description:
      'Called by a sidecar as it shuts down: removes the endpoint from its pool at once, so rollouts and reconciles no longer target it, and answers it as it was. NOT_FOUND for an unknown endpoint (never registered, already left, or pruned after ENDPOINT_PRUNE_AFTER_MS DOWN).',
  })
  async deregisterEndpoint(
    @Arg('endpointId', () => ID) endpointId: string,
    @Ctx() { db, heartbeatTimeoutMs, reconciler }: DeploymentsContext,
  ): Promise<ServingEndpoint> {
    const endpoint = await deregisterEndpoint(db, endpointId);
    const status = reconciler.status(endpoint.id);
    reconciler.left(endpoint.id);
    return toEndpointNode(endpoint, db.clock.now(), heartbeatTimeoutMs, status);
  }

  @Directive(CHANGES_SERVING)
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
