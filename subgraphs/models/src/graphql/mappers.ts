import type { ModelVersionRecord, RegisteredModelRecord } from '../store/records';
import { versionId } from '../store/records';
import type { ModelVersion, RegisteredModel } from './types';

export function toRegisteredModelNode(record: RegisteredModelRecord): RegisteredModel {
  return {
    name: record.name,
    description: record.description,
    createdAt: new Date(record.createdAt),
    updatedAt: new Date(record.updatedAt),
  };
}

export function toModelVersionNode(record: ModelVersionRecord): ModelVersion {
  return {
    id: versionId(record.modelName, record.version),
    modelName: record.modelName,
    version: record.version,
    status: record.status,
    statusMessage: record.statusMessage,
    description: record.description,
    runId: record.runId,
    source: { ...record.artifact },
    signature: record.signature
      ? {
          inputs: record.signature.inputs.map((t) => ({ ...t, shape: [...t.shape] })),
          outputs: record.signature.outputs.map((t) => ({ ...t, shape: [...t.shape] })),
        }
      : null,
    createdAt: new Date(record.createdAt),
    updatedAt: new Date(record.updatedAt),
  };
}
