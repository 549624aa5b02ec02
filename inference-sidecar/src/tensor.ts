/**
 * Tensors as the sidecar holds them between the wire and ONNX Runtime: row-major typed arrays with
 * a shape. Nothing here knows gRPC or ORT.
 */

/** KServe v2 / Triton datatype names the sidecar serves. */
export const DATATYPES = ['BOOL', 'INT32', 'INT64', 'FP32', 'FP64'] as const;
export type Datatype = (typeof DATATYPES)[number];

export type TensorData = Uint8Array | Int32Array | BigInt64Array | Float32Array | Float64Array;

export interface HostTensor {
  readonly name: string;
  readonly datatype: Datatype;
  /** Row-major dimensions; the first is the batch dimension for batchable models. */
  readonly shape: readonly number[];
  /** BOOL as one byte per element (0 or 1). */
  readonly data: TensorData;
}

/** One input or output of a model's signature; `-1` marks a dynamic dimension. */
export interface TensorSpec {
  readonly name: string;
  readonly datatype: Datatype;
  readonly shape: readonly number[];
}

export interface ModelSignature {
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
}

/** Bytes per element of each datatype, as laid out in `raw_input_contents` (little-endian). */
export const ELEMENT_BYTES: Readonly<Record<Datatype, number>> = {
  BOOL: 1,
  INT32: 4,
  INT64: 8,
  FP32: 4,
  FP64: 8,
};

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((n, d) => n * d, 1);
}
