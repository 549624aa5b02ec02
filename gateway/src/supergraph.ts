import { readFile } from 'node:fs/promises';
import { IntrospectAndCompose } from '@apollo/gateway';
import type { SupergraphManager } from '@apollo/gateway';
import { ConfigError } from '@mlops/runtime';
import type { Logger } from '@mlops/runtime';
import { SUBGRAPHS, defaultSubgraphUrl } from '@mlops/schema';
import { subgraphUrlVariable } from './config';
import type { SupergraphSource } from './config';
import { withoutSecurityPurpose } from './auth/access-rules';
import { pinSchemaNamesOneByte } from './one-byte-names';

/** What `ApolloGateway` accepts as `supergraphSdl`: the composed SDL, or a manager that supplies it. */
export type GatewaySupergraph = string | SupergraphManager;

/**
 * Every supergraph reaches the gateway through `forGateway`: without the security purpose of its
 * features, since `@apollo/gateway` refuses the `@authenticated`/`@requiresScopes` features that
 * this gateway enforces itself, and with its names pinned one-byte (see `pinSchemaNamesOneByte`).
 *
 * Reads the supergraph file (watching it for changes every `pollIntervalMs` when above 0), or
 * prepares to introspect every subgraph in `SUBGRAPHS` (at its override URL, else its default
 * one). Throws a `ConfigError` naming the variable at fault.
 */
export async function loadSupergraph(
  source: SupergraphSource,
  subgraphUrls: Readonly<Record<string, string>>,
  logger: Logger,
  pollIntervalMs = 0,
): Promise<GatewaySupergraph> {
  switch (source.kind) {
    case 'file': {
      let initial: string;
      try {
        initial = await readFile(source.path, 'utf8');
      } catch (error) {
        const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
        throw new ConfigError([
          `SUPERGRAPH_PATH: cannot read the supergraph at '${source.path}' (${reason}); ` +
            'run `npm run compose` to write it, or point SUPERGRAPH_PATH at a composed supergraph',
        ]);
      }
      return pollIntervalMs > 0
        ? watchedSupergraph(source.path, initial, pollIntervalMs, logger)
        : forGateway(initial);
    }
    case 'introspect': {
      const known = new Set(SUBGRAPHS.map((s) => s.name));
      const unknown = Object.keys(subgraphUrls).filter((name) => !known.has(name));
      if (unknown.length > 0) {
        throw new ConfigError(
          unknown.map(
            (name) => `subgraphUrls.${name}: no subgraph '${name}' in SUBGRAPHS (${[...known].join(', ')})`,
          ),
        );
      }
      const composer = new IntrospectAndCompose({
        subgraphs: SUBGRAPHS.map((s) => ({
          name: s.name,
          url: subgraphUrls[s.name] ?? defaultSubgraphUrl(s),
        })),
        logger,
      });
      return {
        async initialize(options) {
          const composed = await composer.initialize({
            ...options,
            update: (sdl) => options.update(forGateway(sdl)),
          });
          return { ...composed, supergraphSdl: forGateway(composed.supergraphSdl) };
        },
      };
    }
    default: {
      const _exhaustive: never = source;
      throw new Error(`Unknown supergraph source ${JSON.stringify(_exhaustive)}`);
    }
  }
}

function forGateway(supergraphSdl: string): string {
  return pinSchemaNamesOneByte(withoutSecurityPurpose(supergraphSdl));
}

/**
 * The supergraph file as a manager that re-reads it every `pollIntervalMs` and hands a changed one
 * to the gateway: in-flight requests finish on the plan they started with, new ones use the new
 * supergraph. A file that cannot be read or composed is logged and the current supergraph stays.
 */
function watchedSupergraph(
  file: string,
  initial: string,
  pollIntervalMs: number,
  logger: Logger,
): SupergraphManager {
  return {
    async initialize({ update }) {
      let current = initial;
      let checking = false;
      const timer = setInterval(() => {
        if (checking) return;
        checking = true;
        readFile(file, 'utf8')
          .then((next) => {
            if (next === current) return;
            update(forGateway(next));
            current = next;
            logger.info({ file }, 'supergraph reloaded');
          })
          .catch((error: unknown) =>
            logger.error({ err: error, file }, 'supergraph reload failed; keeping the current one'),
          )
          .finally(() => (checking = false));
      }, pollIntervalMs);
      timer.unref();
      return { supergraphSdl: forGateway(initial), cleanup: async () => clearInterval(timer) };
    },
  };
}

/**
 * Fails when an override names a subgraph the loaded supergraph does not route to: a typo there
 * would otherwise silently send traffic to the URL in the supergraph.
 */
export function assertOverridesKnown(
  subgraphUrls: Readonly<Record<string, string>>,
  routedSubgraphs: ReadonlySet<string>,
): void {
  const unknown = Object.keys(subgraphUrls).filter((name) => !routedSubgraphs.has(name));
  if (unknown.length === 0) return;
  const known = [...routedSubgraphs].join(', ') || 'none';
  throw new ConfigError(
    unknown.map(
      (name) =>
        `${subgraphUrlVariable(name)} (or subgraphUrls.${name}) overrides subgraph '${name}', ` +
        `which the supergraph does not contain; it contains: ${known}`,
    ),
  );
}
