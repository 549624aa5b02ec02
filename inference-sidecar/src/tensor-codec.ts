/**
 * Converts between Open Inference Protocol tensors on the wire (`contents` or `raw_input_contents`)
 * and `HostTensor`s, validating requests against the model's signature, and concatenates/splits
 * tensors along the batch dimension for the dynamic batcher.
 *
 * Every rejection of a request is a `DomainError` with code BAD_USER_INPUT (LIMIT_EXCEEDED for
 * oversized tensors) and `details.tensor` naming the tensor at fault; the gRPC boundary converts it
 * to a status. Requests may be garbage (hand-built objects, hostile shapes): nothing here indexes
 * into an undefined field or allocates before the sizes are checked.
 */
import { endianness } from 'node:os';
import { DomainError } from '@mlops/runtime';
import { ErrorCode } from '@mlops/schema';
import type { InferOutputTensor, InferTensorContents, ModelInferRequest } from './proto';
import { DATATYPES, ELEMENT_BYTES, elementCount } from './tensor';
import type { Datatype, HostTensor, ModelSignature, TensorData, TensorSpec } from './tensor';

/** How a request carried its tensor data; the response mirrors it. */
export type TensorEncoding = 'contents' | 'raw';

/** The most elements one tensor may hold (64 Mi); larger shapes are refused before allocating. */
export const MAX_TENSOR_ELEMENTS = 64 * 1024 * 1024;

export interface DecodedInferInputs {
  /** One tensor per signature input, in signature order (not request order). */
  inputs: HostTensor[];
  encoding: TensorEncoding;
  /** The output names the client asked for, in request order, or `null` for "all outputs". */
  requestedOutputs: string[] | null;
}

export interface EncodedInferOutputs {
  outputs: InferOutputTensor[];
  /** One buffer per output in `outputs` order with the `raw` encoding; empty with `contents`. */
  raw_output_contents: Buffer[];
}

type ContentsField = keyof InferTensorContents;

/** The `InferTensorContents` field that carries each datatype's elements. */
const CONTENTS_FIELD: Readonly<Record<Datatype, ContentsField>> = {
  BOOL: 'bool_contents',
  INT32: 'int_contents',
  INT64: 'int64_contents',
  FP32: 'fp32_contents',
  FP64: 'fp64_contents',
};

const ALL_CONTENTS_FIELDS: readonly ContentsField[] = [
  'bool_contents',
  'int_contents',
  'int64_contents',
  'uint_contents',
  'uint64_contents',
  'fp32_contents',
  'fp64_contents',
  'bytes_contents',
];

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const LITTLE_ENDIAN_HOST = endianness() === 'LE';

function badInput(tensor: string | undefined, message: string): DomainError {
  return new DomainError(ErrorCode.BAD_USER_INPUT, message, tensor === undefined ? {} : { tensor });
}

function isDatatype(value: unknown): value is Datatype {
  return (DATATYPES as readonly unknown[]).includes(value);
}

function formatShape(shape: readonly (number | string)[]): string {
  return `[${shape.join(',')}]`;
}

function quoted(names: readonly string[]): string {
  return names.length === 0 ? '(none)' : names.map((n) => `"${n}"`).join(', ');
}

function listOf(value: unknown): readonly unknown[] {
  return Array.isArray(value) ? value : [];
}

// ---------------------------------------------------------------------------------------------
// Decoding requests
// ---------------------------------------------------------------------------------------------

/**
 * Validates a `ModelInferRequest`'s inputs and requested outputs against `signature` and copies the
 * data into `HostTensor`s. Throws a `DomainError` naming the tensor on the first problem found.
 */
export function decodeInferInputs(request: ModelInferRequest, signature: ModelSignature): DecodedInferInputs {
  const wireInputs = listOf(request?.inputs) as readonly Partial<ModelInferRequest['inputs'][number]>[];
  const rawContents = listOf(request?.raw_input_contents);
  const encoding: TensorEncoding = rawContents.length > 0 ? 'raw' : 'contents';
  const specs = new Map(signature.inputs.map((spec) => [spec.name, spec]));
  const decoded = new Map<string, HostTensor>();
  if (encoding === 'raw') checkRawLayout(wireInputs, rawContents.length);

  wireInputs.forEach((wire, index) => {
    const name = String(wire?.name ?? '');
    const spec = specs.get(name);
    if (!spec) {
      throw badInput(name, `Unknown input "${name}"; the model's inputs are ${quoted([...specs.keys()])}`);
    }
    if (decoded.has(name)) throw badInput(name, `Input "${name}" appears more than once`);
    const datatype = checkDatatype(name, wire?.datatype, spec);
    const shape = checkShape(name, wire?.shape, spec);
    const count = checkElementCount(name, shape);
    const data =
      encoding === 'raw'
        ? fromRaw(name, datatype, shape, count, rawContents[index], index)
        : fromContents(name, datatype, shape, count, wire?.contents);
    decoded.set(name, { name, datatype, shape, data });
  });

  const inputs = signature.inputs.map((spec) => {
    const tensor = decoded.get(spec.name);
    if (!tensor) {
      throw badInput(
        spec.name,
        `Missing input "${spec.name}"; the model requires ${quoted(signature.inputs.map((s) => s.name))}`,
      );
    }
    return tensor;
  });
  return { inputs, encoding, requestedOutputs: checkRequestedOutputs(request?.outputs, signature) };
}

function checkDatatype(name: string, datatype: unknown, spec: TensorSpec): Datatype {
  if (!isDatatype(datatype)) {
    throw badInput(
      name,
      `Input "${name}" has unsupported datatype "${String(datatype ?? '')}"; supported datatypes are ${DATATYPES.join(', ')}`,
    );
  }
  if (datatype !== spec.datatype) {
    throw badInput(name, `Input "${name}" has datatype ${datatype} but the model expects ${spec.datatype}`);
  }
  return datatype;
}

function checkShape(name: string, wireShape: unknown, spec: TensorSpec): number[] {
  const raw = listOf(wireShape);
  const shape = raw.map((dim, index) => {
    // int64 dims arrive as decimal strings; anything beyond 2^53 is as invalid as a negative one.
    const value = typeof dim === 'string' && dim.trim() !== '' ? Number(dim) : dim;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
      throw badInput(
        name,
        `Input "${name}" has invalid dimension ${String(dim)} at index ${index} of shape ${formatShape(raw.map(String))}; ` +
          'dimensions must be non-negative integers',
      );
    }
    return value;
  });
  if (shape.length !== spec.shape.length) {
    throw badInput(
      name,
      `Input "${name}" has shape ${formatShape(shape)} of rank ${shape.length} but the model expects rank ` +
        `${spec.shape.length} (shape ${formatShape(spec.shape)})`,
    );
  }
  spec.shape.forEach((expected, index) => {
    if (expected !== -1 && shape[index] !== expected) {
      throw badInput(
        name,
        `Input "${name}" has shape ${formatShape(shape)} but the model expects ${formatShape(spec.shape)} ` +
          `(dimension ${index} must be ${expected})`,
      );
    }
  });
  return shape;
}

/** The element count of `shape`, refusing shapes over `MAX_TENSOR_ELEMENTS` without overflowing. */
function checkElementCount(name: string, shape: readonly number[]): number {
  if (shape.includes(0)) return 0;
  let count = 1;
  for (const dim of shape) {
    count *= dim;
    if (count > MAX_TENSOR_ELEMENTS) {
      throw new DomainError(
        ErrorCode.LIMIT_EXCEEDED,
        `Input "${name}" has shape ${formatShape(shape)}, over the limit of ${MAX_TENSOR_ELEMENTS} elements per tensor`,
        { tensor: name, limit: MAX_TENSOR_ELEMENTS },
      );
    }
  }
  return count;
}

/** Fields of `contents` that hold at least one element. */
function populatedFields(contents: unknown): ContentsField[] {
  if (contents === null || typeof contents !== 'object') return [];
  const record = contents as Record<string, unknown>;
  return ALL_CONTENTS_FIELDS.filter((field) => listOf(record[field]).length > 0);
}

/**
 * With raw contents, `raw_input_contents[i]` belongs to `inputs[i]`, so no input may also set
 * `contents` and the counts must agree.
 */
function checkRawLayout(
  wireInputs: readonly Partial<ModelInferRequest['inputs'][number]>[],
  bufferCount: number,
): void {
  for (const wire of wireInputs) {
    if (populatedFields(wire?.contents).length > 0) {
      const name = String(wire?.name ?? '');
      throw badInput(
        name,
        `Input "${name}" sets contents but the request also carries raw_input_contents; ` +
          'use one encoding for every input',
      );
    }
  }
  if (bufferCount !== wireInputs.length) {
    const unmatched = wireInputs[bufferCount];
    throw badInput(
      unmatched ? String(unmatched.name ?? '') : undefined,
      `raw_input_contents holds ${bufferCount} buffers but the request has ${wireInputs.length} inputs; ` +
        'with raw contents every input needs exactly one buffer, in input order',
    );
  }
}

function fromRaw(
  name: string,
  datatype: Datatype,
  shape: readonly number[],
  count: number,
  buffer: unknown,
  index: number,
): TensorData {
  if (!(buffer instanceof Uint8Array)) {
    throw badInput(name, `Input "${name}" has raw_input_contents[${index}] that is not bytes`);
  }
  const size = ELEMENT_BYTES[datatype];
  const expected = count * size;
  if (buffer.byteLength !== expected) {
    const reason =
      buffer.byteLength % size === 0
        ? `shape ${formatShape(shape)} needs ${expected} (${count} × ${size} bytes)`
        : `that is not a multiple of the ${size}-byte ${datatype} element size; shape ${formatShape(shape)} needs ${expected}`;
    throw badInput(name, `Input "${name}" has ${buffer.byteLength} bytes of raw contents, but ${reason}`);
  }
  return readLittleEndian(datatype, buffer, count);
}

/**
 * Copies little-endian elements into a fresh typed array. gRPC hands us slices of a larger
 * receive buffer at arbitrary offsets, so viewing them in place would throw on misalignment (and
 * would pin the whole receive buffer).
 */
function readLittleEndian(datatype: Datatype, bytes: Uint8Array, count: number): TensorData {
  if (datatype === 'BOOL') return Uint8Array.from(bytes, (b) => (b === 0 ? 0 : 1));
  const out = allocate(datatype, count);
  const outBytes = Buffer.from(out.buffer, out.byteOffset, out.byteLength);
  outBytes.set(bytes);
  if (!LITTLE_ENDIAN_HOST) swapToHostOrder(outBytes, ELEMENT_BYTES[datatype]);
  return out;
}

/** Reverses the byte order of each element in place (little-endian <-> big-endian). */
function swapToHostOrder(bytes: Buffer, elementBytes: number): void {
  if (elementBytes === 4) bytes.swap32();
  else if (elementBytes === 8) bytes.swap64();
}

function allocate(datatype: Datatype, count: number): TensorData {
  switch (datatype) {
    case 'BOOL':
      return new Uint8Array(count);
    case 'INT32':
      return new Int32Array(count);
    case 'INT64':
      return new BigInt64Array(count);
    case 'FP32':
      return new Float32Array(count);
    case 'FP64':
      return new Float64Array(count);
    default: {
      const _exhaustive: never = datatype;
      throw new Error(`unreachable datatype ${String(_exhaustive)}`);
    }
  }
}

function fromContents(
  name: string,
  datatype: Datatype,
  shape: readonly number[],
  count: number,
  contents: unknown,
): TensorData {
  const field = CONTENTS_FIELD[datatype];
  const wrong = populatedFields(contents).filter((f) => f !== field);
  if (wrong.length > 0) {
    throw badInput(
      name,
      `Input "${name}" has datatype ${datatype}, whose values belong in contents.${field}; got ${wrong
        .map((f) => `contents.${f}`)
        .join(', ')}`,
    );
  }
  const values =
    contents !== null && typeof contents === 'object'
      ? listOf((contents as Record<string, unknown>)[field])
      : [];
  if (values.length !== count) {
    throw badInput(
      name,
      `Input "${name}" has ${values.length} values in contents.${field} but shape ${formatShape(shape)} holds ${count}`,
    );
  }
  switch (datatype) {
    case 'BOOL':
      return Uint8Array.from(values, (v) => (v === true ? 1 : 0));
    case 'INT32':
      return Int32Array.from(values, (v) => Number(v));
    case 'INT64':
      return BigInt64Array.from(values, (v, i) => toInt64(name, v, i));
    case 'FP32':
      return Float32Array.from(values, (v) => Number(v));
    case 'FP64':
      return Float64Array.from(values, (v) => Number(v));
    default: {
      const _exhaustive: never = datatype;
      throw new Error(`unreachable datatype ${String(_exhaustive)}`);
    }
  }
}

function toInt64(name: string, value: unknown, index: number): bigint {
  let result: bigint | undefined;
  try {
    if (typeof value === 'bigint') result = value;
    else if (typeof value === 'string' && /^-?\d+$/.test(value)) result = BigInt(value);
    else if (typeof value === 'number' && Number.isSafeInteger(value)) result = BigInt(value);
  } catch {
    result = undefined;
  }
  if (result === undefined || result < INT64_MIN || result > INT64_MAX) {
    throw badInput(
      name,
      `Input "${name}" has ${String(value)} at contents.int64_contents[${index}], which is not a 64-bit integer`,
    );
  }
  return result;
}

function checkRequestedOutputs(wireOutputs: unknown, signature: ModelSignature): string[] | null {
  const requested = listOf(wireOutputs);
  if (requested.length === 0) return null;
  const known = signature.outputs.map((spec) => spec.name);
  const names: string[] = [];
  for (const output of requested) {
    const name = String((output as { name?: unknown } | null)?.name ?? '');
    if (!known.includes(name)) {
      throw badInput(name, `Unknown requested output "${name}"; the model's outputs are ${quoted(known)}`);
    }
    if (names.includes(name)) throw badInput(name, `Output "${name}" is requested more than once`);
    names.push(name);
  }
  return names;
}

// ---------------------------------------------------------------------------------------------
// Encoding responses
// ---------------------------------------------------------------------------------------------

/**
 * Encodes model outputs for a `ModelInferResponse` in the request's encoding: typed `contents`
 * (int64 as decimal strings), or little-endian `raw_output_contents`. Throws an
 * INTERNAL_SERVER_ERROR `DomainError` if a tensor's data does not match its datatype and shape,
 * which is a bug in the backend, not in the request.
 */
export function encodeInferOutputs(
  outputs: readonly HostTensor[],
  encoding: TensorEncoding,
): EncodedInferOutputs {
  const encoded: InferOutputTensor[] = [];
  const raw: Buffer[] = [];
  for (const tensor of outputs) {
    checkHostTensor(tensor);
    encoded.push({
      name: tensor.name,
      datatype: tensor.datatype,
      shape: tensor.shape.map(String),
      parameters: {},
      contents: encoding === 'contents' ? toContents(tensor) : null,
    });
    if (encoding === 'raw') raw.push(toLittleEndian(tensor));
  }
  return { outputs: encoded, raw_output_contents: raw };
}

function checkHostTensor(tensor: HostTensor): void {
  const matches =
    (tensor.datatype === 'BOOL' && tensor.data instanceof Uint8Array) ||
    (tensor.datatype === 'INT32' && tensor.data instanceof Int32Array) ||
    (tensor.datatype === 'INT64' && tensor.data instanceof BigInt64Array) ||
    (tensor.datatype === 'FP32' && tensor.data instanceof Float32Array) ||
    (tensor.datatype === 'FP64' && tensor.data instanceof Float64Array);
  if (!matches || tensor.data.length !== elementCount(tensor.shape)) {
    throw new DomainError(
      ErrorCode.INTERNAL_SERVER_ERROR,
      `Output "${tensor.name}" holds ${tensor.data.length} elements in a ${tensor.data.constructor.name} ` +
        `but is declared ${tensor.datatype} with shape ${formatShape(tensor.shape)}`,
      { tensor: tensor.name },
    );
  }
}

function emptyContents(): InferTensorContents {
  return {
    bool_contents: [],
    int_contents: [],
    int64_contents: [],
    uint_contents: [],
    uint64_contents: [],
    fp32_contents: [],
    fp64_contents: [],
    bytes_contents: [],
  };
}

function toContents(tensor: HostTensor): InferTensorContents {
  const contents = emptyContents();
  const { datatype, data } = tensor;
  switch (datatype) {
    case 'BOOL':
      contents.bool_contents = Array.from(data as Uint8Array, (v) => v !== 0);
      break;
    case 'INT32':
      contents.int_contents = Array.from(data as Int32Array);
      break;
    case 'INT64':
      contents.int64_contents = Array.from(data as BigInt64Array, String);
      break;
    case 'FP32':
      contents.fp32_contents = Array.from(data as Float32Array);
      break;
    case 'FP64':
      contents.fp64_contents = Array.from(data as Float64Array);
      break;
    default: {
      const _exhaustive: never = datatype;
      throw new Error(`unreachable datatype ${String(_exhaustive)}`);
    }
  }
  return contents;
}

function toLittleEndian(tensor: HostTensor): Buffer {
  const { data } = tensor;
  const view = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  // A view, not a copy, on little-endian hosts: grpc-js copies it into the frame when serializing.
  if (LITTLE_ENDIAN_HOST || data.BYTES_PER_ELEMENT === 1) return view;
  const copy = Buffer.from(view);
  swapToHostOrder(copy, data.BYTES_PER_ELEMENT);
  return copy;
}

// ---------------------------------------------------------------------------------------------
// Batching
// ---------------------------------------------------------------------------------------------

/**
 * The rows (dim 0) one request contributes to a batch: the dim 0 all its tensors share. Throws
 * BAD_USER_INPUT naming the tensor if one is a scalar or the tensors disagree.
 */
export function batchRows(tensors: readonly HostTensor[]): number {
  return requestRows(tensors, 0);
}

/**
 * Concatenates several requests' tensors along dim 0, tensor by tensor by name, in the first
 * request's tensor order. Every request must hold the same tensor names with the same datatypes and
 * dims after the first, and all of one request's tensors must share dim 0 (its `batchRows`). Throws
 * BAD_USER_INPUT naming the tensor otherwise; the batcher avoids that by only grouping requests
 * whose names, datatypes and trailing dims agree.
 */
export function concatBatch(requests: readonly (readonly HostTensor[])[]): HostTensor[] {
  const [first] = requests;
  if (!first) return [];
  const totalRows = requests.reduce((n, tensors, index) => n + requestRows(tensors, index), 0);
  requests.forEach((tensors, index) => {
    if (tensors.length !== first.length) {
      const extra = tensors.find((t) => !first.some((f) => f.name === t.name));
      throw badInput(
        extra?.name,
        `Request ${index} of the batch holds ${tensors.length} tensors but request 0 holds ${first.length}`,
      );
    }
  });
  return first.map((template) => {
    const parts = requests.map((tensors, index) => {
      const part = tensors.find((t) => t.name === template.name);
      if (!part) {
        throw badInput(template.name, `Request ${index} of the batch has no tensor "${template.name}"`);
      }
      checkConcatenable(template, part, index);
      return part;
    });
    const out = allocate(
      template.datatype,
      parts.reduce((n, p) => n + p.data.length, 0),
    );
    let offset = 0;
    for (const part of parts) {
      setInto(out, part.data, offset);
      offset += part.data.length;
    }
    return {
      name: template.name,
      datatype: template.datatype,
      shape: [totalRows, ...template.shape.slice(1)],
      data: out,
    };
  });
}

function requestRows(tensors: readonly HostTensor[], index: number): number {
  let rows: number | undefined;
  for (const tensor of tensors) {
    const [dim0] = tensor.shape;
    if (dim0 === undefined) {
      throw badInput(
        tensor.name,
        `Tensor "${tensor.name}" of request ${index} is a scalar and has no batch dimension`,
      );
    }
    if (rows !== undefined && dim0 !== rows) {
      throw badInput(
        tensor.name,
        `Tensor "${tensor.name}" of request ${index} has ${dim0} rows but the request's other tensors have ${rows}`,
      );
    }
    rows = dim0;
  }
  return rows ?? 0;
}

function checkConcatenable(template: HostTensor, part: HostTensor, index: number): void {
  const sameTail =
    part.shape.length === template.shape.length &&
    part.shape.every((d, i) => i === 0 || d === template.shape[i]);
  if (part.datatype !== template.datatype || !sameTail) {
    throw badInput(
      part.name,
      `Tensor "${part.name}" of request ${index} is ${part.datatype} ${formatShape(part.shape)} but request 0 ` +
        `has ${template.datatype} ${formatShape(template.shape)}; only dimension 0 may differ`,
    );
  }
}

function setInto(target: TensorData, source: TensorData, offset: number): void {
  // The datatypes are checked equal, so the typed arrays are of one kind.
  (target as Float64Array).set(source as Float64Array, offset);
}

/**
 * Splits each batched tensor back into per-request tensors along dim 0, `rows[i]` rows for request
 * `i` (each request's `batchRows`, in the order given to `concatBatch`). Each piece is a copy with
 * its own buffer, so one request's result can be transferred or retained without pinning or
 * detaching the others. Throws INTERNAL_SERVER_ERROR if a tensor's dim 0 is not the sum of `rows`,
 * which means the model did not keep the batch dimension.
 */
export function splitBatch(tensors: readonly HostTensor[], rows: readonly number[]): HostTensor[][] {
  const totalRows = rows.reduce((n, r) => n + r, 0);
  const perRequest: HostTensor[][] = rows.map(() => []);
  for (const tensor of tensors) {
    const [dim0] = tensor.shape;
    if (dim0 !== totalRows || tensor.data.length !== elementCount(tensor.shape)) {
      throw new DomainError(
        ErrorCode.INTERNAL_SERVER_ERROR,
        `Batched output "${tensor.name}" has shape ${formatShape(tensor.shape)} and ${tensor.data.length} elements; ` +
          `expected ${totalRows} rows for requests of ${formatShape(rows)} rows`,
        { tensor: tensor.name },
      );
    }
    const rowSize = elementCount(tensor.shape.slice(1));
    let offset = 0;
    rows.forEach((count, index) => {
      perRequest[index]?.push({
        name: tensor.name,
        datatype: tensor.datatype,
        shape: [count, ...tensor.shape.slice(1)],
        data: tensor.data.slice(offset, offset + count * rowSize),
      });
      offset += count * rowSize;
    });
  }
  return perRequest;
}
