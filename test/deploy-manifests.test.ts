/**
 * Keeps `deploy/` honest: the image and the Kubernetes manifests are checked against the code they
 * run, so a renamed variable, a moved entry point, a changed port or a new subgraph fails here
 * instead of in a cluster. Each container's environment is resolved as Kubernetes would (literal
 * values, ConfigMap and example-Secret keys, the downward API, `$(VAR)` references, the image's
 * `ENV`) and handed to the service's own configuration reader, which must accept it and must read
 * every variable the manifest sets.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { readAlertsConfig } from '@mlops/alerts';
import { readBusinessMetricsConfig } from '@mlops/business-metrics';
import { readDeploymentsConfig } from '@mlops/deployments';
import { readExperimentsConfig } from '@mlops/experiments';
import { readGatewayConfig, subgraphUrlVariable } from '@mlops/gateway';
import type { GatewayConfig } from '@mlops/gateway';
import { readSidecarConfig } from '@mlops/inference-sidecar';
import type { SidecarConfig } from '@mlops/inference-sidecar';
import { readModelsConfig } from '@mlops/models';
import { readSubgraphMigrationConfig } from '@mlops/runtime/database';
import type { SubgraphCommonConfig } from '@mlops/runtime/database';
import { SUBGRAPHS } from '@mlops/schema';
import {
  copySources,
  filesUnder,
  imageEnv,
  isDockerIgnored,
  readDockerfile,
  readDockerignore,
} from './support/dockerfile';
import {
  buildKustomization,
  isObject,
  readKustomization,
  readYaml,
  workloads,
} from './support/kubernetes-manifests';
import type { Container, KeyRef, Manifest, Probe } from './support/kubernetes-manifests';

const ROOT = path.resolve(__dirname, '..');
const DEPLOY = path.join(ROOT, 'deploy');
const BASE = path.join(DEPLOY, 'kubernetes', 'base');
const LAPTOP = path.join(DEPLOY, 'kubernetes', 'overlays', 'laptop');
/** The image every platform workload runs (`deploy/Dockerfile`); other images (PostgreSQL, Redis) are not ours. */
const PLATFORM_IMAGE = 'mlops-platform';
const SECRET_EXAMPLE = path.join(BASE, 'secret.example.yaml');

const isPlatform = (c: Container): boolean => c.image.split(':')[0] === PLATFORM_IMAGE;

/** `node [options] <script>.js` → the script; undefined for any other command. */
function nodeEntry(container: Container): string | undefined {
  const argv = [...(container.command ?? []), ...(container.args ?? [])];
  if (argv[0] !== 'node') return undefined;
  return argv.slice(1).find((a) => !a.startsWith('-'));
}

/** `gateway/dist/main.js` → `gateway/src/main.ts` (every workspace compiles `src` to `dist`). */
function sourceOf(entry: string): string {
  return entry.replace(/(^|\/)dist\//, '$1src/').replace(/\.js$/, '.ts');
}

type Env = Readonly<Record<string, string | undefined>>;
type ConfigReader = (env: Env) => unknown;

const SUBGRAPH_READERS: Readonly<Record<string, ConfigReader>> = {
  experiments: readExperimentsConfig,
  models: readModelsConfig,
  deployments: readDeploymentsConfig,
  alerts: readAlertsConfig,
  'business-metrics': readBusinessMetricsConfig,
};

/**
 * The configuration reader of the process an entry point starts: a subgraph's `main.js` reads the
 * service's configuration, its `migrate.js` only the database's (`readSubgraphMigrationConfig`).
 */
function readerFor(entry: string): ConfigReader | undefined {
  if (entry === 'gateway/dist/main.js') return (env) => readGatewayConfig(env);
  if (entry === 'inference-sidecar/dist/main.js') return readSidecarConfig;
  const [, subgraph, script] = /^subgraphs\/([\w-]+)\/dist\/(main|migrate)\.js$/.exec(entry) ?? [];
  if (subgraph === undefined || SUBGRAPH_READERS[subgraph] === undefined) return undefined;
  if (script === 'migrate') return (env) => readSubgraphMigrationConfig(env, { name: subgraph });
  return SUBGRAPH_READERS[subgraph];
}

/** Whether a subgraph's `migrate.ts` reads its settings with the reader `readerFor` checks it against. */
function migrationReadsItsDatabaseOnly(subgraph: string): boolean {
  const source = readFileSync(path.join(ROOT, 'subgraphs', subgraph, 'src', 'migrate.ts'), 'utf8');
  // runMigrateCommand reads the settings with readSubgraphMigrationConfig (runtime/src/database).
  return (
    new RegExp(`readSubgraphMigrationConfig\\(process\\.env, \\{ name: '${subgraph}' \\}\\)`).test(source) ||
    new RegExp(`runMigrateCommand\\('${subgraph}', `).test(source)
  );
}

/** What the downward API hands a pod; any plausible value does for the readers. */
const FIELD_VALUES: Readonly<Record<string, string>> = {
  'status.podIP': '10.0.0.7',
  'metadata.name': 'pod-0',
  'metadata.namespace': 'mlops',
};

interface ResolvedEnv {
  readonly env: Record<string, string>;
  readonly problems: string[];
}

/**
 * The environment a container starts with: the image's `ENV`, then its `env` in order, as the
 * kubelet resolves it. A reference to a missing ConfigMap or Secret key, unless `optional`, is a problem.
 */
function resolveEnv(
  container: Container,
  base: Readonly<Record<string, string>>,
  configMaps: ReadonlyMap<string, Readonly<Record<string, string>>>,
  secrets: ReadonlyMap<string, Readonly<Record<string, string>>>,
): ResolvedEnv {
  const env: Record<string, string> = { ...base };
  const problems: string[] = [];
  for (const variable of container.env ?? []) {
    const from = variable.valueFrom;
    let value: string | undefined;
    if (variable.value !== undefined) {
      value = variable.value.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (whole, name: string) => {
        if (env[name] !== undefined) return env[name];
        problems.push(`${container.name}: ${variable.name} refers to $(${name}), which is not set before it`);
        return whole;
      });
    } else if (from?.configMapKeyRef || from?.secretKeyRef) {
      const ref = (from.configMapKeyRef ?? from.secretKeyRef) as KeyRef;
      const kind = from.configMapKeyRef ? 'ConfigMap' : 'Secret';
      const source = (from.configMapKeyRef ? configMaps : secrets).get(ref.name);
      value = source?.[ref.key];
      if (value === undefined && !ref.optional) {
        problems.push(
          `${container.name}: ${variable.name} needs ${kind} ${ref.name} key ${ref.key}, not defined`,
        );
      }
    } else if (from?.fieldRef) {
      value = FIELD_VALUES[from.fieldRef.fieldPath];
      if (value === undefined)
        problems.push(`${container.name}: unknown fieldRef ${from.fieldRef.fieldPath}`);
    } else {
      problems.push(`${container.name}: ${variable.name} has neither a value nor a supported valueFrom`);
    }
    if (value !== undefined) env[variable.name] = value;
  }
  return { env, problems };
}

/** Runs a configuration reader on `env`, recording every variable it looks up. */
function readThrough(
  reader: ConfigReader,
  env: Env,
): { readonly config?: unknown; readonly error?: unknown; readonly read: ReadonlySet<string> } {
  const read = new Set<string>();
  const recording = new Proxy(env, {
    get(target, name, receiver) {
      if (typeof name === 'string') read.add(name);
      return Reflect.get(target, name, receiver) as unknown;
    },
  });
  try {
    return { config: reader(recording), read };
  } catch (error) {
    return { error, read };
  }
}

/**
 * Variables not read by the process itself but by its runtime: Node reads `NODE_OPTIONS`, and every
 * service's tracing hands the `OTEL_*` variables named in `runtime/src/tracing.ts` to the SDK.
 */
const RUNTIME_VARIABLES: ReadonlySet<string> = new Set([
  'NODE_OPTIONS',
  ...(readFileSync(path.join(ROOT, 'runtime/src/tracing.ts'), 'utf8').match(/\bOTEL_[A-Z0-9_]+\b/g) ?? []),
]);

/**
 * The variables a container sets that nothing reads: not its process (`read`), not its runtime, and
 * not another of its variables through `$(NAME)` (e.g. `POD_IP` for `SIDECAR_ADVERTISE_ADDRESS`).
 */
function unreadVariables(container: Container, read: ReadonlySet<string>): string[] {
  const referenced = new Set(
    (container.env ?? []).flatMap((v) =>
      [...(v.value ?? '').matchAll(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g)].map((m) => m[1]),
    ),
  );
  return (container.env ?? [])
    .map((v) => v.name)
    .filter((name) => !read.has(name) && !RUNTIME_VARIABLES.has(name) && !referenced.has(name));
}

/** The number a probe's or Service's port (a number or a container port name) stands for in `container`. */
function portNumber(container: Container, port: number | string | undefined): number | undefined {
  if (typeof port === 'number')
    return container.ports?.some((p) => p.containerPort === port) ? port : undefined;
  return container.ports?.find((p) => p.name === port)?.containerPort;
}

function selects(
  selector: Readonly<Record<string, unknown>>,
  labels: Readonly<Record<string, string>> = {},
): boolean {
  const matchLabels = (isObject(selector.matchLabels) ? selector.matchLabels : selector) as Record<
    string,
    string
  >;
  return Object.entries(matchLabels).every(([k, v]) => labels[k] === v);
}

/** Problems with the Services: each must select exactly one workload and target its container ports. */
function serviceProblems(manifests: readonly Manifest[]): string[] {
  const templates = manifests.filter((m) => m.kind === 'Deployment');
  return manifests
    .filter((m) => m.kind === 'Service')
    .flatMap((service) => {
      const selector = service.spec?.selector ?? {};
      const targets = templates.filter((d) => selects(selector, d.spec?.template?.metadata.labels));
      if (targets.length !== 1) {
        return [`Service ${service.metadata.name} selects ${targets.length} Deployments; want exactly 1`];
      }
      const containers = targets[0]?.spec?.template?.spec.containers ?? [];
      return (service.spec?.ports ?? [])
        .filter((p) => !containers.some((c) => portNumber(c, p.targetPort ?? p.port) !== undefined))
        .map(
          (p) =>
            `Service ${service.metadata.name} port ${p.port} targets ${p.targetPort}, not a container port`,
        );
    });
}

/** The Deployment and container a `http://<service>:<port>/…` URL reaches, inside the namespace. */
function reach(
  manifests: readonly Manifest[],
  url: string,
): { readonly deployment: Manifest; readonly container: Container; readonly port: number } | undefined {
  const { hostname, port } = new URL(url);
  const service = manifests.find((m) => m.kind === 'Service' && m.metadata.name === hostname);
  const servicePort = service?.spec?.ports?.find((p) => p.port === Number(port));
  if (!service || !servicePort) return undefined;
  for (const deployment of manifests.filter((m) => m.kind === 'Deployment')) {
    if (!selects(service.spec?.selector ?? {}, deployment.spec?.template?.metadata.labels)) continue;
    for (const container of deployment.spec?.template?.spec.containers ?? []) {
      const number = portNumber(container, servicePort.targetPort ?? servicePort.port);
      if (number !== undefined) return { deployment, container, port: number };
    }
  }
  return undefined;
}

/** The paths an HTTP server answers, from its source: `pathname === '/x'` or `req.url === '/x'`. */
function servedPaths(sourceFile: string): Set<string> {
  const text = readFileSync(path.join(ROOT, sourceFile), 'utf8');
  return new Set([...text.matchAll(/(?:pathname|req\.url) === '(\/[\w-]*)'/g)].map((m) => m[1] ?? ''));
}

/** Which source serves a process's HTTP routes. */
function httpServerSource(entry: string): string {
  return entry.startsWith('inference-sidecar/')
    ? 'inference-sidecar/src/sidecar.ts'
    : 'runtime/src/http-server.ts';
}

// ---- the checks --------------------------------------------------------------------------------------

const secretExample = readYaml(SECRET_EXAMPLE) as Manifest[];
const dockerfile = readDockerfile(readFileSync(path.join(DEPLOY, 'Dockerfile'), 'utf8'));
const builds = [
  { name: 'base', dir: BASE, manifests: buildKustomization(BASE) },
  { name: 'laptop overlay', dir: LAPTOP, manifests: buildKustomization(LAPTOP) },
] as const;
const base = builds[0].manifests;

function configMapsOf(manifests: readonly Manifest[]): Map<string, Readonly<Record<string, string>>> {
  return new Map(manifests.filter((m) => m.kind === 'ConfigMap').map((m) => [m.metadata.name, m.data ?? {}]));
}
const secrets = new Map(secretExample.map((s) => [s.metadata.name, s.stringData ?? {}]));

describe('deploy/Dockerfile', () => {
  it('should copy only sources that exist and that .dockerignore lets into the context', () => {
    const ignore = readDockerignore();
    const sources = copySources(dockerfile);
    expect(sources.length).toBeGreaterThan(10);
    expect(sources.filter((s) => !existsSync(path.join(ROOT, s)))).toEqual([]);
    expect(sources.filter((s) => isDockerIgnored(s, ignore))).toEqual([]);
    // Inside a copied directory, only tests may stay out of the context (what is built must go in).
    const dropped = sources
      .filter((s) => statSync(path.join(ROOT, s)).isDirectory())
      .flatMap((s) => filesUnder(s))
      .filter((f) => isDockerIgnored(f, ignore) && !/(^|\/)test\//.test(f));
    expect(dropped).toEqual([]);
  });

  it("should copy every workspace's package.json and .npmrc before npm ci", () => {
    const install = dockerfile.findIndex((i) => i.keyword === 'RUN' && /\bnpm ci\b/.test(i.args));
    expect(install).toBeGreaterThan(0);
    const before = copySources(dockerfile.slice(0, install));
    const { workspaces } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
      workspaces: string[];
    };
    for (const file of [
      'package.json',
      'package-lock.json',
      '.npmrc',
      ...workspaces.map((w) => `${w}/package.json`),
    ]) {
      expect(before).toContain(file);
    }
    expect(readFileSync(path.join(ROOT, '.npmrc'), 'utf8')).toMatch(/^onnxruntime-node-install=skip$/m);
  });

  it('should build, drop dev dependencies and run as a non-root user in production mode', () => {
    const last = Math.max(...dockerfile.map((i) => i.stage));
    const runs = dockerfile.filter((i) => i.keyword === 'RUN').map((i) => i.args);
    expect(runs.some((r) => /npm run build/.test(r))).toBe(true);
    expect(runs.some((r) => /npm prune --omit=dev|npm ci --omit=dev/.test(r))).toBe(true);
    expect(imageEnv(dockerfile).NODE_ENV).toBe('production');
    const user = dockerfile.filter((i) => i.keyword === 'USER' && i.stage === last).at(-1)?.args ?? 'root';
    // Numeric, so that the kubelet can check runAsNonRoot.
    expect(user).toMatch(/^[1-9]\d*(?::\d+)?$/);
    const args = dockerfile.find((i) => i.keyword === 'ARG' && /^NODE_IMAGE=/.test(i.args))?.args;
    expect(args).toBe('NODE_IMAGE=node:20-bookworm-slim');
    for (const from of dockerfile.filter((i) => i.keyword === 'FROM'))
      expect(from.args).toMatch(/^\$\{NODE_IMAGE\}/);
  });

  it('should default to an entry point built from src', () => {
    const cmd = dockerfile.filter((i) => i.keyword === 'CMD').at(-1)?.args ?? '';
    const [node, entry = ''] = JSON.parse(cmd) as string[];
    expect(node).toBe('node');
    expect(existsSync(path.join(ROOT, sourceOf(entry)))).toBe(true);
  });
});

describe('.dockerignore matching', () => {
  it('should exclude what a pattern names, at any depth for **, and re-include with !', () => {
    const patterns = ['node_modules', '**/dist', 'subgraphs/*/test', 'data', '!data/keep.txt'];
    expect(isDockerIgnored('node_modules', patterns)).toBe(true);
    expect(isDockerIgnored('node_modules/yaml/package.json', patterns)).toBe(true);
    expect(isDockerIgnored('gateway/dist/main.js', patterns)).toBe(true);
    expect(isDockerIgnored('dist', patterns)).toBe(true);
    expect(isDockerIgnored('subgraphs/alerts/test/x.test.ts', patterns)).toBe(true);
    expect(isDockerIgnored('subgraphs/alerts/src/main.ts', patterns)).toBe(false);
    expect(isDockerIgnored('gateway/src', patterns)).toBe(false);
    expect(isDockerIgnored('data/keep.txt', patterns)).toBe(false);
    expect(isDockerIgnored('database', patterns)).toBe(false);
  });
});

describe('deploy/kubernetes kustomizations', () => {
  it.each([
    ['base', BASE],
    ['laptop overlay', LAPTOP],
  ])('%s should list files that exist, and every manifest beside it', (_name, dir) => {
    const kustomization = readKustomization(dir);
    const listed = [...(kustomization.resources ?? []), ...(kustomization.patches ?? []).map((p) => p.path)];
    expect(listed.filter((f) => !existsSync(path.join(dir, f)))).toEqual([]);
    const manifests = readdirSync(dir, { recursive: true, encoding: 'utf8' })
      .filter((f) => /\.ya?ml$/.test(f) && f !== 'kustomization.yaml' && f !== 'secret.example.yaml')
      .map((f) => f.split(path.sep).join('/'));
    expect(manifests.filter((f) => !listed.includes(f))).toEqual([]);
    expect(listed).not.toContain('secret.example.yaml');
  });

  it.each(builds.map((b) => [b.name, b.manifests] as const))(
    '%s should hold no Secret (it is created out of band) and name every object',
    (_name, manifests) => {
      expect(manifests.filter((m) => m.kind === 'Secret')).toEqual([]);
      for (const m of manifests) {
        expect(m.apiVersion).toEqual(expect.any(String));
        expect(m.metadata.name).toEqual(expect.any(String));
      }
      const ids = manifests.map((m) => `${m.kind}/${m.metadata.name}`);
      expect(new Set(ids).size).toBe(ids.length);
    },
  );

  it('should keep secret.example.yaml an example: the Secret the workloads name, with placeholders', () => {
    expect(secretExample).toHaveLength(1);
    expect(secretExample[0]?.kind).toBe('Secret');
    expect(readFileSync(SECRET_EXAMPLE, 'utf8')).toMatch(/kubectl .*create secret generic mlops-secrets/);
    for (const value of Object.values(secretExample[0]?.stringData ?? {})) {
      expect(value).toMatch(/CHANGE-ME|example|Q0hBTkdFLU1F|mlops-platform/);
    }
  });

  it('should have the laptop overlay run one replica of everything', () => {
    const laptop = builds[1].manifests;
    expect(
      laptop.filter((m) => m.kind === 'Deployment').map((m) => [m.metadata.name, m.spec?.replicas]),
    ).toEqual(laptop.filter((m) => m.kind === 'Deployment').map((m) => [m.metadata.name, 1]));
    expect(
      laptop.find((m) => m.kind === 'PersistentVolumeClaim' && m.metadata.name === 'model-repository'),
    ).toBe(undefined);
  });
});

describe.each(builds.map((b) => [b.name, b.manifests] as const))('%s workloads', (_name, manifests) => {
  const all = workloads(manifests);
  const platform = all.filter((w) => isPlatform(w.container));
  const configMaps = configMapsOf(manifests);
  const envBase = imageEnv(dockerfile);

  it('should start every platform process from an entry point built from src', () => {
    const entries = platform.map((w) => ({ w, entry: nodeEntry(w.container) }));
    for (const { w, entry } of entries) {
      if (entry === undefined) {
        // The only other command: copying files shipped in the image, which must exist.
        const argv = w.container.command ?? [];
        expect(argv[0]).toBe('cp');
        expect(existsSync(path.join(ROOT, argv.at(-2) ?? ''))).toBe(true);
        expect(w.container.env ?? []).toEqual([]);
        continue;
      }
      expect(existsSync(path.join(ROOT, sourceOf(entry)))).toBe(true);
      expect(readerFor(entry)).toBeDefined();
    }
  });

  it('should run the gateway, every subgraph of the supergraph and a serving pool', () => {
    const deployed = manifests
      .filter((m) => m.kind === 'Deployment')
      .flatMap((m) => m.spec?.template?.spec.containers ?? [])
      .map(nodeEntry);
    for (const { name } of SUBGRAPHS) expect(deployed).toContain(`subgraphs/${name}/dist/main.js`);
    expect(deployed).toContain('gateway/dist/main.js');
    expect(deployed).toContain('inference-sidecar/dist/main.js');
  });

  it('should migrate every subgraph that has a migration, in the order of npm run migrate', () => {
    const { scripts } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    const npmOrder = [
      ...(scripts.migrate ?? '').matchAll(/node (subgraphs\/[\w-]+\/dist\/migrate\.js)/g),
    ].map((m) => m[1]);
    const withMigration = readdirSync(path.join(ROOT, 'subgraphs')).filter((s) =>
      existsSync(path.join(ROOT, 'subgraphs', s, 'src', 'migrate.ts')),
    );
    expect([...npmOrder].sort()).toEqual(withMigration.map((s) => `subgraphs/${s}/dist/migrate.js`).sort());
    const jobs = manifests.filter((m) => m.kind === 'Job');
    expect(jobs).toHaveLength(1);
    const pod = jobs[0]?.spec?.template?.spec;
    // Init containers run in order, each after the previous one succeeded; the last is the pod's container.
    const jobOrder = [...(pod?.initContainers ?? []), ...(pod?.containers ?? [])].map(nodeEntry);
    expect(jobOrder).toEqual(npmOrder);
    // The Job's containers are checked against the migration reader: each migrate.ts must use it.
    expect(withMigration.filter((s) => !migrationReadsItsDatabaseOnly(s))).toEqual([]);
    const subgraphs = all.filter(
      (w) => w.manifest.kind === 'Deployment' && /^subgraphs\//.test(nodeEntry(w.container) ?? ''),
    );
    for (const { container } of subgraphs) {
      expect(container.env?.find((v) => v.name === 'MIGRATE_ON_START')?.value).toBe('false');
    }
  });

  it('should set only variables the process reads, in a configuration its reader accepts', () => {
    const problems: string[] = [];
    let checked = 0;
    for (const { manifest, container } of platform) {
      const entry = nodeEntry(container);
      const reader = entry === undefined ? undefined : readerFor(entry);
      if (reader === undefined) continue;
      checked += 1;
      const where = `${manifest.kind}/${manifest.metadata.name} ${container.name}`;
      const resolved = resolveEnv(container, envBase, configMaps, secrets);
      problems.push(...resolved.problems.map((p) => `${where}: ${p}`));
      const { error, read } = readThrough(reader, resolved.env);
      if (error !== undefined)
        problems.push(`${where}: refused: ${error instanceof Error ? error.message : String(error)}`);
      problems.push(
        ...unreadVariables(container, read).map((v) => `${where}: sets ${v}, which nothing reads`),
      );
    }
    expect(problems).toEqual([]);
    // The gateway, every subgraph and the sidecar, and a migration per subgraph that has one.
    expect(checked).toBeGreaterThanOrEqual(2 * SUBGRAPHS.length + 2);
  });

  it('should bind every process to its container port on all interfaces and probe real endpoints', () => {
    let checked = 0;
    for (const { manifest, container, init } of platform) {
      const entry = nodeEntry(container);
      const reader = entry === undefined ? undefined : readerFor(entry);
      if (reader === undefined || manifest.kind !== 'Deployment' || init) continue;
      checked += 1;
      const config = reader(resolveEnv(container, envBase, configMaps, secrets).env) as
        GatewayConfig | SubgraphCommonConfig | SidecarConfig;
      const paths = servedPaths(httpServerSource(entry ?? ''));
      expect([...paths]).toEqual(expect.arrayContaining(['/health', '/ready', '/metrics']));
      const httpPort = 'httpPort' in config ? config.httpPort : config.port;
      expect(config.host).toBe('0.0.0.0');
      const httpProbes = [container.livenessProbe, container.readinessProbe, container.startupProbe].filter(
        (p): p is Probe => p?.httpGet !== undefined,
      );
      for (const probe of httpProbes) {
        expect(paths).toContain(probe.httpGet?.path);
        expect(portNumber(container, probe.httpGet?.port)).toBe(httpPort);
      }
      if ('grpcPort' in config) {
        // Kubernetes' gRPC probe calls grpc.health.v1.Health/Check, which the sidecar serves.
        expect(readFileSync(path.join(ROOT, 'inference-sidecar/src/sidecar.ts'), 'utf8')).toMatch(
          /addService\([^;]*\bhealthService\b/,
        );
        for (const probe of [container.livenessProbe, container.readinessProbe, container.startupProbe]) {
          expect(probe?.grpc?.port).toBe(config.grpcPort);
          expect(portNumber(container, probe?.grpc?.port)).toBe(config.grpcPort);
          expect(probe?.grpc?.service ?? '').toBe('');
        }
        expect(config.controlPlane?.advertiseAddress).toBe(
          `${FIELD_VALUES['status.podIP']}:${config.grpcPort}`,
        );
        expect(config.controlPlane?.token).toEqual(expect.any(String));
        expect(container.volumeMounts?.map((m) => m.mountPath)).toContain(config.modelRepository);
        expect(container.env?.find((v) => v.name === 'NODE_OPTIONS')?.value).toMatch(
          /--max-semi-space-size=32/,
        );
      } else {
        expect(container.livenessProbe?.httpGet?.path).toBe('/health');
        expect(container.readinessProbe?.httpGet?.path).toBe('/ready');
      }
      const annotations = manifest.spec?.template?.metadata.annotations ?? {};
      expect(annotations['prometheus.io/scrape']).toBe('true');
      expect(paths).toContain(annotations['prometheus.io/path']);
      expect(Number(annotations['prometheus.io/port'])).toBe(httpPort);
      expect(container.resources?.requests).toEqual({ cpu: expect.any(String), memory: expect.any(String) });
      expect(container.resources?.limits).toEqual({ cpu: expect.any(String), memory: expect.any(String) });
    }
    // The gateway, every subgraph and the sidecar.
    expect(checked).toBe(SUBGRAPHS.length + 2);
  });

  it('should route every in-cluster URL to the Service of the process that serves it', () => {
    const expected: [string, string, string][] = [];
    for (const { manifest, container } of platform) {
      const entry = nodeEntry(container);
      if (manifest.kind !== 'Deployment' || entry === undefined) continue;
      const env = resolveEnv(container, envBase, configMaps, secrets).env;
      if (entry === 'gateway/dist/main.js') {
        for (const { name } of SUBGRAPHS) {
          const variable = subgraphUrlVariable(name);
          expected.push([variable, env[variable] ?? '(unset)', `subgraphs/${name}/dist/main.js`]);
        }
      }
      if (entry === 'subgraphs/deployments/dist/main.js') {
        expected.push([
          'MODELS_SUBGRAPH_URL',
          env.MODELS_SUBGRAPH_URL ?? '(unset)',
          'subgraphs/models/dist/main.js',
        ]);
      }
      if (entry === 'inference-sidecar/dist/main.js') {
        expected.push([
          'SIDECAR_CONTROL_PLANE_URL',
          env.SIDECAR_CONTROL_PLANE_URL ?? '(unset)',
          'gateway/dist/main.js',
        ]);
      }
    }
    expect(expected.length).toBe(SUBGRAPHS.length + 2);
    for (const [variable, url, entry] of expected) {
      const target = URL.canParse(url) ? reach(manifests, url) : undefined;
      expect({ variable, reaches: target && nodeEntry(target.container) }).toEqual({
        variable,
        reaches: entry,
      });
      expect(new URL(url).pathname).toBe('/graphql');
      // The port the Service forwards to is the one the process listens on (checked above).
      expect(target?.port).toBe(portNumber(target?.container as Container, 'http'));
    }
  });

  it('should select a Deployment with every Service, PodDisruptionBudget and autoscaler', () => {
    expect(serviceProblems(manifests)).toEqual([]);
    const deployments = manifests.filter((m) => m.kind === 'Deployment');
    for (const pdb of manifests.filter((m) => m.kind === 'PodDisruptionBudget')) {
      expect(
        deployments.filter((d) => selects(pdb.spec?.selector ?? {}, d.spec?.template?.metadata.labels)),
      ).toHaveLength(1);
    }
    for (const hpa of manifests.filter((m) => m.kind === 'HorizontalPodAutoscaler')) {
      const target = hpa.spec?.scaleTargetRef;
      expect(deployments.map((d) => d.metadata.name)).toContain(target?.name);
      expect(target?.kind).toBe('Deployment');
    }
    for (const claim of all
      .flatMap((w) => w.template.spec.volumes ?? [])
      .flatMap((v) => v.persistentVolumeClaim ?? [])) {
      expect(
        manifests.filter((m) => m.kind === 'PersistentVolumeClaim').map((m) => m.metadata.name),
      ).toContain(claim.claimName);
    }
  });

  it('should mount a ReadWriteOnce claim only in a Deployment of one replica', () => {
    const readWriteOnce = new Set(
      manifests
        .filter((m) => m.kind === 'PersistentVolumeClaim' && m.spec?.accessModes?.includes('ReadWriteOnce'))
        .map((m) => m.metadata.name),
    );
    const shared = manifests
      .filter((m) => m.kind === 'Deployment' && (m.spec?.replicas ?? 1) > 1)
      .flatMap((m) =>
        (m.spec?.template?.spec.volumes ?? [])
          .filter((v) => readWriteOnce.has(v.persistentVolumeClaim?.claimName ?? ''))
          .map((v) => `${m.metadata.name} mounts ${v.persistentVolumeClaim?.claimName}`),
      );
    expect(shared).toEqual([]);
  });

  it('should read secrets only from the example Secret and settings only from the ConfigMap', () => {
    const refs = all.flatMap((w) => w.container.env ?? []).map((v) => v.valueFrom);
    const secretRefs = refs.flatMap((r) => r?.secretKeyRef ?? []);
    const configRefs = refs.flatMap((r) => r?.configMapKeyRef ?? []);
    expect(secretRefs.length).toBeGreaterThan(0);
    for (const ref of secretRefs) {
      expect(secrets.get(ref.name)).toHaveProperty([ref.key]);
    }
    for (const ref of configRefs) expect(configMaps.get(ref.name)).toHaveProperty([ref.key]);
    // Nothing secret in plain values: credentials come only through secretKeyRef.
    for (const variable of all.flatMap((w) => w.container.env ?? [])) {
      if (/TOKEN|SECRET|KEYS|PASSWORD|DATABASE_URL|REDIS_URL/.test(variable.name)) {
        expect({ [variable.name]: variable.value }).toEqual({ [variable.name]: undefined });
      }
    }
  });
});

describe('deploy/kubernetes/base', () => {
  it('should run at least two gateways, kept available and autoscaled', () => {
    const gateway = base.find((m) => m.kind === 'Deployment' && m.metadata.name === 'gateway');
    expect(gateway?.spec?.replicas).toBeGreaterThanOrEqual(2);
    const hpa = base.find(
      (m) => m.kind === 'HorizontalPodAutoscaler' && m.spec?.scaleTargetRef?.name === 'gateway',
    );
    expect(hpa?.spec?.minReplicas).toBeGreaterThanOrEqual(2);
    const pdb = base.find(
      (m) =>
        m.kind === 'PodDisruptionBudget' &&
        selects(m.spec?.selector ?? {}, gateway?.spec?.template?.metadata.labels),
    );
    expect(pdb?.spec?.minAvailable).toBeGreaterThanOrEqual(1);
  });

  it('should run two models replicas that share artifacts through the database, with no volume', () => {
    const models = base.find((m) => m.kind === 'Deployment' && m.metadata.name === 'models');
    expect(models?.spec?.replicas).toBeGreaterThanOrEqual(2);
    const container = models?.spec?.template?.spec.containers.find(
      (c) => nodeEntry(c) === 'subgraphs/models/dist/main.js',
    ) as Container;
    const { env } = resolveEnv(container, imageEnv(dockerfile), configMapsOf(base), secrets);
    expect(env.MODEL_ARTIFACT_STORE).toBe('database');
    expect(readModelsConfig(env).artifactStore).toBe('database');
    expect(models?.spec?.template?.spec.volumes ?? []).toEqual([]);
    expect(container.volumeMounts ?? []).toEqual([]);
  });

  it('should use every key of the example Secret and of the ConfigMap', () => {
    const every = builds.flatMap((b) => workloads(b.manifests)).flatMap((w) => w.container.env ?? []);
    const used = new Set(
      every.flatMap((v) => [v.valueFrom?.secretKeyRef?.key, v.valueFrom?.configMapKeyRef?.key]),
    );
    expect(Object.keys(secretExample[0]?.stringData ?? {}).filter((k) => !used.has(k))).toEqual([]);
    expect(Object.keys(configMapsOf(base).get('mlops-config') ?? {}).filter((k) => !used.has(k))).toEqual([]);
  });
});

describe('the manifest checks themselves', () => {
  const gateway = workloads(base).find((w) => nodeEntry(w.container) === 'gateway/dist/main.js');

  it('should flag a variable the process does not read', () => {
    const container: Container = {
      name: 'gateway',
      image: PLATFORM_IMAGE,
      command: ['node', 'gateway/dist/main.js'],
      env: [
        { name: 'GATEWAY_PORT', value: '4000' },
        { name: 'SUBGRAPH_EXPERIMENT_URL', value: 'http://experiments:4001/graphql' },
        { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
        { name: 'NODE_OPTIONS', value: '--max-semi-space-size=32' },
      ],
    };
    const { read } = readThrough(
      readerFor('gateway/dist/main.js') as ConfigReader,
      resolveEnv(container, {}, new Map(), new Map()).env,
    );
    expect(unreadVariables(container, read)).toEqual(['SUBGRAPH_EXPERIMENT_URL', 'POD_IP']);
    const referenced: Container = {
      ...container,
      env: [
        ...(container.env ?? []).slice(2),
        { name: 'SIDECAR_ADVERTISE_ADDRESS', value: '$(POD_IP):8001' },
      ],
    };
    expect(unreadVariables(referenced, new Set(['SIDECAR_ADVERTISE_ADDRESS']))).toEqual([]);
  });

  it('should flag a missing Secret key, a reference set too late and a configuration the reader refuses', () => {
    const container: Container = {
      name: 'x',
      image: PLATFORM_IMAGE,
      env: [
        { name: 'A', value: '$(B)' },
        { name: 'B', value: 'b' },
        { name: 'C', valueFrom: { secretKeyRef: { name: 'mlops-secrets', key: 'no-such-key' } } },
        {
          name: 'D',
          valueFrom: { secretKeyRef: { name: 'mlops-secrets', key: 'no-such-key', optional: true } },
        },
      ],
    };
    expect(resolveEnv(container, {}, new Map(), secrets).problems).toEqual([
      'x: A refers to $(B), which is not set before it',
      'x: C needs Secret mlops-secrets key no-such-key, not defined',
    ]);
    const refused = readThrough(readerFor('gateway/dist/main.js') as ConfigReader, {
      NODE_ENV: 'production',
      JWT_HS256_SECRET: 'a development secret of at least 32 characters',
    });
    expect(String(refused.error)).toMatch(/JWT_HS256_SECRET is for development only/);
    expect(refused.read).toContain('JWT_HS256_SECRET');
  });

  // Regression: the migration Job had to be given INTERNAL_IDENTITY_KEYS, which migrating never uses,
  // because migrate.js read the whole service configuration (required in production).
  it('should check a migration against its database settings only, not the service configuration', () => {
    const migrate = readerFor('subgraphs/alerts/dist/migrate.js') as ConfigReader;
    const production = { NODE_ENV: 'production', DATABASE_URL: 'postgres://u@db/x', LOG_LEVEL: 'warn' };
    expect(readThrough(migrate, production).error).toBeUndefined();
    expect(readThrough(readerFor('subgraphs/alerts/dist/main.js') as ConfigReader, production).error).toEqual(
      expect.objectContaining({ message: expect.stringMatching(/INTERNAL_IDENTITY_KEYS/) }),
    );
    const withKeys: Container = {
      name: 'alerts',
      image: PLATFORM_IMAGE,
      command: ['node', 'subgraphs/alerts/dist/migrate.js'],
      env: [
        { name: 'DATABASE_URL', value: 'postgres://u@db/x' },
        { name: 'INTERNAL_IDENTITY_KEYS', value: 'k1:a-key' },
      ],
    };
    const { read } = readThrough(migrate, resolveEnv(withKeys, {}, new Map(), new Map()).env);
    expect(unreadVariables(withKeys, read)).toEqual(['INTERNAL_IDENTITY_KEYS']);
    expect(String(readThrough(migrate, { DATABASE_URL: 'mysql://u@db/x' }).error)).toMatch(
      /DATABASE_URL must use postgres:\/\/ or postgresql:\/\//,
    );
  });

  it('should flag a Service that selects nothing or targets a port the pod does not open', () => {
    expect(gateway).toBeDefined();
    const service = (selector: Record<string, string>, targetPort: number | string): Manifest => ({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'probe' },
      spec: { selector, ports: [{ port: 80, targetPort }] },
    });
    const labels = gateway?.template.metadata.labels ?? {};
    expect(serviceProblems([gateway?.manifest as Manifest, service(labels, 'http')])).toEqual([]);
    expect(serviceProblems([gateway?.manifest as Manifest, service({ app: 'nobody' }, 'http')])).toEqual([
      'Service probe selects 0 Deployments; want exactly 1',
    ]);
    expect(serviceProblems([gateway?.manifest as Manifest, service(labels, 4999)])).toEqual([
      'Service probe port 80 targets 4999, not a container port',
    ]);
  });
});
