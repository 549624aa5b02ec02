/** A subgraph of the supergraph: its name in composition and where it listens by default. */
export interface SubgraphDescriptor {
  readonly name: string;
  /** Fixed local port used by `npm start` and the default supergraph routing URL. */
  readonly defaultPort: number;
}

/** Every subgraph composed into the supergraph, in composition order. */
export const SUBGRAPHS: readonly SubgraphDescriptor[] = [
  { name: 'experiments', defaultPort: 4001 },
  { name: 'models', defaultPort: 4002 },
  { name: 'deployments', defaultPort: 4003 },
  { name: 'alerts', defaultPort: 4004 },
  { name: 'business-metrics', defaultPort: 4005 },
];

/** The gateway's fixed local port. */
export const GATEWAY_DEFAULT_PORT = 4000;

/** The inference sidecar's fixed local ports: gRPC (Triton's 8001) and HTTP for health and metrics. */
export const SIDECAR_DEFAULT_GRPC_PORT = 8001;
export const SIDECAR_DEFAULT_HTTP_PORT = 8002;

/** Routing URL written into the checked-in supergraph; the gateway overrides it per subgraph from its config. */
export function defaultSubgraphUrl(subgraph: SubgraphDescriptor): string {
  return `http://127.0.0.1:${subgraph.defaultPort}/graphql`;
}
