import type { Logger } from '@mlops/runtime';
import {
  checkModelName,
  removeVersion,
  restoreConfig,
  writeModelConfig,
  writeVersionFiles,
} from './model-files';
import type { VersionFiles } from './model-files';
import type { LoadOptions, LoadedModel, ModelRepository } from './model-repository';

export interface FileLoad {
  /** The version's files, when the load carries them; the version loaded is theirs. */
  readonly files: VersionFiles | null;
  /** The model's config.json (checked JSON), when the load carries it. */
  readonly config: string | undefined;
}

/**
 * A RepositoryModelLoad that carries files: writes them (and the model's config.json) into the
 * repository, then loads as any load does. When the load fails, whatever this call wrote is taken
 * back (a version directory it created, unless some other load serves it by now; the config.json
 * it replaced), so the repository is as before and a later start does not trip over it.
 */
export async function loadWithFiles(
  repository: ModelRepository,
  logger: Logger,
  name: string,
  { files, config }: FileLoad,
  options: LoadOptions,
): Promise<LoadedModel> {
  checkModelName(name);
  const root = repository.root;
  const wrote = files ? await writeVersionFiles(root, name, files) : 'unchanged';
  if (files && wrote === 'written') {
    const bytes = [...files.files.values()].reduce((sum, b) => sum + b.length, 0);
    logger.info(
      { model: name, version: files.version, files: [...files.files.keys()], bytes },
      'model version written',
    );
  }
  let replaced: { previous: Buffer | null } | undefined;
  try {
    replaced = config === undefined ? undefined : await writeModelConfig(root, name, config);
    if (replaced)
      logger.info({ model: name, replacedExisting: replaced.previous !== null }, 'model config written');
    return await repository.load(name, { ...options, version: files?.version ?? options.version });
  } catch (error) {
    // Best effort: the caller hears of the load's failure, the log of a failed clean-up.
    const undo = (what: string) => (err: unknown) => logger.error({ err, model: name }, `could not ${what}`);
    if (replaced) await restoreConfig(root, name, replaced.previous).catch(undo('restore config.json'));
    const version = files?.version;
    const serving = repository.versions(name).some((m) => m.version === version);
    if (version !== undefined && wrote === 'written' && !serving) {
      await removeVersion(root, name, version).then(
        () => logger.info({ model: name, version }, 'model version removed: its load failed'),
        undo(`remove version ${version}`),
      );
    }
    throw error;
  }
}
