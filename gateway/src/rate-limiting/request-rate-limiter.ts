import type { IncomingMessage } from 'node:http';
import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import { RateLimitedError } from '@mlops/runtime';
import type { Logger } from '@mlops/runtime';
import type { Identity } from '@mlops/schema';

export interface RateLimits {
  /** Requests one client address may make per window; 0 turns the per-address limit off. */
  readonly perIp: number;
  /** Requests one verified caller (JWT subject) may make per window; 0 turns it off. */
  readonly perIdentity: number;
  /** The window, in seconds. */
  readonly windowSeconds: number;
  /** Take the client address from the first `X-Forwarded-For` hop (behind a trusted proxy only). */
  readonly trustProxy: boolean;
  /** Prefix of the counters' Redis keys; default `mlops:ratelimit`. */
  readonly keyPrefix?: string;
}

export interface RequestRateLimiter {
  /**
   * Counts one request against its address and, when verified, its caller; throws
   * `RateLimitedError` (429 with `Retry-After`) when either is over its limit.
   */
  admit(request: IncomingMessage, identity: Identity | null): Promise<void>;
}

/**
 * Rate limits shared by every gateway replica through Redis (`rate-limiter-flexible`); without
 * Redis, or while it is unreachable, each replica counts in its own memory instead of failing open
 * or closed on every request.
 */
export function createRequestRateLimiter(
  limits: RateLimits,
  redis: Redis | undefined,
  logger: Logger,
): RequestRateLimiter {
  const limiter = (prefix: string, points: number): RateLimiterAbstract | undefined => {
    if (points <= 0) return undefined;
    const memory = new RateLimiterMemory({ keyPrefix: prefix, points, duration: limits.windowSeconds });
    if (!redis) return memory;
    return new RateLimiterRedis({
      storeClient: redis,
      keyPrefix: `${limits.keyPrefix ?? 'mlops:ratelimit'}:${prefix}`,
      points,
      duration: limits.windowSeconds,
      rejectIfRedisNotReady: true,
      insuranceLimiter: memory,
    });
  };
  const byIp = limiter('ip', limits.perIp);
  const byIdentity = limiter('identity', limits.perIdentity);

  const consume = async (limiterFor: RateLimiterAbstract | undefined, key: string, what: string) => {
    if (!limiterFor) return;
    try {
      await limiterFor.consume(key);
    } catch (rejection) {
      if (rejection instanceof RateLimiterRes) {
        throw new RateLimitedError(
          `Too many requests from this ${what}: at most ${limiterFor.points} per ${limits.windowSeconds} s`,
          Math.max(1, Math.ceil(rejection.msBeforeNext / 1000)),
        );
      }
      // The store failed and there is no insurance left: let the request through, loudly.
      logger.warn({ err: rejection }, 'rate limiter unavailable; request admitted');
    }
  };

  return {
    async admit(request, identity) {
      await consume(byIp, clientAddress(request, limits.trustProxy), 'address');
      if (identity) await consume(byIdentity, `${identity.issuer ?? ''}|${identity.subject}`, 'caller');
    },
  };
}

function clientAddress(request: IncomingMessage, trustProxy: boolean): string {
  if (trustProxy) {
    const forwarded = request.headers['x-forwarded-for'];
    const first = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',')[0]?.trim();
    if (first) return first;
  }
  return request.socket.remoteAddress ?? 'unknown';
}
