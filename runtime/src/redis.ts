import { Redis } from 'ioredis';
import type { ReadinessCheck } from './readiness';

/**
 * A Redis client that connects lazily (nothing connects at import or construction time) and
 * retries with capped backoff, so a Redis restart never crashes the service.
 */
export function createRedisClient(url: string): Redis {
  return new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 2,
    enableOfflineQueue: true,
    retryStrategy: (attempt) => Math.min(attempt * 100, 2_000),
  });
}

export function redisReadinessCheck(redis: Redis): ReadinessCheck {
  return {
    name: 'redis',
    async check() {
      if (redis.status === 'wait') await redis.connect();
      await redis.ping();
    },
  };
}
