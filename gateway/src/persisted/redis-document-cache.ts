import type { KeyValueCache } from '@apollo/utils.keyvaluecache';
import type { Redis } from 'ioredis';
import type { Logger } from '@mlops/runtime';

/**
 * Apollo's persisted-query cache in Redis, so a query registered through one gateway replica is
 * known to all. Redis errors count as misses (the client sends the full query again) and failed
 * writes are logged, never failing the request.
 */
export function createRedisDocumentCache(
  redis: Redis,
  prefix: string,
  logger: Logger,
): KeyValueCache<string> {
  return {
    async get(key) {
      try {
        return (await redis.get(prefix + key)) ?? undefined;
      } catch (error) {
        logger.warn({ err: error }, 'persisted query cache unavailable; treated as a miss');
        return undefined;
      }
    },
    async set(key, value, options) {
      try {
        if (options?.ttl) await redis.set(prefix + key, value, 'EX', options.ttl);
        else await redis.set(prefix + key, value);
      } catch (error) {
        logger.warn({ err: error }, 'persisted query cache unavailable; query not stored');
      }
    },
    async delete(key) {
      try {
        return (await redis.del(prefix + key)) > 0;
      } catch {
        return false;
      }
    },
  };
}
