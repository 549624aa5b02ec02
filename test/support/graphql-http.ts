/** A GraphQL response as the client sees it: status, headers and the parsed body. */
export interface GraphQLHttpResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly body: {
    data?: Record<string, unknown> | null;
    errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, unknown> }[];
  };
}

/** POSTs one GraphQL operation as JSON over real HTTP. */
export async function postGraphQL(
  url: string,
  query: string,
  { variables, headers = {} }: { variables?: Record<string, unknown>; headers?: Record<string, string> } = {},
): Promise<GraphQLHttpResponse> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  return {
    status: response.status,
    headers: response.headers,
    body: (await response.json()) as GraphQLHttpResponse['body'],
  };
}

/** The status of a GET, e.g. `/health` or `/ready`, relative to a service's GraphQL URL. */
export async function getStatus(graphqlUrl: string, pathname: string): Promise<number> {
  const response = await fetch(new URL(pathname, graphqlUrl));
  await response.arrayBuffer();
  return response.status;
}
