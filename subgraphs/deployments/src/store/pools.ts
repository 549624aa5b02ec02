import { randomUUID } from 'node:crypto';
import { ErrorCode } from '@mlops/schema';
import { DomainError, badInput, validateName } from '@mlops/runtime';
import type { Database } from '@mlops/runtime/database';
import type { Knex } from '@mikro-orm/knex';
import type { EndpointRecord, PoolRecord } from './records';
import { toEndpointRecord, toPoolRecord } from './records';

export const MAX_NAME_LENGTH = 250;

/** `host:port` or `[ipv6]:port`, as gRPC clients take it. */
const ADDRESS_PATTERN = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):(\d{1,5})$/;

export async function createPool(db: Database, rawName: string): Promise<PoolRecord> {
  const name = validateName('name', rawName, MAX_NAME_LENGTH);
  const row = { name, created_at: db.clock.now() };
  try {
    await db.knex('serving_pools').insert(row);
  } catch (error) {
    if (db.isUniqueViolation(error))
      throw new DomainError(ErrorCode.CONFLICT, `A serving pool named '${name}' already exists`, {
        field: 'name',
      });
    throw error;
  }
  return toPoolRecord(row);
}

/** The pool, or NOT_FOUND naming `field`. */
export async function getPool(knex: Knex, name: string, field = 'pool'): Promise<PoolRecord> {
  const row = await knex('serving_pools').where({ name }).first();
  if (!row) throw new DomainError(ErrorCode.NOT_FOUND, `No serving pool named '${name}'`, { field });
  return toPoolRecord(row);
}

export async function listPools(knex: Knex): Promise<PoolRecord[]> {
  return (await knex('serving_pools').orderBy('name')).map(toPoolRecord);
}

/**
 * A sidecar announces itself: the first call creates the endpoint, later calls with the same pool and
 * address return the same endpoint and count as a heartbeat. `previous` is the endpoint as it was
 * before this call (null when the call created it).
 */
export async function registerEndpoint(
  db: Database,
  pool: string,
  grpcAddress: string,
): Promise<{ endpoint: EndpointRecord; previous: EndpointRecord | null }> {
  const address = grpcAddress.trim();
  const port = Number(ADDRESS_PATTERN.exec(address)?.[2] ?? NaN);
  if (!(port >= 1 && port <= 65_535))
    throw badInput('grpcAddress', `grpcAddress must be host:port with a port 1–65535; got '${grpcAddress}'`);
  await getPool(db.knex, pool);
  const before: Record<string, unknown> | undefined = await db
    .knex('serving_endpoints')
    .where({ pool_name: pool, grpc_address: address })
    .first();
  const now = db.clock.now();
  await db
    .knex('serving_endpoints')
    .insert({
      id: randomUUID(),
      pool_name: pool,
      grpc_address: address,
      last_heartbeat_at: now,
      created_at: now,
    })
    .onConflict(['pool_name', 'grpc_address'])
    .merge(['last_heartbeat_at']);
  const endpoint = toEndpointRecord(
    await db.knex('serving_endpoints').where({ pool_name: pool, grpc_address: address }).first(),
  );
  return { endpoint, previous: before ? toEndpointRecord(before) : null };
}

export async function heartbeat(db: Database, endpointId: string): Promise<EndpointRecord> {
  const updated = await db
    .knex('serving_endpoints')
    .where({ id: endpointId })
    .update({ last_heartbeat_at: db.clock.now() });
  if (updated === 0)
    throw new DomainError(ErrorCode.NOT_FOUND, `No serving endpoint with id '${endpointId}'`, {
      field: 'endpointId',
    });
  return toEndpointRecord(await db.knex('serving_endpoints').where({ id: endpointId }).first());
}

/**
 * A sidecar leaving its pool (graceful shutdown): deletes the endpoint and returns it as it was.
 * Deleted rather than marked: an endpoint is only its row (UP/DOWN is derived from heartbeat and
 * probe), and the pod that comes back registers a new address anyway. NOT_FOUND when there is no
 * such endpoint (never registered, already left, or pruned).
 */
export async function deregisterEndpoint(db: Database, endpointId: string): Promise<EndpointRecord> {
  const row: Record<string, unknown> | undefined = await db
    .knex('serving_endpoints')
    .where({ id: endpointId })
    .first();
  // The delete's count decides, so two concurrent calls answer one endpoint and one NOT_FOUND.
  const deleted = row ? await db.knex('serving_endpoints').where({ id: endpointId }).delete() : 0;
  if (!row || deleted === 0)
    throw new DomainError(ErrorCode.NOT_FOUND, `No serving endpoint with id '${endpointId}'`, {
      field: 'endpointId',
    });
  return toEndpointRecord(row);
}

/**
 * Deletes every endpoint that has been DOWN for want of heartbeats for longer than `pruneAfterMs`
 * (its last heartbeat is older than `heartbeatTimeoutMs + pruneAfterMs`) and returns how many went.
 * One conditional DELETE, so replicas sweeping at once delete each row once and never a row a
 * heartbeat has just renewed. An endpoint DOWN only by its probe still heartbeats and is kept.
 */
export async function pruneSilentEndpoints(
  db: Database,
  heartbeatTimeoutMs: number,
  pruneAfterMs: number,
): Promise<number> {
  const cutoff = db.clock.now() - heartbeatTimeoutMs - pruneAfterMs;
  return db.knex('serving_endpoints').where('last_heartbeat_at', '<', cutoff).delete();
}

export async function endpointsOfPool(knex: Knex, pool: string): Promise<EndpointRecord[]> {
  return (await knex('serving_endpoints').where({ pool_name: pool }).orderBy('grpc_address')).map(
    toEndpointRecord,
  );
}

export async function allEndpoints(knex: Knex): Promise<EndpointRecord[]> {
  return (await knex('serving_endpoints').orderBy('grpc_address')).map(toEndpointRecord);
}

export async function recordProbe(
  db: Database,
  endpointId: string,
  status: 'UP' | 'DOWN',
  message: string | null,
): Promise<void> {
  await db
    .knex('serving_endpoints')
    .where({ id: endpointId })
    .update({ probe_status: status, probe_message: message, probed_at: db.clock.now() });
}

/** UP or DOWN with the reason: a stale heartbeat wins over the last probe. */
export function endpointHealth(
  endpoint: EndpointRecord,
  now: number,
  heartbeatTimeoutMs: number,
): { status: 'UP' | 'DOWN'; reason: string | null } {
  const silentFor = now - endpoint.lastHeartbeatAt;
  if (silentFor > heartbeatTimeoutMs)
    return { status: 'DOWN', reason: `No heartbeat for ${silentFor} ms (timeout ${heartbeatTimeoutMs} ms)` };
  if (endpoint.probe?.status === 'DOWN') return { status: 'DOWN', reason: endpoint.probe.message };
  return { status: 'UP', reason: null };
}
