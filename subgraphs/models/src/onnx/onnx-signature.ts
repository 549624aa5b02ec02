import { InferenceSession } from 'onnxruntime-node';
import type { Tensor } from 'onnxruntime-node';

/** One input or output of a model: its name, element type and shape. */
export interface TensorSpec {
  readonly name: string;
  /** KServe v2 datatype (`FP32`, `INT64`, `BYTES`, …), or `NON_TENSOR` for sequences and maps. */
  readonly elementType: string;
  /** Sizes, with symbolic dimensions as their names: `['batch', 20]`. Empty when the model does not say. */
  readonly shape: readonly (string | number)[];
}

export interface ModelSignature {
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
}

/** What reading a file as an ONNX model found: its signature, or why it is not a usable model. */
export type SignatureOutcome =
  { readonly ok: true; readonly signature: ModelSignature } | { readonly ok: false; readonly reason: string };

/** ONNX Runtime's element types by the KServe v2 names the inference sidecar speaks. */
const DATATYPES: Readonly<Record<Tensor.Type, string>> = {
  bool: 'BOOL',
  uint4: 'UINT4',
  int4: 'INT4',
  uint8: 'UINT8',
  uint16: 'UINT16',
  uint32: 'UINT32',
  uint64: 'UINT64',
  int8: 'INT8',
  int16: 'INT16',
  int32: 'INT32',
  int64: 'INT64',
  float16: 'FP16',
  float32: 'FP32',
  float64: 'FP64',
  string: 'BYTES',
};

function toTensorSpec(metadata: InferenceSession.ValueMetadata): TensorSpec {
  if (!metadata.isTensor) return { name: metadata.name, elementType: 'NON_TENSOR', shape: [] };
  // A newer runtime may report a type this table lacks; record it rather than refuse the model.
  const elementType = DATATYPES[metadata.type] ?? String(metadata.type).toUpperCase();
  return { name: metadata.name, elementType, shape: [...metadata.shape] };
}

/**
 * Loads the bytes with ONNX Runtime and reads the signature from the session. This is the one place
 * an ORT load failure becomes a reason a client can read: a corrupt or non-ONNX file, an unsupported
 * opset or operator. The session is released before returning.
 */
export async function readOnnxSignature(model: Uint8Array): Promise<SignatureOutcome> {
  let session: InferenceSession;
  try {
    session = await InferenceSession.create(model);
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    return { ok: false, reason: `Not a loadable ONNX model: ${detail}` };
  }
  try {
    return {
      ok: true,
      signature: {
        inputs: session.inputMetadata.map(toTensorSpec),
        outputs: session.outputMetadata.map(toTensorSpec),
      },
    };
  } finally {
    await session.release();
  }
}
