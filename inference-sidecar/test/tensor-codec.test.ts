import { DomainError } from '@mlops/runtime';
import { ErrorCode } from '@mlops/schema';
import type { InferInputTensor, InferTensorContents, ModelInferRequest } from '../src/proto';
import {
  MAX_TENSOR_ELEMENTS,
  batchRows,
  concatBatch,
  decodeInferInputs,
  encodeInferOutputs,
  splitBatch,
} from '../src/tensor-codec';
import type { Datatype, HostTensor, ModelSignature } from '../src/tensor';

function contents(fields: Partial<InferTensorContents> = {}): InferTensorContents {
  return {
    bool_contents: [],
    int_contents: [],
    int64_contents: [],
    uint_contents: [],
    uint64_contents: [],
    fp32_contents: [],
    fp64_contents: [],
    bytes_contents: [],
    ...fields,
  };
}

function input(
  name: string,
  datatype: string,
  shape: number[],
  data?: Partial<InferTensorContents>,
): InferInputTensor {
  return {
    name,
    datatype,
    shape: shape.map(String),
    parameters: {},
    contents: data ? contents(data) : null,
  };
}

function request(
  inputs: InferInputTensor[],
  options: { raw?: Buffer[]; outputs?: string[] } = {},
): ModelInferRequest {
  return {
    model_name: 'm',
    model_version: '',
    id: '',
    parameters: {},
    inputs,
    outputs: (options.outputs ?? []).map((name) => ({ name, parameters: {} })),
    raw_input_contents: options.raw ?? [],
  };
}

function signatureOf(inputs: [string, Datatype, number[]][], outputs: [string, Datatype, number[]][] = []) {
  const spec = ([name, datatype, shape]: [string, Datatype, number[]]) => ({ name, datatype, shape });
  return { inputs: inputs.map(spec), outputs: outputs.map(spec) } satisfies ModelSignature;
}

/** Little-endian bytes of `values`, written independently of the codec. */
function littleEndian(datatype: Datatype, values: readonly (number | bigint | boolean)[]): Buffer {
  const size = { BOOL: 1, INT32: 4, INT64: 8, FP32: 4, FP64: 8 }[datatype];
  const out = Buffer.alloc(values.length * size);
  values.forEach((v, i) => {
    if (datatype === 'BOOL') out.writeUInt8(v ? 1 : 0, i);
    else if (datatype === 'INT32') out.writeInt32LE(Number(v), i * 4);
    else if (datatype === 'INT64') out.writeBigInt64LE(BigInt(v), i * 8);
    else if (datatype === 'FP32') out.writeFloatLE(Number(v), i * 4);
    else out.writeDoubleLE(Number(v), i * 8);
  });
  return out;
}

function thrown(fn: () => unknown): DomainError {
  try {
    fn();
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error('expected a DomainError, but nothing was thrown');
}

interface DatatypeCase {
  datatype: Datatype;
  field: keyof InferTensorContents;
  wire: InferTensorContents[keyof InferTensorContents];
  host: HostTensor['data'];
  values: readonly (number | bigint | boolean)[];
}

const DATATYPE_CASES: DatatypeCase[] = [
  {
    datatype: 'BOOL',
    field: 'bool_contents',
    wire: [true, false, true, true],
    host: Uint8Array.from([1, 0, 1, 1]),
    values: [true, false, true, true],
  },
  {
    datatype: 'INT32',
    field: 'int_contents',
    wire: [1, -2, 2147483647, -2147483648],
    host: Int32Array.from([1, -2, 2147483647, -2147483648]),
    values: [1, -2, 2147483647, -2147483648],
  },
  {
    datatype: 'INT64',
    field: 'int64_contents',
    wire: ['1', '-2', '9223372036854775807', '-9223372036854775808'],
    host: BigInt64Array.from([1n, -2n, 9223372036854775807n, -9223372036854775808n]),
    values: [1n, -2n, 9223372036854775807n, -9223372036854775808n],
  },
  {
    datatype: 'FP32',
    field: 'fp32_contents',
    wire: [1.5, -2.25, 0, 3.4028234663852886e38],
    host: Float32Array.from([1.5, -2.25, 0, 3.4028234663852886e38]),
    values: [1.5, -2.25, 0, 3.4028234663852886e38],
  },
  {
    datatype: 'FP64',
    field: 'fp64_contents',
    wire: [Math.PI, -1e300, 0, 5e-324],
    host: Float64Array.from([Math.PI, -1e300, 0, 5e-324]),
    values: [Math.PI, -1e300, 0, 5e-324],
  },
];

describe('decodeInferInputs / encodeInferOutputs', () => {
  describe.each(DATATYPE_CASES)('$datatype', ({ datatype, field, wire, host, values }) => {
    const signature = signatureOf([['t', datatype, [-1, 2]]], [['t', datatype, [-1, 2]]]);

    it('should round-trip typed contents', () => {
      const decoded = decodeInferInputs(
        request([input('t', datatype, [2, 2], { [field]: wire })]),
        signature,
      );
      expect(decoded.encoding).toBe('contents');
      expect(decoded.inputs).toEqual([{ name: 't', datatype, shape: [2, 2], data: host }]);

      const encoded = encodeInferOutputs(decoded.inputs, decoded.encoding);
      expect(encoded.raw_output_contents).toEqual([]);
      expect(encoded.outputs).toEqual([
        { name: 't', datatype, shape: ['2', '2'], parameters: {}, contents: contents({ [field]: wire }) },
      ]);
    });

    it('should round-trip raw little-endian contents', () => {
      const bytes = littleEndian(datatype, values);
      const decoded = decodeInferInputs(request([input('t', datatype, [2, 2])], { raw: [bytes] }), signature);
      expect(decoded.encoding).toBe('raw');
      expect(decoded.inputs).toEqual([{ name: 't', datatype, shape: [2, 2], data: host }]);

      const encoded = encodeInferOutputs(decoded.inputs, decoded.encoding);
      expect(encoded.outputs).toEqual([
        { name: 't', datatype, shape: ['2', '2'], parameters: {}, contents: null },
      ]);
      expect(encoded.raw_output_contents).toHaveLength(1);
      expect(Buffer.compare(encoded.raw_output_contents[0]!, bytes)).toBe(0);
    });

    it('should copy raw contents that start at an unaligned offset', () => {
      const bytes = littleEndian(datatype, values);
      const backing = Buffer.alloc(bytes.length + 3);
      bytes.copy(backing, 3);
      const unaligned = backing.subarray(3);
      expect(unaligned.byteOffset % 2).toBe(1);

      const decoded = decodeInferInputs(
        request([input('t', datatype, [2, 2])], { raw: [unaligned] }),
        signature,
      );
      expect(decoded.inputs[0]?.data).toEqual(host);
      expect(decoded.inputs[0]?.data.buffer).not.toBe(backing.buffer);
    });
  });

  it('should normalise non-zero raw BOOL bytes to 1', () => {
    const signature = signatureOf([['b', 'BOOL', [3]]]);
    const decoded = decodeInferInputs(
      request([input('b', 'BOOL', [3])], { raw: [Buffer.from([0, 7, 255])] }),
      signature,
    );
    expect(decoded.inputs[0]?.data).toEqual(Uint8Array.from([0, 1, 1]));
  });

  it('should return inputs in signature order and the requested outputs in request order', () => {
    const signature = signatureOf(
      [
        ['a', 'FP32', [1]],
        ['b', 'INT32', [1]],
      ],
      [
        ['x', 'FP32', [1]],
        ['y', 'FP32', [1]],
      ],
    );
    const decoded = decodeInferInputs(
      request(
        [input('b', 'INT32', [1], { int_contents: [2] }), input('a', 'FP32', [1], { fp32_contents: [1] })],
        {
          outputs: ['y', 'x'],
        },
      ),
      signature,
    );
    expect(decoded.inputs.map((t) => t.name)).toEqual(['a', 'b']);
    expect(decoded.requestedOutputs).toEqual(['y', 'x']);
  });

  it('should report no requested outputs as null', () => {
    const signature = signatureOf([['a', 'FP32', [1]]], [['x', 'FP32', [1]]]);
    const decoded = decodeInferInputs(request([input('a', 'FP32', [1], { fp32_contents: [1] })]), signature);
    expect(decoded.requestedOutputs).toBeNull();
  });

  it('should accept zero-element tensors in both encodings', () => {
    const signature = signatureOf([['a', 'FP32', [-1, 4]]]);
    const typed = decodeInferInputs(request([input('a', 'FP32', [0, 4])]), signature);
    expect(typed.inputs[0]).toEqual({
      name: 'a',
      datatype: 'FP32',
      shape: [0, 4],
      data: new Float32Array(0),
    });
    const raw = decodeInferInputs(
      request([input('a', 'FP32', [0, 4])], { raw: [Buffer.alloc(0)] }),
      signature,
    );
    expect(raw.inputs[0]?.data).toEqual(new Float32Array(0));
  });

  it('should refuse to encode an output whose data does not match its datatype and shape', () => {
    const error = thrown(() =>
      encodeInferOutputs([{ name: 'y', datatype: 'FP32', shape: [3], data: new Float32Array(2) }], 'raw'),
    );
    expect(error.code).toBe(ErrorCode.INTERNAL_SERVER_ERROR);
    expect(error.details).toEqual({ tensor: 'y' });
  });
});

describe('decodeInferInputs validation', () => {
  const signature = signatureOf(
    [
      ['x', 'FP32', [-1, 2]],
      ['n', 'INT64', [-1]],
    ],
    [['y', 'FP32', [-1]]],
  );
  const x = (shape = [1, 2], values = [1, 2]) => input('x', 'FP32', shape, { fp32_contents: values });
  const n = (shape = [1], values = ['7']) => input('n', 'INT64', shape, { int64_contents: values });
  const rawX = (shape = [1, 2]) => input('x', 'FP32', shape);
  const rawN = () => input('n', 'INT64', [1]);
  const bytesX = littleEndian('FP32', [1, 2]);
  const bytesN = littleEndian('INT64', [7n]);

  const cases: [string, () => ModelInferRequest, string | undefined, string][] = [
    [
      'an unknown input name',
      () => request([x(), n(), input('z', 'FP32', [1], { fp32_contents: [1] })]),
      'z',
      'Unknown input "z"; the model\'s inputs are "x", "n"',
    ],
    ['a missing required input', () => request([x()]), 'n', 'Missing input "n"; the model requires "x", "n"'],
    ['a duplicate input', () => request([x(), n(), x()]), 'x', 'Input "x" appears more than once'],
    [
      'a datatype that differs from the signature',
      () => request([x(), input('n', 'INT32', [1], { int_contents: [7] })]),
      'n',
      'Input "n" has datatype INT32 but the model expects INT64',
    ],
    [
      'an unsupported datatype',
      () => request([x(), input('n', 'FP16', [1])]),
      'n',
      'Input "n" has unsupported datatype "FP16"; supported datatypes are BOOL, INT32, INT64, FP32, FP64',
    ],
    [
      'a rank that differs from the signature',
      () => request([x([2], [1, 2]), n()]),
      'x',
      'Input "x" has shape [2] of rank 1 but the model expects rank 2 (shape [-1,2])',
    ],
    [
      'a fixed dimension that differs from the signature',
      () => request([x([1, 3], [1, 2, 3]), n()]),
      'x',
      'Input "x" has shape [1,3] but the model expects [-1,2] (dimension 1 must be 2)',
    ],
    [
      'a negative dimension',
      () => request([x([-1, 2]), n()]),
      'x',
      'Input "x" has invalid dimension -1 at index 0 of shape [-1,2]; dimensions must be non-negative integers',
    ],
    [
      'a non-integer dimension',
      () => request([x([1.5, 2]), n()]),
      'x',
      'Input "x" has invalid dimension 1.5 at index 0 of shape [1.5,2]; dimensions must be non-negative integers',
    ],
    [
      'more values than the shape holds',
      () => request([x([1, 2], [1, 2, 3]), n()]),
      'x',
      'Input "x" has 3 values in contents.fp32_contents but shape [1,2] holds 2',
    ],
    [
      'fewer values than the shape holds',
      () => request([x(), n([2], ['1'])]),
      'n',
      'Input "n" has 1 values in contents.int64_contents but shape [2] holds 2',
    ],
    [
      'a raw buffer of whole elements but the wrong count',
      () => request([rawX([2, 2]), rawN()], { raw: [bytesX, bytesN] }),
      'x',
      'Input "x" has 8 bytes of raw contents, but shape [2,2] needs 16 (4 × 4 bytes)',
    ],
    [
      'a raw buffer that is not a multiple of the element size',
      () => request([rawX(), rawN()], { raw: [bytesX, Buffer.alloc(7)] }),
      'n',
      'Input "n" has 7 bytes of raw contents, but that is not a multiple of the 8-byte INT64 element size; shape [1] needs 8',
    ],
    [
      'some inputs raw and some with contents',
      () => request([rawX(), n()], { raw: [bytesX] }),
      'n',
      'Input "n" sets contents but the request also carries raw_input_contents; use one encoding for every input',
    ],
    [
      'a tensor with both contents and a raw buffer',
      () => request([x(), rawN()], { raw: [bytesX, bytesN] }),
      'x',
      'Input "x" sets contents but the request also carries raw_input_contents; use one encoding for every input',
    ],
    [
      'fewer raw buffers than inputs',
      () => request([rawX(), rawN()], { raw: [bytesX] }),
      'n',
      'raw_input_contents holds 1 buffers but the request has 2 inputs; with raw contents every input needs exactly one buffer, in input order',
    ],
    [
      'the wrong contents field for the datatype',
      () => request([input('x', 'FP32', [1, 2], { fp64_contents: [1, 2] }), n()]),
      'x',
      'Input "x" has datatype FP32, whose values belong in contents.fp32_contents; got contents.fp64_contents',
    ],
    [
      'an int64 value out of range',
      () => request([x(), n([1], ['9223372036854775808'])]),
      'n',
      'Input "n" has 9223372036854775808 at contents.int64_contents[0], which is not a 64-bit integer',
    ],
    [
      'an unknown requested output name',
      () => request([x(), n()], { outputs: ['y', 'q'] }),
      'q',
      'Unknown requested output "q"; the model\'s outputs are "y"',
    ],
    [
      'a duplicate requested output',
      () => request([x(), n()], { outputs: ['y', 'y'] }),
      'y',
      'Output "y" is requested more than once',
    ],
  ];

  it.each(cases)('should reject %s with BAD_USER_INPUT naming the tensor', (_, build, tensor, message) => {
    const error = thrown(() => decodeInferInputs(build(), signature));
    expect(error.code).toBe(ErrorCode.BAD_USER_INPUT);
    expect(error.message).toBe(message);
    expect(error.details).toEqual({ tensor });
  });

  it('should reject more raw buffers than inputs with BAD_USER_INPUT', () => {
    const error = thrown(() =>
      decodeInferInputs(request([rawX(), rawN()], { raw: [bytesX, bytesN, bytesN] }), signature),
    );
    expect(error.code).toBe(ErrorCode.BAD_USER_INPUT);
    expect(error.message).toBe(
      'raw_input_contents holds 3 buffers but the request has 2 inputs; with raw contents every input needs exactly one buffer, in input order',
    );
    // There is no input to blame for a surplus buffer.
    expect(error.details).toEqual({});
  });

  it('should refuse a huge shape with LIMIT_EXCEEDED before allocating', () => {
    const huge = input('n', 'INT64', [4_000_000_000_000]);
    const error = thrown(() => decodeInferInputs(request([x(), huge]), signature));
    expect(error.code).toBe(ErrorCode.LIMIT_EXCEEDED);
    expect(error.details).toEqual({ tensor: 'n', limit: MAX_TENSOR_ELEMENTS });
    expect(error.message).toBe(
      `Input "n" has shape [4000000000000], over the limit of ${MAX_TENSOR_ELEMENTS} elements per tensor`,
    );
  });

  it('should accept a huge dimension when another dimension is zero', () => {
    const decoded = decodeInferInputs(
      request([input('w', 'FP32', [4_000_000_000_000, 0])]),
      signatureOf([['w', 'FP32', [-1, -1]]]),
    );
    expect(decoded.inputs[0]?.data).toEqual(new Float32Array(0));
  });

  describe('on garbage', () => {
    const garbage: [string, unknown][] = [
      ['an empty object', {}],
      ['null inputs', { inputs: null, raw_input_contents: null, outputs: null }],
      ['a null input entry', { inputs: [null] }],
      ['an input without fields', { inputs: [{}] }],
      ['a shape that is not an array', { inputs: [{ name: 'x', datatype: 'FP32', shape: 'big' }] }],
      [
        'a dimension beyond 2^53',
        { inputs: [{ name: 'x', datatype: 'FP32', shape: ['99999999999999999999', '2'] }] },
      ],
      ['a non-numeric dimension', { inputs: [{ name: 'x', datatype: 'FP32', shape: ['two', '2'] }] }],
      [
        'contents fields that are not arrays',
        { inputs: [{ name: 'x', datatype: 'FP32', shape: ['1', '2'], contents: { fp32_contents: 'ab' } }] },
      ],
      [
        'a raw entry that is not bytes',
        {
          inputs: [{ name: 'x', datatype: 'FP32', shape: ['1', '2'] }],
          raw_input_contents: ['AAAAAAAAAAA='],
        },
      ],
      [
        'int64 contents that are not integers',
        {
          inputs: [
            x(),
            { name: 'n', datatype: 'INT64', shape: ['1'], contents: { int64_contents: ['1e3'] } },
          ],
        },
      ],
      ['an output entry without a name', { inputs: [x(), n()], outputs: [null] }],
    ];

    it.each(garbage)('should reject %s with a DomainError', (_, value) => {
      const error = thrown(() => decodeInferInputs(value as ModelInferRequest, signature));
      expect(error.code).toBe(ErrorCode.BAD_USER_INPUT);
    });
  });
});

describe('concatBatch / splitBatch', () => {
  const request = (rows: number, base: number): HostTensor[] => [
    {
      name: 'x',
      datatype: 'FP32',
      shape: [rows, 2],
      data: Float32Array.from({ length: rows * 2 }, (_, i) => base + i),
    },
    {
      name: 'n',
      datatype: 'INT64',
      shape: [rows],
      data: BigInt64Array.from({ length: rows }, (_, i) => BigInt(base + i)),
    },
  ];

  it('should concatenate along dim 0 and split back to the same tensors', () => {
    const requests = [request(1, 0), request(3, 10), request(2, 20)];
    const rows = requests.map(batchRows);
    expect(rows).toEqual([1, 3, 2]);

    const batched = concatBatch(requests);
    expect(batched).toEqual([
      {
        name: 'x',
        datatype: 'FP32',
        shape: [6, 2],
        data: Float32Array.from([0, 1, 10, 11, 12, 13, 14, 15, 20, 21, 22, 23]),
      },
      { name: 'n', datatype: 'INT64', shape: [6], data: BigInt64Array.from([0n, 10n, 11n, 12n, 20n, 21n]) },
    ]);
    expect(splitBatch(batched, rows)).toEqual(requests);
  });

  it('should give each split piece its own buffer', () => {
    const [a, b] = splitBatch(concatBatch([request(1, 0), request(1, 5)]), [1, 1]);
    expect(a?.[0]?.data.buffer).not.toBe(b?.[0]?.data.buffer);
  });

  it('should match tensors by name, not position', () => {
    const swapped = [...request(1, 5)].reverse();
    const batched = concatBatch([request(1, 0), swapped]);
    expect(batched.map((t) => t.name)).toEqual(['x', 'n']);
    expect(batched[1]?.data).toEqual(BigInt64Array.from([0n, 5n]));
  });

  const errors: [string, () => unknown, string, string][] = [
    [
      'trailing dimensions that differ',
      () => concatBatch([request(1, 0), [{ ...request(1, 0)[0]!, shape: [2, 1] }, request(2, 0)[1]!]]),
      'x',
      'Tensor "x" of request 1 is FP32 [2,1] but request 0 has FP32 [1,2]; only dimension 0 may differ',
    ],
    [
      'datatypes that differ',
      () =>
        concatBatch([
          request(1, 0),
          [request(1, 0)[0]!, { ...request(1, 0)[1]!, datatype: 'INT32', data: new Int32Array(1) }],
        ]),
      'n',
      'Tensor "n" of request 1 is INT32 [1] but request 0 has INT64 [1]; only dimension 0 may differ',
    ],
    [
      'a missing tensor',
      () => concatBatch([request(1, 0), [request(1, 0)[0]!, { ...request(1, 0)[1]!, name: 'm' }]]),
      'n',
      'Request 1 of the batch has no tensor "n"',
    ],
    [
      'rows that differ within one request',
      () => concatBatch([request(1, 0), [request(2, 0)[0]!, request(1, 0)[1]!]]),
      'n',
      'Tensor "n" of request 1 has 1 rows but the request\'s other tensors have 2',
    ],
    [
      'a scalar tensor',
      () => concatBatch([[{ name: 's', datatype: 'FP32', shape: [], data: new Float32Array(1) }]]),
      's',
      'Tensor "s" of request 0 is a scalar and has no batch dimension',
    ],
  ];

  it.each(errors)('should reject %s with BAD_USER_INPUT naming the tensor', (_, run, tensor, message) => {
    const error = thrown(run);
    expect(error.code).toBe(ErrorCode.BAD_USER_INPUT);
    expect(error.details).toEqual({ tensor });
    expect(error.message).toBe(message);
  });

  it('should refuse to split an output whose dim 0 is not the sum of the rows', () => {
    const error = thrown(() => splitBatch(concatBatch([request(1, 0), request(2, 0)]), [1, 1]));
    expect(error.code).toBe(ErrorCode.INTERNAL_SERVER_ERROR);
    expect(error.details).toEqual({ tensor: 'x' });
  });
});
