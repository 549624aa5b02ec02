import { onnx } from 'onnx-proto';
import { formatJson } from '../src/model-builder/json-format';
import { createMlp, meanSquaredError, predict, trainMlp } from '../src/model-builder/mlp';
import { exportMlpToOnnx, mlpSignature } from '../src/model-builder/onnx-export';
import {
  createStockDataset,
  FEATURE_COUNT,
  FEATURE_NAMES,
  LOOKBACK_DAYS,
  writeFeatures,
} from '../src/model-builder/price-series';
import { createMulberry32 } from '../src/model-builder/prng';
import { bucketIndex, describeColumn } from '../src/model-builder/reference-distribution';

describe('createMulberry32', () => {
  it('should repeat its stream for the same seed and change it for another', () => {
    const draw = (seed: number): number[] => Array.from({ length: 5 }, createMulberry32(seed));
    expect(draw(42)).toEqual(draw(42));
    expect(draw(42)).not.toEqual(draw(43));
    expect(draw(42).every((u) => u >= 0 && u < 1)).toBe(true);
  });
});

describe('writeFeatures', () => {
  const logReturns = Float64Array.from({ length: 30 }, (_, t) => (t % 2 === 0 ? 0.01 : -0.01));

  it('should write lagged returns, volatility and momentum in percent, newest lag first', () => {
    const out = new Float32Array(FEATURE_COUNT);
    writeFeatures(logReturns, 25, out, 0);
    expect(out[0]).toBeCloseTo(-1, 6); // logReturns[25]
    expect(out[1]).toBeCloseTo(1, 6);
    expect(out[FEATURE_NAMES.indexOf('volatility_pct_20d')]).toBeCloseTo(1, 6);
    expect(out[FEATURE_NAMES.indexOf('momentum_pct_20d')]).toBeCloseTo(0, 6);
    expect(out[FEATURE_NAMES.indexOf('momentum_pct_5d')]).toBeCloseTo(-1, 6);
  });

  it('should refuse a day without enough history', () => {
    expect(() => writeFeatures(logReturns, LOOKBACK_DAYS - 2, new Float32Array(FEATURE_COUNT), 0)).toThrow(
      RangeError,
    );
  });
});

describe('createStockDataset', () => {
  it('should refuse a train fraction outside (0, 1)', () => {
    expect(() => createStockDataset({ seed: 1, trainFraction: 1 })).toThrow(
      'trainFraction must be in (0, 1); got 1',
    );
  });
});

describe('mlp', () => {
  it('should refuse layer sizes that are not positive integers', () => {
    expect(() => createMlp([20], 1)).toThrow(RangeError);
    expect(() => createMlp([20, 0, 1], 1)).toThrow(
      'layerSizes must be at least two positive integers; got [20, 0, 1]',
    );
  });

  it('should refuse a batch whose length does not match the input size', () => {
    expect(() => predict(createMlp([3, 2, 1], 1), new Float32Array(5), 2)).toThrow(
      'Expected 2 × 3 feature values; got 5',
    );
  });

  it('should apply ReLU between layers and none at the output', () => {
    const mlp = {
      layers: [
        { inputSize: 1, outputSize: 2, weights: Float32Array.of(1, -1), bias: Float32Array.of(0, 0) },
        { inputSize: 2, outputSize: 1, weights: Float32Array.of(1, 1), bias: Float32Array.of(-5) },
      ],
    };
    expect(Array.from(predict(mlp, Float32Array.of(3, -2), 2))).toEqual([-2, -3]);
  });

  it('should refuse to train without validation rows', () => {
    const empty = { size: 0, featureCount: 1, features: new Float32Array(0), targets: new Float32Array(0) };
    const one = { size: 1, featureCount: 1, features: Float32Array.of(1), targets: Float32Array.of(1) };
    expect(() => trainMlp({ train: one, validation: empty }, { seed: 1 })).toThrow(
      'Need training and validation rows; got 1 and 0',
    );
  });

  it('should measure the mean squared error', () => {
    expect(meanSquaredError([1, 2], [0, 0])).toBe(2.5);
    expect(() => meanSquaredError([], [])).toThrow(RangeError);
  });
});

describe('exportMlpToOnnx', () => {
  it('should write IR 8, opset 13 and a symbolic batch dimension', () => {
    const mlp = createMlp([FEATURE_COUNT, 4, 1], 3);
    const model = onnx.ModelProto.decode(exportMlpToOnnx(mlp, { graphName: 'tiny' }));
    expect(Number(model.irVersion)).toBe(8);
    expect(model.opsetImport.map((opset) => [opset.domain, Number(opset.version)])).toEqual([['', 13]]);
    expect(model.graph?.node?.map((node) => node.opType)).toEqual(['Gemm', 'Relu', 'Gemm']);
    const dims = model.graph?.input?.[0]?.type?.tensorType?.shape?.dim ?? [];
    expect(dims.map((dim) => dim.dimParam || Number(dim.dimValue))).toEqual(['batch', FEATURE_COUNT]);
    expect(mlpSignature(mlp).inputs[0]?.shape).toEqual([-1, FEATURE_COUNT]);
  });
});

describe('reference distribution', () => {
  it('should put values below, between and above the edges in the first, inner and last buckets', () => {
    const edges = [0, 1, 2, 3];
    expect([-1, 0, 0.5, 1, 2.5, 3, 9].map((v) => bucketIndex(edges, v))).toEqual([0, 0, 0, 1, 2, 2, 2]);
  });

  it('should describe a column with quantile buckets whose frequencies sum to 1', () => {
    const column = describeColumn(
      'x',
      Float64Array.from({ length: 1000 }, (_, i) => i),
    );
    expect(column).toMatchObject({ min: 0, max: 999, mean: 499.5 });
    expect(column.bucketEdges).toHaveLength(21);
    expect(column.bucketFrequencies).toHaveLength(20);
    expect(column.bucketFrequencies.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
    expect(() => describeColumn('empty', [])).toThrow("Cannot describe 'empty': no values");
  });
});

describe('formatJson', () => {
  it('should expand objects, keep short arrays on one line and fill long number arrays', () => {
    const numbers = Array.from({ length: 30 }, (_, i) => i * 1000.5);
    const text = formatJson({ short: [1, 2], names: ['a'], numbers, nested: { empty: {} } });
    expect(text).toBe(
      [
        '{',
        '  "short": [1, 2],',
        '  "names": ["a"],',
        '  "numbers": [',
        '    0, 1000.5, 2001, 3001.5, 4002, 5002.5, 6003, 7003.5, 8004, 9004.5, 10005, 11005.5, 12006, 13006.5, 14007,',
        '    15007.5, 16008, 17008.5, 18009, 19009.5, 20010, 21010.5, 22011, 23011.5, 24012, 25012.5, 26013, 27013.5,',
        '    28014, 29014.5',
        '  ],',
        '  "nested": {',
        '    "empty": {}',
        '  }',
        '}',
        '',
      ].join('\n'),
    );
  });

  it('should refuse numbers JSON cannot hold', () => {
    expect(() => formatJson({ x: Number.NaN })).toThrow('JSON cannot hold the number NaN');
  });
});
