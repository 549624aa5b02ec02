import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';

// Kubernetes manifests as test/deploy-manifests.test.ts reads them: the objects' shapes as far as
// its checks go, YAML loading, and a small kustomize build (resources, patches, replicas).

const REPO_ROOT = path.resolve(__dirname, '..', '..');

// ---- Kubernetes objects, as far as these checks read them ------------------------------------------

export interface KeyRef {
  readonly name: string;
  readonly key: string;
  readonly optional?: boolean;
}
export interface EnvVar {
  readonly name: string;
  readonly value?: string;
  readonly valueFrom?: {
    readonly configMapKeyRef?: KeyRef;
    readonly secretKeyRef?: KeyRef;
    readonly fieldRef?: { readonly fieldPath: string };
  };
}
export interface Probe {
  readonly httpGet?: { readonly path: string; readonly port: number | string };
  readonly grpc?: { readonly port: number; readonly service?: string };
  readonly exec?: { readonly command: readonly string[] };
}
export interface Container {
  readonly name: string;
  readonly image: string;
  readonly command?: readonly string[];
  readonly args?: readonly string[];
  readonly env?: readonly EnvVar[];
  readonly ports?: readonly { readonly name?: string; readonly containerPort: number }[];
  readonly livenessProbe?: Probe;
  readonly readinessProbe?: Probe;
  readonly startupProbe?: Probe;
  readonly resources?: {
    readonly requests?: Readonly<Record<string, string>>;
    readonly limits?: Readonly<Record<string, string>>;
  };
  readonly volumeMounts?: readonly { readonly name: string; readonly mountPath: string }[];
}
export interface PodTemplate {
  readonly metadata: {
    readonly labels?: Readonly<Record<string, string>>;
    readonly annotations?: Readonly<Record<string, string>>;
  };
  readonly spec: {
    readonly containers: readonly Container[];
    readonly initContainers?: readonly Container[];
    readonly volumes?: readonly {
      readonly name: string;
      readonly persistentVolumeClaim?: { readonly claimName: string };
    }[];
  };
}
export interface Manifest {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly labels?: Readonly<Record<string, string>> };
  readonly spec?: {
    readonly replicas?: number;
    readonly selector?: Readonly<Record<string, unknown>>;
    readonly template?: PodTemplate;
    readonly ports?: readonly { readonly port: number; readonly targetPort?: number | string }[];
    readonly scaleTargetRef?: { readonly kind: string; readonly name: string };
    readonly minReplicas?: number;
    readonly minAvailable?: number;
    readonly accessModes?: readonly string[];
  };
  readonly data?: Readonly<Record<string, string>>;
  readonly stringData?: Readonly<Record<string, string>>;
}
export interface Kustomization {
  readonly resources?: readonly string[];
  readonly patches?: readonly { readonly path: string }[];
  readonly replicas?: readonly { readonly name: string; readonly count: number }[];
}

// ---- loading ----------------------------------------------------------------------------------------

/** Every document of a YAML file; a syntax error fails the caller's test with the file named. */
export function readYaml(file: string): unknown[] {
  const documents = parseAllDocuments(readFileSync(file, 'utf8'));
  if (!Array.isArray(documents)) return [];
  const errors = documents.flatMap((d) =>
    d.errors.map((e) => `${path.relative(REPO_ROOT, file)}: ${e.message}`),
  );
  if (errors.length > 0) throw new Error(errors.join('\n'));
  return documents.map((d) => d.toJS() as unknown).filter((d) => d !== null);
}

export function readKustomization(dir: string): Kustomization {
  return readYaml(path.join(dir, 'kustomization.yaml'))[0] as Kustomization;
}

/**
 * The resources a kustomization builds, with its patches applied (a small strategic merge: objects
 * merge, lists of named items merge by name, `null` removes, `$patch: delete` removes the object) and
 * its `replicas` set. Images are left alone: checks match `PLATFORM_IMAGE` by name.
 */
export function buildKustomization(dir: string): Manifest[] {
  const kustomization = readKustomization(dir);
  let manifests: Manifest[] = [];
  for (const resource of kustomization.resources ?? []) {
    const target = path.join(dir, resource);
    manifests.push(
      ...(statSync(target).isDirectory() ? buildKustomization(target) : (readYaml(target) as Manifest[])),
    );
  }
  for (const { path: patchFile } of kustomization.patches ?? []) {
    for (const patch of readYaml(path.join(dir, patchFile)) as (Manifest & { $patch?: string })[]) {
      const index = manifests.findIndex(
        (m) => m.kind === patch.kind && m.metadata.name === patch.metadata.name,
      );
      if (index < 0) throw new Error(`${patchFile} patches ${patch.kind}/${patch.metadata.name}, not built`);
      if (patch.$patch === 'delete') manifests = manifests.filter((_, i) => i !== index);
      else manifests[index] = mergePatch(manifests[index], patch) as Manifest;
    }
  }
  for (const { name, count } of kustomization.replicas ?? []) {
    const index = manifests.findIndex((m) => m.kind === 'Deployment' && m.metadata.name === name);
    if (index < 0) throw new Error(`replicas names Deployment ${name}, not built`);
    manifests[index] = mergePatch(manifests[index], { spec: { replicas: count } }) as Manifest;
  }
  return manifests;
}

function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null) return undefined;
  if (Array.isArray(patch) && Array.isArray(target) && patch.every(isNamed) && target.every(isNamed)) {
    const merged = [...target];
    for (const item of patch) {
      const at = merged.findIndex((t) => t.name === item.name);
      if (at < 0) merged.push(item);
      else merged[at] = mergePatch(merged[at], item) as { name: string };
    }
    return merged;
  }
  if (!isObject(patch) || !isObject(target) || Array.isArray(patch)) return patch;
  const merged: Record<string, unknown> = { ...target };
  for (const [key, value] of Object.entries(patch)) {
    const next = mergePatch(merged[key], value);
    if (next === undefined) delete merged[key];
    else merged[key] = next;
  }
  return merged;
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function isNamed(value: unknown): value is { name: string } {
  return isObject(value) && typeof value.name === 'string';
}

// ---- workloads ---------------------------------------------------------------------------------------

export interface Workload {
  readonly manifest: Manifest;
  readonly template: PodTemplate;
  readonly container: Container;
  readonly init: boolean;
}

export function workloads(manifests: readonly Manifest[]): Workload[] {
  return manifests.flatMap((manifest) => {
    const template = manifest.spec?.template;
    if (!template) return [];
    return [
      ...(template.spec.initContainers ?? []).map((container) => ({
        manifest,
        template,
        container,
        init: true,
      })),
      ...template.spec.containers.map((container) => ({ manifest, template, container, init: false })),
    ];
  });
}
