import { ConfigError, createLogger } from '@mlops/runtime';
import { createDatabase, migrateToLatest } from '@mlops/runtime/database';
import type { Database } from '@mlops/runtime/database';
import { readDeploymentsConfig, startDeploymentsService } from '../src';
import type { DeploymentsService } from '../src';
import { createEndpointProber } from '../src/controller/endpoint-prober';
import type { SidecarConnector } from '../src/sidecar/sidecar-client';
import { createDeploymentsOrm } from '../src/store/orm';
import type { DeploymentsOrm } from '../src/store/orm';
import {
  createPool,
  endpointHealth,
  endpointsOfPool,
  pruneSilentEndpoints,
  recordProbe,
  registerEndpoint,
} from '../src/store/pools';
import type { TestDatabase } from './support';
import { backends, createTestClock, createTestDatabase, eventually } from './support';

const HEARTBEAT_TIMEOUT_MS = 15_000;
const GRACE_MS = 60_000;
const logger = createLogger({ service: 'deployments', level: 'silent' });
/** Sidecars that are never there: the sweeps here must not depend on probing. */
const noSidecars: SidecarConnector = {
  client: () => {
    throw new Error('no sidecar in this suite');
  },
  close: () => undefined,
};

/**
 * Endpoints whose heartbeats stopped (a pod restarted with a new IP) are deleted once DOWN past
 * ENDPOINT_PRUNE_AFTER_MS, by any replica, and never twice.
 */
describe.each(backends())('endpoint pruning on %s', (kind) => {
  let database: TestDatabase;
  /** Two connection pools on one database: what two replicas of the subgraph hold. */
  let orms: DeploymentsOrm[];
  let replicas: Database[];
  const clock = createTestClock();
  let counter = 0;
  const unique = (prefix: string) => `${prefix}-${++counter}`;

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    orms = [await createDeploymentsOrm(database.config)];
    await migrateToLatest(orms[0]!);
    orms.push(await createDeploymentsOrm(database.config));
    replicas = orms.map((orm) => createDatabase(orm, kind, clock));
  });
  afterAll(async () => {
    for (const orm of orms ?? []) await orm.close();
    await database?.drop();
  });

  const addressesOf = async (pool: string) =>
    (await endpointsOfPool(replicas[0]!.knex, pool)).map((e) => e.grpcAddress);

  it('should delete only the endpoints DOWN for want of heartbeats for longer than the grace period', async () => {
    const db = replicas[0]!;
    const pool = unique('pool');
    await createPool(db, pool);
    await registerEndpoint(db, pool, '10.1.0.1:8001'); // silent 80 s: DOWN 65 s, past the grace
    clock.advance(5_000);
    await registerEndpoint(db, pool, '10.1.0.2:8001'); // silent 75 s: DOWN exactly the grace, kept
    clock.advance(45_000);
    await registerEndpoint(db, pool, '10.1.0.3:8001'); // silent 30 s: DOWN 15 s, within the grace
    clock.advance(30_000);
    await registerEndpoint(db, pool, '10.1.0.4:8001'); // heartbeating: UP
    const probedDown = (await registerEndpoint(db, pool, '10.1.0.5:8001')).endpoint;
    await recordProbe(db, probedDown.id, 'DOWN', 'connection refused'); // DOWN by probe, heartbeating
    const before = await endpointsOfPool(db.knex, pool);
    expect(before.map((e) => endpointHealth(e, clock.now(), HEARTBEAT_TIMEOUT_MS).status)).toEqual([
      'DOWN',
      'DOWN',
      'DOWN',
      'UP',
      'DOWN',
    ]);

    expect(await pruneSilentEndpoints(db, HEARTBEAT_TIMEOUT_MS, GRACE_MS)).toBe(1);

    expect(await addressesOf(pool)).toEqual([
      '10.1.0.2:8001',
      '10.1.0.3:8001',
      '10.1.0.4:8001',
      '10.1.0.5:8001',
    ]);
  });

  it('should delete each row once when replicas prune at the same moment', async () => {
    // Earlier tests' endpoints go first, so that what the replicas delete below is only this pool's.
    clock.advance(HEARTBEAT_TIMEOUT_MS + GRACE_MS + 1);
    await pruneSilentEndpoints(replicas[0]!, HEARTBEAT_TIMEOUT_MS, GRACE_MS);
    const pool = unique('pool');
    await createPool(replicas[0]!, pool);
    for (let i = 1; i <= 25; i++) await registerEndpoint(replicas[i % 2]!, pool, `10.2.0.${i}:8001`);
    clock.advance(HEARTBEAT_TIMEOUT_MS + GRACE_MS + 1);
    await registerEndpoint(replicas[1]!, pool, '10.2.0.7:8001'); // a heartbeat just in time

    const counts = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        pruneSilentEndpoints(replicas[i % 2]!, HEARTBEAT_TIMEOUT_MS, GRACE_MS),
      ),
    );

    expect(counts.reduce((sum, n) => sum + n, 0)).toBe(24);
    expect(await addressesOf(pool)).toEqual(['10.2.0.7:8001']);
    expect(await pruneSilentEndpoints(replicas[1]!, HEARTBEAT_TIMEOUT_MS, GRACE_MS)).toBe(0);
  });

  it('should never delete with ENDPOINT_PRUNE_AFTER_MS=0', async () => {
    const pool = unique('pool');
    await createPool(replicas[0]!, pool);
    await registerEndpoint(replicas[0]!, pool, '10.4.0.1:8001');
    clock.advance(365 * 24 * 3_600_000);
    const prober = createEndpointProber({
      db: replicas[0]!,
      sidecars: noSidecars,
      logger,
      intervalMs: 0,
      heartbeatTimeoutMs: HEARTBEAT_TIMEOUT_MS,
      pruneAfterMs: 0,
    });

    expect(await prober.prune()).toBe(0);

    prober.stop();
    expect(await addressesOf(pool)).toEqual(['10.4.0.1:8001']);
  });

  describe('on the periodic sweep of running replicas', () => {
    const services: DeploymentsService[] = [];
    afterAll(async () => {
      for (const service of services) await service.close();
    });

    it('should prune long-silent endpoints with probing off, two replicas sweeping the same rows', async () => {
      for (let i = 0; i < 2; i++)
        services.push(
          await startDeploymentsService({
            config: {
              ...readDeploymentsConfig({}),
              port: 0,
              database: database.config,
              migrateOnStart: false,
              heartbeatTimeoutMs: HEARTBEAT_TIMEOUT_MS,
              probeIntervalMs: 0,
              pruneAfterMs: 1_000, // the shortest sweep period: once a second
            },
            clock,
            logger,
            sidecars: noSidecars,
          }),
        );
      const pool = unique('pool');
      await createPool(replicas[0]!, pool);
      await registerEndpoint(replicas[0]!, pool, '10.5.0.1:8001');
      await registerEndpoint(replicas[0]!, pool, '10.5.0.2:8001');
      clock.advance(HEARTBEAT_TIMEOUT_MS + 1_001);
      await registerEndpoint(replicas[1]!, pool, '10.5.0.2:8001'); // a heartbeat: stays

      await eventually(async () => (await addressesOf(pool)).length === 1);

      expect(await addressesOf(pool)).toEqual(['10.5.0.2:8001']);
    });
  });
});

describe('ENDPOINT_PRUNE_AFTER_MS', () => {
  it('should default to one hour and take 0 (never) or a number of milliseconds', () => {
    expect(readDeploymentsConfig({}).pruneAfterMs).toBe(3_600_000);
    expect(readDeploymentsConfig({ ENDPOINT_PRUNE_AFTER_MS: '0' }).pruneAfterMs).toBe(0);
    expect(readDeploymentsConfig({ ENDPOINT_PRUNE_AFTER_MS: ' 90000 ' }).pruneAfterMs).toBe(90_000);
  });

  it.each(['-1', '1h', '1.5', '1e3'])("should refuse '%s' at start-up, naming the variable", (value) => {
    const read = () => readDeploymentsConfig({ ENDPOINT_PRUNE_AFTER_MS: value });
    expect(read).toThrow(ConfigError);
    expect(read).toThrow(/ENDPOINT_PRUNE_AFTER_MS must be an integer/);
  });
});
