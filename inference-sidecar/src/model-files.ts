import { mkdir, mkdtemp, open, readFile, readdir, rename, rm, rmdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { ErrorCode } from '@mlops/schema';
import { DomainError } from '@mlops/runtime';
import { checkModelConfig, checkSignature } from './model-config';
import type { ModelRepositoryParameter } from './proto';

/**
 * Triton's "load with files": RepositoryModelLoad carries a version's files as parameters
 * `file:<version>/<name>` (bytes_param), and optionally the model's `config` (a JSON string). This
 * module checks them and puts them on disk, in the layout the repository reads.
 */

const FILE_PREFIX = 'file:';
/** The files a version may carry; the first two are required. */
const VERSION_FILES = ['model.onnx', 'signature.json', 'reference.json'] as const;
type VersionFileName = (typeof VERSION_FILES)[number];
/** Interrupted writes leave directories named so in the model directory; see `removeInterruptedWrites`. */
const PARTIAL_PREFIX = '.partial-';

/** One version's files, as a load carried them. */
export interface VersionFiles {
  readonly version: string;
  readonly files: ReadonlyMap<VersionFileName, Buffer>;
}

/** A version's files differ from the same version already in the repository (gRPC ALREADY_EXISTS). */
export class VersionExistsError extends DomainError {
  constructor(name: string, version: string, file: string) {
    super(
      ErrorCode.CONFLICT,
      `Version ${version} of '${name}' already exists with a different ${file}; versions are immutable, so load the files as a new version`,
      { field: `${FILE_PREFIX}${version}/${file}` },
    );
  }
}

function badParameter(parameter: string, problem: string): never {
  throw new DomainError(ErrorCode.BAD_USER_INPUT, `Repository parameter '${parameter}' ${problem}`, {
    field: parameter,
  });
}

/**
 * Model names become directories when files are written, so they must be one plain path segment:
 * letters, digits, `_`, `-` and `.`, not starting with `.`.
 */
export function checkModelName(name: string): void {
  if (!/^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}$/.test(name))
    throw new DomainError(
      ErrorCode.BAD_USER_INPUT,
      `Model name '${name}' must be 1-128 letters, digits, '_', '-' or '.', not starting with '.'`,
      { field: 'model_name' },
    );
}

/**
 * The `file:<version>/<name>` parameters of a load, checked: one version, a positive integer equal
 * to `version` when that is given; names among model.onnx (required), signature.json (required,
 * checked as the repository checks it) and reference.json (JSON); bytes_param values. Null when the
 * load carries no file. Any other file parameter answers BAD_USER_INPUT naming it.
 */
export function versionFilesOf(
  parameters: Readonly<Record<string, ModelRepositoryParameter>> | undefined,
  version: string | undefined,
): VersionFiles | null {
  let found: { version: string; key: string } | null = null;
  const files = new Map<VersionFileName, Buffer>();
  for (const [key, parameter] of Object.entries(parameters ?? {})) {
    if (!key.startsWith(FILE_PREFIX)) continue;
    const match = /^(\d+)\/([^/\\]+)$/.exec(key.slice(FILE_PREFIX.length));
    const name = match?.[2] as VersionFileName | undefined;
    if (!match || !/^[1-9]\d{0,15}$/.test(match[1]!) || !name || !VERSION_FILES.includes(name))
      badParameter(
        key,
        `must be named file:<version>/<file>, with a positive integer version and a file among ${VERSION_FILES.join(', ')}`,
      );
    if (parameter.parameter_choice !== 'bytes_param') badParameter(key, 'must carry the file as bytes_param');
    const fileVersion = match[1]!;
    if (version !== undefined && fileVersion !== version)
      badParameter(key, `names version ${fileVersion}, but the parameter 'version' is ${version}`);
    if (found && found.version !== fileVersion)
      badParameter(
        key,
        `names version ${fileVersion}, but '${found.key}' names ${found.version}; one load writes one version`,
      );
    found ??= { version: fileVersion, key };
    files.set(name, parameter.bytes_param);
  }
  if (!found) return null;
  for (const required of ['model.onnx', 'signature.json'] as const) {
    const key = `${FILE_PREFIX}${found.version}/${required}`;
    if (!files.has(required)) badParameter(key, 'is required when a load carries files');
  }
  const json = (name: VersionFileName): unknown => {
    const key = `${FILE_PREFIX}${found.version}/${name}`;
    try {
      return JSON.parse(files.get(name)!.toString('utf8')) as unknown;
    } catch {
      return badParameter(key, 'is not valid JSON');
    }
  };
  const signatureKey = `${FILE_PREFIX}${found.version}/signature.json`;
  checkSignature(json('signature.json'), (problem) => badParameter(signatureKey, `is invalid: ${problem}`));
  if (files.has('reference.json')) json('reference.json');
  return { version: found.version, files };
}

/** The `config` parameter (the model's config.json) checked as the repository checks the file. */
export function checkConfigParameter(text: string): string {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    badParameter('config', 'is not valid JSON');
  }
  checkModelConfig(raw, (problem) => badParameter('config', `is not a valid config.json: ${problem}`));
  return text;
}

/**
 * Puts `files` on disk as `<root>/<name>/<version>/`: written into a directory beside it, flushed,
 * then renamed into place, so a version directory is always complete. An existing version is never
 * replaced: 'unchanged' when every file the load carries is there with the same content (see
 * `sameContent`; files on disk the load does not carry are left alone), else VersionExistsError.
 */
export async function writeVersionFiles(
  root: string,
  name: string,
  { version, files }: VersionFiles,
): Promise<'written' | 'unchanged'> {
  const modelDir = path.join(root, name);
  const versionDir = path.join(modelDir, version);
  await mkdir(modelDir, { recursive: true });
  if (await exists(versionDir)) return compareVersion(name, versionDir, version, files);
  const partial = await mkdtemp(path.join(modelDir, `${PARTIAL_PREFIX}${version}-`));
  try {
    for (const [file, bytes] of files) await writeDurably(path.join(partial, file), bytes);
    await rename(partial, versionDir);
  } catch (error) {
    await rm(partial, { recursive: true, force: true });
    // A concurrent load of the same version renamed first: the same bytes are fine, others are not.
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOTEMPTY' || code === 'EEXIST') return compareVersion(name, versionDir, version, files);
    throw error;
  }
  await syncDirectory(modelDir);
  return 'written';
}

/**
 * Removes a version directory this process wrote, when loading it failed, and the model directory
 * when that leaves it empty (a start-up that loads every model would fail on a model without versions).
 */
export async function removeVersion(root: string, name: string, version: string): Promise<void> {
  await rm(path.join(root, name, version), { recursive: true, force: true });
  await removeIfEmpty(path.join(root, name));
}

/**
 * Writes `<root>/<name>/config.json` (atomically) when it differs from `text`; answers what it held
 * before (null: no file), so a failed load can put it back with `restoreConfig`, or `undefined` when
 * nothing changed.
 */
export async function writeModelConfig(
  root: string,
  name: string,
  text: string,
): Promise<{ previous: Buffer | null } | undefined> {
  const modelDir = path.join(root, name);
  const file = path.join(modelDir, 'config.json');
  await mkdir(modelDir, { recursive: true });
  const previous = await readFile(file).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return null;
    throw error;
  });
  if (previous?.equals(Buffer.from(text))) return undefined;
  await replaceFile(file, Buffer.from(text));
  return { previous };
}

/** Puts back the config.json `writeModelConfig` replaced. */
export async function restoreConfig(root: string, name: string, previous: Buffer | null): Promise<void> {
  const file = path.join(root, name, 'config.json');
  if (previous === null) await rm(file, { force: true });
  else await replaceFile(file, previous);
}

/**
 * Deletes what writes interrupted by a crash left in each model directory. Versions are renamed
 * into place only when complete, so these were never loadable; this only reclaims their space. Run
 * it at start-up, before any load can be writing.
 */
export async function removeInterruptedWrites(root: string): Promise<string[]> {
  const removed: string[] = [];
  const models = await readdir(root, { withFileTypes: true }).catch(() => []);
  for (const model of models.filter((e) => e.isDirectory())) {
    const modelDir = path.join(root, model.name);
    for (const entry of await readdir(modelDir).catch(() => [] as string[])) {
      if (!entry.startsWith(PARTIAL_PREFIX)) continue;
      await rm(path.join(modelDir, entry), { recursive: true, force: true });
      removed.push(path.join(model.name, entry));
    }
    // The first write of a new model made its directory; nothing else may be left in it.
    if (removed.some((r) => r.startsWith(`${model.name}${path.sep}`))) await removeIfEmpty(modelDir);
  }
  return removed;
}

async function compareVersion(
  name: string,
  versionDir: string,
  version: string,
  files: ReadonlyMap<VersionFileName, Buffer>,
): Promise<'unchanged'> {
  // Only the files the load carries count: a version provisioned on this disk may hold more
  // (reference.json, training.json) that a control plane does not send.
  for (const [file, sent] of files) {
    const onDisk = await readFile(path.join(versionDir, file)).catch(() => null);
    if (!onDisk || !sameContent(file, onDisk, sent)) throw new VersionExistsError(name, version, file);
  }
  return 'unchanged';
}

/**
 * model.onnx byte for byte; a JSON file by its value, so that a signature.json a control plane
 * renders from the registry matches the same signature formatted otherwise on disk.
 */
function sameContent(file: VersionFileName, a: Buffer, b: Buffer): boolean {
  if (a.equals(b)) return true;
  if (!file.endsWith('.json')) return false;
  try {
    return canonicalJson(JSON.parse(a.toString('utf8'))) === canonicalJson(JSON.parse(b.toString('utf8')));
  } catch {
    return false;
  }
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

async function replaceFile(file: string, bytes: Buffer): Promise<void> {
  const partial = `${path.dirname(file)}/${PARTIAL_PREFIX}${path.basename(file)}-${process.pid}-${Date.now()}`;
  try {
    await writeDurably(partial, bytes);
    await rename(partial, file);
  } catch (error) {
    await rm(partial, { force: true });
    throw error;
  }
  await syncDirectory(path.dirname(file));
}

async function writeDurably(file: string, bytes: Buffer): Promise<void> {
  const handle = await open(file, 'wx');
  try {
    await handle.writeFile(bytes);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Makes a rename in `dir` survive a power loss, where the platform allows it. */
async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r').catch(() => null);
  if (!handle) return;
  try {
    await handle.sync().catch(() => undefined); // some platforms refuse fsync on directories
  } finally {
    await handle.close();
  }
}

async function removeIfEmpty(dir: string): Promise<void> {
  const removed = await rmdir(dir).then(
    () => true,
    () => false, // not empty (or gone): leave it
  );
  if (!removed) await syncDirectory(dir);
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return false;
      throw error;
    },
  );
}
