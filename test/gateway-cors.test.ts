import { createGateway } from '@mlops/gateway';
import type { GatewayHandle } from '@mlops/gateway';
import { ErrorCode } from '@mlops/schema';
import { silentLogger, startTestSubgraph } from './support/federation-subgraph';
import type { TestSubgraph } from './support/federation-subgraph';
import { writeSupergraphFile } from './support/supergraph-file';
import type { SupergraphFile } from './support/supergraph-file';

const CONSOLE = 'https://console.example.com';

describe('gateway CORS allow-list and security headers', () => {
  let subgraph: TestSubgraph;
  let supergraph: SupergraphFile;
  let gateway: GatewayHandle;

  beforeAll(async () => {
    subgraph = await startTestSubgraph({
      name: 'hello',
      sdl: 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"]) type Query { hello: String }',
      resolvers: { Query: { hello: () => 'world' } },
    });
    supergraph = await writeSupergraphFile([subgraph.definition]);
    gateway = await createGateway({
      env: {},
      logger: silentLogger(),
      port: 0,
      supergraph: { kind: 'file', path: supergraph.path },
      subgraphUrls: { hello: subgraph.url },
      corsOrigins: [CONSOLE],
    });
  });
  afterAll(async () => {
    await gateway.close();
    await subgraph.close();
    await supergraph.remove();
  });

  const preflight = (origin: string) =>
    fetch(gateway.url, {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization',
      },
    });
  const post = (origin?: string) =>
    fetch(gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(origin ? { origin } : {}) },
      body: JSON.stringify({ query: '{ hello }' }),
    });

  it('should answer an allowed origin’s preflight with what it may send', async () => {
    const response = await preflight(CONSOLE);

    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe(CONSOLE);
    expect(response.headers.get('access-control-allow-methods')).toBe('GET, POST, OPTIONS');
    expect(response.headers.get('access-control-allow-headers')).toMatch(/authorization/);
  });

  it('should refuse any other origin’s preflight with 403', async () => {
    const response = await preflight('https://evil.example');

    expect(response.status).toBe(403);
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
    expect(
      ((await response.json()) as { errors: { extensions: { code: string } }[] }).errors[0]?.extensions.code,
    ).toBe(ErrorCode.FORBIDDEN);
  });

  it('should name the allowed origin on its responses and no origin on others', async () => {
    const allowed = await post(CONSOLE);
    const other = await post('https://evil.example');

    expect(allowed.status).toBe(200);
    expect(allowed.headers.get('access-control-allow-origin')).toBe(CONSOLE);
    expect(allowed.headers.get('vary')).toMatch(/origin/i);
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('should send the security headers on every response', async () => {
    for (const response of [await post(), await fetch(new URL('/health', gateway.url))]) {
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(response.headers.get('x-frame-options')).toBe('DENY');
      expect(response.headers.get('referrer-policy')).toBe('no-referrer');
      expect(response.headers.get('content-security-policy')).toBe(
        "default-src 'none'; frame-ancestors 'none'",
      );
    }
  });
});
