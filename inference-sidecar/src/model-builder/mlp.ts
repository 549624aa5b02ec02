/**
 * A small multilayer perceptron, trained in plain TypeScript: dense layers with ReLU between them
 * and a linear output, mean-squared-error loss, Adam on shuffled minibatches. No dependencies, and
 * deterministic from its seed, so the exported model is reproducible bit for bit.
 */
import { createMulberry32, createNormal, deriveSeed, shuffleInPlace } from './prng';
import type { Dataset } from './price-series';

/** One fully connected layer: `y = W x + b`, with `W` row-major as `[outputSize][inputSize]`. */
export interface DenseLayer {
  readonly inputSize: number;
  readonly outputSize: number;
  readonly weights: Float32Array;
  readonly bias: Float32Array;
}

/** Dense layers with ReLU after every layer but the last, which is linear. */
export interface Mlp {
  readonly layers: readonly DenseLayer[];
}

/**
 * Creates an untrained MLP with He-normal weights (suited to ReLU) and zero biases.
 * `layerSizes` lists the input size, each hidden size and the output size.
 */
export function createMlp(layerSizes: readonly number[], seed: number): Mlp {
  if (layerSizes.length < 2 || layerSizes.some((size) => !Number.isInteger(size) || size < 1)) {
    throw new RangeError(`layerSizes must be at least two positive integers; got [${layerSizes.join(', ')}]`);
  }
  const layers: DenseLayer[] = [];
  for (let l = 0; l + 1 < layerSizes.length; l++) {
    const inputSize = layerSizes[l]!;
    const outputSize = layerSizes[l + 1]!;
    const normal = createNormal(createMulberry32(deriveSeed(seed, l)));
    const scale = Math.sqrt(2 / inputSize);
    const weights = new Float32Array(inputSize * outputSize);
    for (let i = 0; i < weights.length; i++) weights[i] = normal() * scale;
    layers.push({ inputSize, outputSize, weights, bias: new Float32Array(outputSize) });
  }
  return { layers };
}

/** Sizes of the input, each hidden layer and the output, e.g. `[20, 32, 16, 1]`. */
export function layerSizesOf(mlp: Mlp): number[] {
  return [mlp.layers[0]?.inputSize ?? 0, ...mlp.layers.map((layer) => layer.outputSize)];
}

/**
 * The forward pass over a row-major batch of `batchSize` rows; returns `batchSize × outputSize`
 * values. Accumulates in float64, so it is a reference for ONNX Runtime's float32 arithmetic.
 */
export function predict(mlp: Mlp, features: ArrayLike<number>, batchSize: number): Float64Array {
  const sizes = layerSizesOf(mlp);
  const inputSize = sizes[0]!;
  const outputSize = sizes[sizes.length - 1]!;
  if (features.length !== batchSize * inputSize) {
    throw new RangeError(`Expected ${batchSize} × ${inputSize} feature values; got ${features.length}`);
  }
  const out = new Float64Array(batchSize * outputSize);
  const activations = mlp.layers.map((layer) => new Float64Array(layer.outputSize));
  const input = new Float64Array(inputSize);
  for (let row = 0; row < batchSize; row++) {
    for (let i = 0; i < inputSize; i++) input[i] = features[row * inputSize + i]!;
    let previous: Float64Array = input;
    mlp.layers.forEach((layer, l) => {
      const current = activations[l]!;
      denseForward(layer.weights, layer.bias, previous, current, l + 1 < mlp.layers.length);
      previous = current;
    });
    out.set(previous, row * outputSize);
  }
  return out;
}

function denseForward(
  weights: ArrayLike<number>,
  bias: ArrayLike<number>,
  input: Float64Array,
  output: Float64Array,
  relu: boolean,
): void {
  const inputSize = input.length;
  for (let o = 0; o < output.length; o++) {
    let total = bias[o]!;
    const rowStart = o * inputSize;
    for (let i = 0; i < inputSize; i++) total += weights[rowStart + i]! * input[i]!;
    output[o] = relu && total < 0 ? 0 : total;
  }
}

/** Mean squared error between predictions and targets of equal length. */
export function meanSquaredError(predictions: ArrayLike<number>, targets: ArrayLike<number>): number {
  if (predictions.length !== targets.length || targets.length === 0) {
    throw new RangeError(`Need equal, non-zero lengths; got ${predictions.length} and ${targets.length}`);
  }
  let total = 0;
  for (let i = 0; i < targets.length; i++) total += (predictions[i]! - targets[i]!) ** 2;
  return total / targets.length;
}

export interface TrainOptions {
  /** Seed for the initial weights and the minibatch order. */
  readonly seed: number;
  /** Hidden layer sizes. Default `[32, 16]`. */
  readonly hiddenSizes?: readonly number[];
  /** Passes over the training set. Default 6. */
  readonly epochs?: number;
  /** Rows per Adam step. Default 128. */
  readonly batchSize?: number;
  /** Adam step size. Default 2e-3. */
  readonly learningRate?: number;
}

export interface TrainingMetrics {
  readonly trainMse: number;
  readonly validationMse: number;
  /** MSE of always predicting a zero return, the naive baseline a useful model must beat. */
  readonly baselineTrainMse: number;
  readonly baselineValidationMse: number;
}

export interface TrainResult {
  /** The trained model, weights rounded to float32 exactly as exported. */
  readonly model: Mlp;
  /** Measured with `model` itself, after rounding. */
  readonly metrics: TrainingMetrics;
}

const ADAM_BETA1 = 0.9;
const ADAM_BETA2 = 0.999;
const ADAM_EPSILON = 1e-8;
const OUTPUT_INIT_SCALE = 0.1;

/**
 * Trains a regression MLP (single output) on `train` and measures it on both sets. Targets are
 * scaled to unit RMS while training, which keeps Adam's step size meaningful for returns of
 * order 1e-2; the scale is folded back into the output layer, so the model predicts raw targets.
 */
export function trainMlp(
  data: { readonly train: Dataset; readonly validation: Dataset },
  options: TrainOptions,
): TrainResult {
  const { seed, hiddenSizes = [32, 16], epochs = 6, batchSize = 128, learningRate = 2e-3 } = options;
  const { train, validation } = data;
  if (train.size === 0 || validation.size === 0) {
    throw new RangeError(`Need training and validation rows; got ${train.size} and ${validation.size}`);
  }
  const initial = createMlp([train.featureCount, ...hiddenSizes, 1], seed);
  const targetScale = Math.sqrt(meanSquaredError(new Float64Array(train.size), train.targets));
  const inputScaling = fitInputScaling(train);
  const optimizer = createAdamState(initial, inputScaling);
  const order = Uint32Array.from({ length: train.size }, (_, i) => i);
  const shuffle = createMulberry32(deriveSeed(seed, 0x5eed));
  for (let epoch = 0; epoch < epochs; epoch++) {
    shuffleInPlace(order, shuffle);
    for (let start = 0; start < train.size; start += batchSize) {
      const rows = order.subarray(start, Math.min(start + batchSize, train.size));
      accumulateGradients(optimizer, train, rows, targetScale);
      adamStep(optimizer, learningRate);
    }
  }
  const model = toFloat32Model(optimizer, inputScaling, targetScale);
  return { model, metrics: measure(model, train, validation) };
}

function measure(model: Mlp, train: Dataset, validation: Dataset): TrainingMetrics {
  const zeros = (size: number): Float64Array => new Float64Array(size);
  return {
    trainMse: meanSquaredError(predict(model, train.features, train.size), train.targets),
    validationMse: meanSquaredError(predict(model, validation.features, validation.size), validation.targets),
    baselineTrainMse: meanSquaredError(zeros(train.size), train.targets),
    baselineValidationMse: meanSquaredError(zeros(validation.size), validation.targets),
  };
}

/** Float64 parameters with their gradients and Adam moments, per layer. */
interface TrainableLayer {
  readonly inputSize: number;
  readonly outputSize: number;
  readonly params: Float64Array; // weights then bias
  readonly grads: Float64Array;
  readonly firstMoment: Float64Array;
  readonly secondMoment: Float64Array;
  readonly activation: Float64Array;
  readonly delta: Float64Array;
}

interface AdamState {
  readonly layers: TrainableLayer[];
  readonly inputScaling: InputScaling;
  readonly input: Float64Array;
  step: number;
}

/** Per-feature mean and standard deviation of the training inputs. */
interface InputScaling {
  readonly mean: Float64Array;
  readonly std: Float64Array;
}

function fitInputScaling({ size, featureCount, features }: Dataset): InputScaling {
  const mean = new Float64Array(featureCount);
  const std = new Float64Array(featureCount);
  for (let row = 0; row < size; row++) {
    for (let i = 0; i < featureCount; i++) mean[i]! += features[row * featureCount + i]! / size;
  }
  for (let row = 0; row < size; row++) {
    for (let i = 0; i < featureCount; i++)
      std[i]! += (features[row * featureCount + i]! - mean[i]!) ** 2 / size;
  }
  // A constant feature keeps scale 1 rather than dividing by zero.
  for (let i = 0; i < featureCount; i++) std[i] = std[i]! > 0 ? Math.sqrt(std[i]!) : 1;
  return { mean, std };
}

function createAdamState(mlp: Mlp, inputScaling: InputScaling): AdamState {
  const last = mlp.layers.length - 1;
  const layers = mlp.layers.map(({ inputSize, outputSize, weights, bias }, l) => {
    const params = new Float64Array(weights.length + bias.length);
    params.set(weights);
    params.set(bias, weights.length);
    // A small output layer starts the model near the zero prediction instead of far from it.
    if (l === last) for (let i = 0; i < weights.length; i++) params[i]! *= OUTPUT_INIT_SCALE;
    return {
      inputSize,
      outputSize,
      params,
      grads: new Float64Array(params.length),
      firstMoment: new Float64Array(params.length),
      secondMoment: new Float64Array(params.length),
      activation: new Float64Array(outputSize),
      delta: new Float64Array(outputSize),
    };
  });
  return { layers, inputScaling, input: new Float64Array(mlp.layers[0]!.inputSize), step: 0 };
}

/** Backpropagates the mean squared error of the rows `rows` into each layer's `grads`. */
function accumulateGradients(state: AdamState, data: Dataset, rows: Uint32Array, targetScale: number): void {
  const { layers, input, inputScaling } = state;
  const { mean, std } = inputScaling;
  for (const layer of layers) layer.grads.fill(0);
  const last = layers.length - 1;
  for (const row of rows) {
    for (let i = 0; i < input.length; i++) {
      input[i] = (data.features[row * input.length + i]! - mean[i]!) / std[i]!;
    }
    layers.forEach((layer, l) => {
      const weightCount = layer.inputSize * layer.outputSize;
      const bias = layer.params.subarray(weightCount);
      denseForward(
        layer.params,
        bias,
        l === 0 ? input : layers[l - 1]!.activation,
        layer.activation,
        l < last,
      );
    });
    const output = layers[last]!;
    output.delta[0] = (2 * (output.activation[0]! - data.targets[row]! / targetScale)) / rows.length;
    for (let l = last; l >= 0; l--) {
      const layer = layers[l]!;
      const previous = l === 0 ? input : layers[l - 1]!.activation;
      const { inputSize, outputSize, params, grads, delta } = layer;
      const biasOffset = inputSize * outputSize;
      for (let o = 0; o < outputSize; o++) {
        const d = delta[o]!;
        if (d === 0) continue;
        grads[biasOffset + o]! += d;
        const rowStart = o * inputSize;
        for (let i = 0; i < inputSize; i++) grads[rowStart + i]! += d * previous[i]!;
      }
      if (l === 0) break;
      const below = layers[l - 1]!;
      for (let i = 0; i < inputSize; i++) {
        // ReLU passes the gradient only where its output was positive.
        if (below.activation[i]! <= 0) {
          below.delta[i] = 0;
          continue;
        }
        let total = 0;
        for (let o = 0; o < outputSize; o++) total += params[o * inputSize + i]! * delta[o]!;
        below.delta[i] = total;
      }
    }
  }
}

function adamStep(state: AdamState, learningRate: number): void {
  state.step += 1;
  const correction1 = 1 - ADAM_BETA1 ** state.step;
  const correction2 = 1 - ADAM_BETA2 ** state.step;
  for (const { params, grads, firstMoment, secondMoment } of state.layers) {
    for (let i = 0; i < params.length; i++) {
      const g = grads[i]!;
      const m = ADAM_BETA1 * firstMoment[i]! + (1 - ADAM_BETA1) * g;
      const v = ADAM_BETA2 * secondMoment[i]! + (1 - ADAM_BETA2) * g * g;
      firstMoment[i] = m;
      secondMoment[i] = v;
      params[i]! -= (learningRate * (m / correction1)) / (Math.sqrt(v / correction2) + ADAM_EPSILON);
    }
  }
}

/**
 * Folds the input standardisation into the first layer and the target scale into the last (linear
 * rewrites, exact up to rounding), so the exported model takes raw features and predicts raw targets.
 */
function toFloat32Model(state: AdamState, { mean, std }: InputScaling, targetScale: number): Mlp {
  const last = state.layers.length - 1;
  const layers = state.layers.map(({ inputSize, outputSize, params }, l) => {
    const weightCount = inputSize * outputSize;
    const scaled = Float64Array.from(params);
    if (l === 0) {
      for (let o = 0; o < outputSize; o++) {
        for (let i = 0; i < inputSize; i++) {
          const w = scaled[o * inputSize + i]! / std[i]!;
          scaled[o * inputSize + i] = w;
          scaled[weightCount + o]! -= w * mean[i]!;
        }
      }
    }
    if (l === last) for (let i = 0; i < scaled.length; i++) scaled[i]! *= targetScale;
    return {
      inputSize,
      outputSize,
      weights: Float32Array.from(scaled.subarray(0, weightCount)),
      bias: Float32Array.from(scaled.subarray(weightCount)),
    };
  });
  return { layers };
}
