/**
 * Writes an MLP as an ONNX model, protobuf built directly (no Python, no converter): one Gemm per
 * dense layer with its weights as initializers, Relu between them. The interface is the one the
 * sidecar serves: `features` FP32 [batch, F] in, `predicted_return` FP32 [batch, outputs] out.
 */
import { onnx } from 'onnx-proto';
import type { ModelSignature } from '../tensor';
import { createMlp, layerSizesOf } from './mlp';
import type { Mlp } from './mlp';

/** ONNX IR version 8 (ONNX 1.10) with the default-domain opset 13: ORT 1.30 runs both. */
export const ONNX_IR_VERSION = 8;
export const ONNX_OPSET = 13;
export const INPUT_NAME = 'features';
export const OUTPUT_NAME = 'predicted_return';
/** Name of the symbolic batch dimension; signature.json writes it as -1. */
export const BATCH_DIM = 'batch';
const PRODUCER = 'mlops-inference-sidecar/model-builder';

export interface OnnxExportOptions {
  /** Graph name inside the model, e.g. the model's repository name. */
  readonly graphName: string;
  /** Free text stored as the model's doc_string. Default none. */
  readonly docString?: string;
  /** Model version stored in the ModelProto (the repository directory names the served one). Default 1. */
  readonly modelVersion?: number;
}

/** Serialises `mlp` to ONNX ModelProto bytes. Same model and options, same bytes. */
export function exportMlpToOnnx(mlp: Mlp, options: OnnxExportOptions): Uint8Array {
  const { graphName, docString = '', modelVersion = 1 } = options;
  const sizes = layerSizesOf(mlp);
  const nodes: onnx.INodeProto[] = [];
  const initializers: onnx.ITensorProto[] = [];
  let current = INPUT_NAME;
  mlp.layers.forEach((layer, l) => {
    const isLast = l + 1 === mlp.layers.length;
    const weightName = `dense_${l}/weight`;
    const biasName = `dense_${l}/bias`;
    initializers.push(
      floatTensor(weightName, [layer.outputSize, layer.inputSize], layer.weights),
      floatTensor(biasName, [layer.outputSize], layer.bias),
    );
    const gemmOutput = isLast ? OUTPUT_NAME : `dense_${l}/output`;
    nodes.push({
      name: `dense_${l}`,
      opType: 'Gemm',
      input: [current, weightName, biasName],
      output: [gemmOutput],
      // Weights are stored [out, in] (as trained), so Gemm multiplies by their transpose.
      attribute: [{ name: 'transB', type: onnx.AttributeProto.AttributeType.INT, i: 1 }],
    });
    current = gemmOutput;
    if (!isLast) {
      const reluOutput = `relu_${l}/output`;
      nodes.push({ name: `relu_${l}`, opType: 'Relu', input: [current], output: [reluOutput] });
      current = reluOutput;
    }
  });
  const model: onnx.IModelProto = {
    irVersion: ONNX_IR_VERSION,
    opsetImport: [{ domain: '', version: ONNX_OPSET }],
    producerName: PRODUCER,
    producerVersion: '1',
    modelVersion,
    docString,
    graph: {
      name: graphName,
      node: nodes,
      initializer: initializers,
      input: [batchedFloatInfo(INPUT_NAME, sizes[0]!)],
      output: [batchedFloatInfo(OUTPUT_NAME, sizes[sizes.length - 1]!)],
    },
  };
  const problem = onnx.ModelProto.verify(model);
  if (problem !== null) throw new Error(`Built an invalid ONNX ModelProto: ${problem}`);
  return onnx.ModelProto.encode(model).finish();
}

/** The KServe v2 signature of an exported MLP; -1 marks the dynamic batch dimension. */
export function mlpSignature(mlp: Mlp): ModelSignature {
  const sizes = layerSizesOf(mlp);
  return {
    inputs: [{ name: INPUT_NAME, datatype: 'FP32', shape: [-1, sizes[0]!] }],
    outputs: [{ name: OUTPUT_NAME, datatype: 'FP32', shape: [-1, sizes[sizes.length - 1]!] }],
  };
}

export interface HeavyModelOptions {
  readonly seed: number;
  /** Input features; match the real model so the same requests serve both. Default 20. */
  readonly inputSize?: number;
  /** Hidden widths. Default three layers of 1024 (about 2.1 M parameters, 4.2 MFLOP a row). */
  readonly hiddenSizes?: readonly number[];
}

/**
 * An untrained MLP with the real model's interface but enough arithmetic per row that batching
 * pays off measurably: the batching benchmark's load. Its predictions mean nothing.
 */
export function createHeavyMlp({
  seed,
  inputSize = 20,
  hiddenSizes = [1024, 1024, 1024],
}: HeavyModelOptions): Mlp {
  return createMlp([inputSize, ...hiddenSizes, 1], seed);
}

/** Builds the heavy benchmark model and serialises it to ONNX bytes. */
export function exportHeavyModelToOnnx(options: HeavyModelOptions & OnnxExportOptions): Uint8Array {
  return exportMlpToOnnx(createHeavyMlp(options), options);
}

function floatTensor(name: string, dims: number[], values: Float32Array): onnx.ITensorProto {
  // raw_data is little-endian by the ONNX spec, whatever the host's byte order.
  const rawData = new Uint8Array(values.length * 4);
  const view = new DataView(rawData.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i]!, true);
  return { name, dims, dataType: onnx.TensorProto.DataType.FLOAT, rawData };
}

function batchedFloatInfo(name: string, width: number): onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: onnx.TensorProto.DataType.FLOAT,
        shape: { dim: [{ dimParam: BATCH_DIM }, { dimValue: width }] },
      },
    },
  };
}
