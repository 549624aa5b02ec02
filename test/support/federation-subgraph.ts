import { ApolloServer } from '@apollo/server';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { parse } from 'graphql';
import {
  createErrorFormatter,
  createLogger,
  createServiceHttpServer,
  serveGraphQLOverWebSocket,
} from '@mlops/runtime';
import type { Logger, RequestContextBase } from '@mlops/runtime';
import type { SubgraphSdl } from '@mlops/schema';

/** The resolver map `buildSubgraphSchema` takes; the package does not export its type by name. */
export type SubgraphResolvers = NonNullable<
  Extract<Parameters<typeof buildSubgraphSchema>[0], { typeDefs: unknown }>['resolvers']
>;

export interface TestSubgraphOptions {
  /** The subgraph's name in composition. */
  readonly name: string;
  /** Federation 2 SDL, served as-is and used for composition. */
  readonly sdl: string;
  readonly resolvers: SubgraphResolvers;
  /** Default 0: a free port. */
  readonly port?: number;
  /** Where the subgraph's HTTP and WebSocket servers log; default nowhere (`silentLogger`). */
  readonly logger?: Logger;
}

/** A real federation subgraph served over HTTP on a free port, recording what reached it. */
export interface TestSubgraph {
  readonly name: string;
  readonly url: string;
  /** The `x-request-id` of every GraphQL request the subgraph received, in order. */
  readonly requestIds: readonly string[];
  /** The `traceparent` header of every GraphQL request the subgraph received (undefined: none), in order. */
  readonly traceparents: readonly (string | undefined)[];
  /** What composition needs: name, routing URL, SDL. */
  readonly definition: SubgraphSdl;
  close(): Promise<void>;
}

/** A logger for tests: nothing reaches stdout. */
export function silentLogger(): Logger {
  return createLogger({ service: 'test', level: 'silent' });
}

/**
 * Starts a subgraph through the same runtime HTTP server the real services use; a schema with a
 * Subscription type is also served over graphql-ws on the same path, as `startGraphQLService` does.
 */
export async function startTestSubgraph({
  name,
  sdl,
  resolvers,
  port = 0,
  logger = silentLogger(),
}: TestSubgraphOptions): Promise<TestSubgraph> {
  const requestIds: string[] = [];
  const traceparents: (string | undefined)[] = [];
  const schema = buildSubgraphSchema({ typeDefs: parse(sdl), resolvers });
  const apollo = new ApolloServer<RequestContextBase>({
    schema,
    // A development subgraph: unexpected errors keep their message, so the gateway must mask them.
    formatError: createErrorFormatter(false),
    stopOnTerminationSignals: false,
    logger: silentLogger(),
  });
  await apollo.start();
  const http = createServiceHttpServer<RequestContextBase>({
    apollo,
    logger,
    context: async (base) => {
      requestIds.push(base.requestId);
      const { traceparent } = base.headers;
      traceparents.push(Array.isArray(traceparent) ? traceparent[0] : traceparent);
      return base;
    },
  });
  const websocket = schema.getSubscriptionType()
    ? serveGraphQLOverWebSocket({
        server: http.server,
        logger,
        schema,
        context: (base) => base,
        production: false,
      })
    : undefined;
  const { url } = await http.listen(port);
  let closing: Promise<void> | undefined;
  return {
    name,
    url,
    requestIds,
    traceparents,
    definition: { name, url, sdl },
    close: () =>
      (closing ??= (async () => {
        await websocket?.close(100);
        await http.close();
        await apollo.stop();
      })()),
  };
}
