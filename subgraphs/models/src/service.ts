import { createLogger, redactUrl, startGraphQLService } from '@mlops/runtime';
import {
  assertNoPendingMigrations,
  createDatabase,
  migrateToLatest,
  systemClock,
} from '@mlops/runtime/database';
import type { Logger, ReadinessCheck } from '@mlops/runtime';
import type { Clock, Database } from '@mlops/runtime/database';
import type { ArtifactStore } from './artifacts/artifact-store';
import { createDatabaseArtifactStore } from './artifacts/database-artifact-store';
import { createLocalArtifactStore } from './artifacts/local-artifact-store';
import { createArtifactRoutes } from './artifacts/artifact-routes';
import type { ModelsConfig } from './config';
import type { ModelsContext } from './graphql/context';
import { createLoaders } from './graphql/context';
import { buildModelsSchema } from './graphql/schema';
import { createModelsOrm } from './store/orm';
import type { ModelsOrm } from './store/orm';

export interface ModelsServiceOptions {
  readonly config: ModelsConfig;
  /** Default: JSON logs on stdout at `config.logLevel`. */
  readonly logger?: Logger;
  /** Default: the system clock. */
  readonly clock?: Clock;
  /** Default: the store `config.artifactStore` names (database tables, or files in `config.artifactDir`). */
  readonly artifacts?: ArtifactStore;
}

export interface ModelsService {
  /** The GraphQL endpoint; `POST /artifacts` uploads and `GET /artifacts/<sha256>` downloads beside it. */
  readonly url: string;
  readonly port: number;
  readonly orm: ModelsOrm;
  readonly artifacts: ArtifactStore;
  close(): Promise<void>;
}

/**
 * Opens the database, applies pending migrations when configured to, and serves the subgraph over
 * HTTP with `/health`, `/ready`, `POST /artifacts` and `GET /artifacts/<sha256>`. Fails (closing what it opened) if any step fails.
 */
export async function startModelsService(options: ModelsServiceOptions): Promise<ModelsService> {
  const { config } = options;
  const logger = options.logger ?? createLogger({ service: 'models', level: config.logLevel });
  const orm = await createModelsOrm(config.database, (message) => logger.debug(message));
  try {
    if (config.migrateOnStart) {
      const applied = await migrateToLatest(orm);
      if (applied.length > 0) logger.info({ applied }, 'migrations applied');
    }
    const db = createDatabase(orm, config.database.kind, options.clock ?? systemClock);
    const artifacts = options.artifacts ?? createArtifactStore(config, db);
    const registry = { artifacts, maxArtifactBytes: config.maxArtifactBytes };
    const readinessChecks: ReadinessCheck[] = [
      { name: 'database', check: async () => void (await db.knex.raw('SELECT 1')) },
      // With MIGRATE_ON_START=false a pod must not take traffic before `npm run migrate` has run.
      { name: 'migrations', check: () => assertNoPendingMigrations(orm) },
    ];
    const service = await startGraphQLService<ModelsContext>({
      schema: await buildModelsSchema(),
      logger,
      production: config.production,
      readinessChecks,
      redisUrl: config.redisUrl,
      context: async (base) => ({ ...base, db, registry, loaders: createLoaders(db) }),
      routes: createArtifactRoutes({
        artifacts,
        maxBytes: config.maxArtifactBytes,
        identityRequired: config.internalIdentityKeys !== undefined,
      }),
      port: config.port,
      host: config.host,
      internalIdentityKeys: config.internalIdentityKeys,
      name: 'models',
    });
    const { url, port } = service;
    logger.info(
      {
        url,
        database:
          config.database.kind === 'postgresql' ? redactUrl(config.database.url) : config.database.file,
        artifacts: options.artifacts
          ? 'provided'
          : config.artifactStore === 'files'
            ? `files under ${config.artifactDir}`
            : 'database',
      },
      'models subgraph ready',
    );
    return {
      url,
      port,
      orm,
      artifacts,
      async close() {
        await service.close();
        await orm.close();
      },
    };
  } catch (error) {
    await orm.close();
    throw error;
  }
}

/** The store `config.artifactStore` names; the database one lives in `db`, so it is made after the ORM. */
function createArtifactStore(config: ModelsConfig, db: Database): ArtifactStore {
  switch (config.artifactStore) {
    case 'database':
      return createDatabaseArtifactStore(db);
    case 'files':
      return createLocalArtifactStore(config.artifactDir);
    default: {
      const _exhaustive: never = config.artifactStore;
      throw new Error(`Unknown artifact store ${String(_exhaustive)}`);
    }
  }
}
