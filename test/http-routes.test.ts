import { ApolloServer } from '@apollo/server';
import { createLogger, createServiceHttpServer, sendJson } from '@mlops/runtime';
import type { RequestContextBase, RouteHandler, ServiceHttpServer } from '@mlops/runtime';

// Extra routes of the runtime's HTTP server: exact paths, and prefixes (a key ending in `*`).

const answer =
  (name: string): RouteHandler =>
  async (req, res) =>
    sendJson(res, 200, { route: name, path: req.url });

let apollo: ApolloServer<RequestContextBase>;
let server: ServiceHttpServer;
let base: string;

beforeAll(async () => {
  apollo = new ApolloServer<RequestContextBase>({
    typeDefs: 'type Query { ok: Boolean }',
    logger: createLogger({ service: 'test', level: 'silent' }),
  });
  await apollo.start();
  server = createServiceHttpServer<RequestContextBase>({
    apollo,
    logger: createLogger({ service: 'test', level: 'silent' }),
    context: async (context) => context,
    routes: {
      '/files': answer('exact'),
      '/files/*': answer('files prefix'),
      '/files/special/*': answer('longer prefix'),
      '/files/special/one': answer('exact beats prefixes'),
    },
  });
  const { url } = await server.listen(0, '127.0.0.1');
  base = new URL('/', url).toString();
});

afterAll(async () => {
  await server?.close();
  await apollo?.stop();
});

async function routeOf(path: string): Promise<{ status: number; route?: string }> {
  const response = await fetch(new URL(path, base));
  const body = (await response.json()) as { route?: string };
  return { status: response.status, route: body.route };
}

describe('extra routes', () => {
  it('should answer an exact path with its handler', async () => {
    expect(await routeOf('/files')).toEqual({ status: 200, route: 'exact' });
  });

  it('should answer every path under a prefix key, the longest prefix winning and an exact key before both', async () => {
    expect(await routeOf('/files/abc')).toEqual({ status: 200, route: 'files prefix' });
    expect(await routeOf('/files/special/two')).toEqual({ status: 200, route: 'longer prefix' });
    expect(await routeOf('/files/special/one')).toEqual({ status: 200, route: 'exact beats prefixes' });
  });

  it('should answer 404 for a path no key covers, the prefix itself without its slash included', async () => {
    expect((await routeOf('/filesystem')).status).toBe(404);
    expect((await routeOf('/other')).status).toBe(404);
  });
});
