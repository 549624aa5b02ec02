import { createHash } from 'node:crypto';
import path from 'node:path';

/** The model the inference sidecar ships: a real ONNX file, read as bytes (no sidecar code is imported). */
export const SHIPPED_MODEL_PATH = path.resolve(
  __dirname,
  '..',
  '..',
  'inference-sidecar',
  'models',
  'stock-predictor',
  '1',
  'model.onnx',
);

/** Lower-case hex sha256 of bytes: an artifact's identity in the registry. */
export const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
