import { toNumber } from '@mlops/runtime/database';
import type { ModelVersionStatus } from '../entities';
import type { StoredArtifact } from '../artifacts/artifact-store';
import type { ModelSignature } from '../onnx/onnx-signature';

/** Rows as the store returns them: camelCase, times in epoch milliseconds. */
export interface RegisteredModelRecord {
  readonly name: string;
  readonly description: string | null;
  readonly lastVersion: number;
  readonly createdAt: number;
  readonly updatedAt: number;
}

export interface ModelVersionRecord {
  readonly modelName: string;
  readonly version: number;
  readonly status: ModelVersionStatus;
  readonly statusMessage: string | null;
  readonly description: string | null;
  readonly runId: string | null;
  readonly artifact: StoredArtifact;
  readonly signature: ModelSignature | null;
  readonly createdAt: number;
  readonly updatedAt: number;
}

export interface AliasRecord {
  readonly alias: string;
  readonly version: number;
}

export interface KeyValue {
  readonly key: string;
  readonly value: string;
}

/**
 * A model version's federation key: `<modelName>/<version>`. Model names may contain `/`; the
 * version is always the part after the last one.
 */
export function versionId(modelName: string, version: number): string {
  return `${modelName}/${version}`;
}

export function parseVersionId(id: string): { modelName: string; version: number } | undefined {
  const slash = id.lastIndexOf('/');
  const version = Number(id.slice(slash + 1));
  if (slash <= 0 || !/^\d+$/.test(id.slice(slash + 1)) || !Number.isSafeInteger(version)) return undefined;
  return { modelName: id.slice(0, slash), version };
}

type Row = Record<string, unknown>;

const nullableString = (value: unknown): string | null =>
  value === null || value === undefined ? null : String(value);

export function toRegisteredModelRecord(row: Row): RegisteredModelRecord {
  return {
    name: String(row.name),
    description: nullableString(row.description),
    lastVersion: toNumber(row.last_version),
    createdAt: toNumber(row.created_at),
    updatedAt: toNumber(row.updated_at),
  };
}

export function toModelVersionRecord(row: Row): ModelVersionRecord {
  return {
    modelName: String(row.model_name),
    version: toNumber(row.version),
    status: row.status as ModelVersionStatus,
    statusMessage: nullableString(row.status_message),
    description: nullableString(row.description),
    runId: nullableString(row.run_id),
    artifact: {
      sha256: String(row.artifact_sha256),
      size: toNumber(row.artifact_size),
      uri: String(row.artifact_uri),
    },
    signature: row.signature ? (JSON.parse(String(row.signature)) as ModelSignature) : null,
    createdAt: toNumber(row.created_at),
    updatedAt: toNumber(row.updated_at),
  };
}
