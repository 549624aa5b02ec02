import * as grpc from '@grpc/grpc-js';
import { DomainError } from '@mlops/runtime';
import {
  createHealthClient,
  createInferenceClient,
  loadSidecarProtos,
  type HealthServiceClient,
  type HealthServiceHandlers,
  type InferenceServiceClient,
  type InferenceServiceHandlers,
  type MessageInit,
  type ModelInferRequest,
  type ModelInferResponse,
  type ModelStreamInferResponse,
} from '../src/proto';
import { decodeInferInputs, encodeInferOutputs } from '../src/tensor-codec';
import type { HostTensor, ModelSignature } from '../src/tensor';

/** The subset of google.protobuf.DescriptorProto that proto-loader exposes as `type`. */
interface FieldDescriptor {
  name: string;
  number: number;
  label: string;
  type: string;
  typeName: string;
}
interface MessageDescriptor {
  name: string;
  field: FieldDescriptor[];
  nestedType: (MessageDescriptor & { options: { mapEntry?: boolean } | null })[];
  enumType: { name: string; value: { name: string; number: number }[] }[];
  oneofDecl: { name: string }[];
}

function descriptorOf(fullName: string): MessageDescriptor {
  const { packageDefinition } = loadSidecarProtos();
  const [pkg, ...rest] = fullName.split('.');
  // Nested messages are not top-level entries; walk down from the outermost message.
  for (let split = rest.length; split > 0; split--) {
    const entry = packageDefinition[[pkg, ...rest.slice(0, split)].join('.')];
    if (entry && 'format' in entry) {
      let descriptor = entry.type as MessageDescriptor;
      for (const nested of rest.slice(split)) {
        const next = descriptor.nestedType.find((n) => n.name === nested);
        if (!next) throw new Error(`no nested message ${nested} in ${fullName}`);
        descriptor = next;
      }
      return descriptor;
    }
  }
  throw new Error(`no message ${fullName}`);
}

function typeName(field: FieldDescriptor): string {
  return field.typeName
    ? (field.typeName.split('.').pop() ?? '')
    : field.type.replace('TYPE_', '').toLowerCase();
}

/** Renders a message's fields in `.proto` syntax, so the expected layout reads like the spec. */
function renderFields(fullName: string): string[] {
  const descriptor = descriptorOf(fullName);
  const lines = descriptor.field.map((field) => {
    const entry = descriptor.nestedType.find((n) => n.name === field.typeName && n.options?.mapEntry);
    if (entry) {
      const [key, value] = entry.field;
      return `map<${typeName(key!)}, ${typeName(value!)}> ${field.name} = ${field.number}`;
    }
    const label = field.label === 'LABEL_REPEATED' ? 'repeated ' : '';
    return `${label}${typeName(field)} ${field.name} = ${field.number}`;
  });
  const oneofs = descriptor.oneofDecl.map((o) => `oneof ${o.name}`);
  const enums = descriptor.enumType.map(
    (e) => `enum ${e.name} { ${e.value.map((v) => `${v.name} = ${v.number}`).join('; ')} }`,
  );
  return [...oneofs, ...lines, ...enums];
}

/**
 * The published layouts: KServe `grpc_predict_v2.proto`, Triton `grpc_service.proto` for the
 * extensions, grpc-proto `health.proto`. A stock client depends on every one of these numbers.
 */
const PUBLISHED_MESSAGES: Record<string, string[]> = {
  'inference.ServerLiveRequest': [],
  'inference.ServerLiveResponse': ['bool live = 1'],
  'inference.ServerReadyRequest': [],
  'inference.ServerReadyResponse': ['bool ready = 1'],
  'inference.ModelReadyRequest': ['string name = 1', 'string version = 2'],
  'inference.ModelReadyResponse': ['bool ready = 1'],
  'inference.ServerMetadataRequest': [],
  'inference.ServerMetadataResponse': [
    'string name = 1',
    'string version = 2',
    'repeated string extensions = 3',
  ],
  'inference.ModelMetadataRequest': ['string name = 1', 'string version = 2'],
  'inference.ModelMetadataResponse': [
    'string name = 1',
    'repeated string versions = 2',
    'string platform = 3',
    'repeated TensorMetadata inputs = 4',
    'repeated TensorMetadata outputs = 5',
  ],
  'inference.ModelMetadataResponse.TensorMetadata': [
    'string name = 1',
    'string datatype = 2',
    'repeated int64 shape = 3',
  ],
  'inference.ModelInferRequest': [
    'string model_name = 1',
    'string model_version = 2',
    'string id = 3',
    'map<string, InferParameter> parameters = 4',
    'repeated InferInputTensor inputs = 5',
    'repeated InferRequestedOutputTensor outputs = 6',
    'repeated bytes raw_input_contents = 7',
  ],
  'inference.ModelInferRequest.InferInputTensor': [
    'string name = 1',
    'string datatype = 2',
    'repeated int64 shape = 3',
    'map<string, InferParameter> parameters = 4',
    'InferTensorContents contents = 5',
  ],
  'inference.ModelInferRequest.InferRequestedOutputTensor': [
    'string name = 1',
    'map<string, InferParameter> parameters = 2',
  ],
  'inference.ModelInferResponse': [
    'string model_name = 1',
    'string model_version = 2',
    'string id = 3',
    'map<string, InferParameter> parameters = 4',
    'repeated InferOutputTensor outputs = 5',
    'repeated bytes raw_output_contents = 6',
  ],
  'inference.ModelInferResponse.InferOutputTensor': [
    'string name = 1',
    'string datatype = 2',
    'repeated int64 shape = 3',
    'map<string, InferParameter> parameters = 4',
    'InferTensorContents contents = 5',
  ],
  'inference.InferParameter': [
    'oneof parameter_choice',
    'bool bool_param = 1',
    'int64 int64_param = 2',
    'string string_param = 3',
    'double double_param = 4',
    'uint64 uint64_param = 5',
  ],
  'inference.InferTensorContents': [
    'repeated bool bool_contents = 1',
    'repeated int32 int_contents = 2',
    'repeated int64 int64_contents = 3',
    'repeated uint32 uint_contents = 4',
    'repeated uint64 uint64_contents = 5',
    'repeated float fp32_contents = 6',
    'repeated double fp64_contents = 7',
    'repeated bytes bytes_contents = 8',
  ],
  'inference.ModelStreamInferResponse': ['string error_message = 1', 'ModelInferResponse infer_response = 2'],
  'inference.RepositoryIndexRequest': ['string repository_name = 1', 'bool ready = 2'],
  'inference.RepositoryIndexResponse': ['repeated ModelIndex models = 1'],
  'inference.RepositoryIndexResponse.ModelIndex': [
    'string name = 1',
    'string version = 2',
    'string state = 3',
    'string reason = 4',
  ],
  'inference.RepositoryModelLoadRequest': [
    'string repository_name = 1',
    'string model_name = 2',
    'map<string, ModelRepositoryParameter> parameters = 3',
  ],
  'inference.RepositoryModelLoadResponse': [],
  'inference.RepositoryModelUnloadRequest': [
    'string repository_name = 1',
    'string model_name = 2',
    'map<string, ModelRepositoryParameter> parameters = 3',
  ],
  'inference.RepositoryModelUnloadResponse': [],
  'inference.ModelRepositoryParameter': [
    'oneof parameter_choice',
    'bool bool_param = 1',
    'int64 int64_param = 2',
    'string string_param = 3',
    'bytes bytes_param = 4',
  ],
  'grpc.health.v1.HealthCheckRequest': ['string service = 1'],
  'grpc.health.v1.HealthCheckResponse': [
    'ServingStatus status = 1',
    'enum ServingStatus { UNKNOWN = 0; SERVING = 1; NOT_SERVING = 2; SERVICE_UNKNOWN = 3 }',
  ],
};

describe('loadSidecarProtos', () => {
  it.each([
    ['ServerLive', false, false, 'ServerLiveRequest', 'ServerLiveResponse'],
    ['ServerReady', false, false, 'ServerReadyRequest', 'ServerReadyResponse'],
    ['ModelReady', false, false, 'ModelReadyRequest', 'ModelReadyResponse'],
    ['ServerMetadata', false, false, 'ServerMetadataRequest', 'ServerMetadataResponse'],
    ['ModelMetadata', false, false, 'ModelMetadataRequest', 'ModelMetadataResponse'],
    ['ModelInfer', false, false, 'ModelInferRequest', 'ModelInferResponse'],
    ['ModelStreamInfer', true, true, 'ModelInferRequest', 'ModelStreamInferResponse'],
    ['RepositoryIndex', false, false, 'RepositoryIndexRequest', 'RepositoryIndexResponse'],
    ['RepositoryModelLoad', false, false, 'RepositoryModelLoadRequest', 'RepositoryModelLoadResponse'],
    ['RepositoryModelUnload', false, false, 'RepositoryModelUnloadRequest', 'RepositoryModelUnloadResponse'],
  ] as const)(
    'should expose inference.GRPCInferenceService/%s (request stream %s, response stream %s)',
    (method, requestStream, responseStream, requestType, responseType) => {
      const definition = loadSidecarProtos().inferenceService[method];
      expect(definition).toMatchObject({
        path: `/inference.GRPCInferenceService/${method}`,
        requestStream,
        responseStream,
      });
      const types = definition as unknown as {
        requestType: { type: { name: string } };
        responseType: { type: { name: string } };
      };
      expect([types.requestType.type.name, types.responseType.type.name]).toEqual([
        requestType,
        responseType,
      ]);
    },
  );

  it('should expose exactly the published inference methods', () => {
    expect(Object.keys(loadSidecarProtos().inferenceService).sort()).toEqual(
      [
        'ModelInfer',
        'ModelMetadata',
        'ModelReady',
        'ModelStreamInfer',
        'RepositoryIndex',
        'RepositoryModelLoad',
        'RepositoryModelUnload',
        'ServerLive',
        'ServerMetadata',
        'ServerReady',
      ].sort(),
    );
  });

  it.each([
    ['Check', false],
    ['Watch', true],
  ] as const)('should expose grpc.health.v1.Health/%s (response stream %s)', (method, responseStream) => {
    expect(loadSidecarProtos().healthService[method]).toMatchObject({
      path: `/grpc.health.v1.Health/${method}`,
      requestStream: false,
      responseStream,
    });
  });

  it('should return the same definitions on every call', () => {
    expect(loadSidecarProtos()).toBe(loadSidecarProtos());
  });

  it.each(Object.entries(PUBLISHED_MESSAGES))('should lay out %s as published', (message, fields) => {
    expect(renderFields(message)).toEqual(fields);
  });

  it('should define no messages beyond the published ones', () => {
    const messages = Object.entries(loadSidecarProtos().packageDefinition)
      .filter(
        ([, definition]) =>
          'format' in definition && definition.format === 'Protocol Buffer 3 DescriptorProto',
      )
      .map(([name]) => name);
    const topLevel = Object.keys(PUBLISHED_MESSAGES).filter((name) => !/\.[A-Z]\w*\.[A-Z]/.test(name));
    expect(messages.sort()).toEqual(topLevel.sort());
  });

  it('should encode the bytes a stock client expects', () => {
    const { inferenceService } = loadSidecarProtos();
    const request = inferenceService.ModelInfer.requestSerialize({
      model_name: 'm',
      raw_input_contents: [Buffer.from([1])],
    } satisfies MessageInit<ModelInferRequest>);
    // field 1 (len "m"), field 7 (len 0x01)
    expect([...request]).toEqual([0x0a, 0x01, 0x6d, 0x3a, 0x01, 0x01]);
    const streamed = inferenceService.ModelStreamInfer.responseSerialize({
      error_message: 'e',
      infer_response: { raw_output_contents: [Buffer.from([2])] },
    } satisfies MessageInit<ModelStreamInferResponse>);
    // field 1 (len "e"), field 2 (len 3: ModelInferResponse field 6 (len 0x02))
    expect([...streamed]).toEqual([0x0a, 0x01, 0x65, 0x12, 0x03, 0x32, 0x01, 0x02]);
  });

  it('should decode messages in the shape the exported types describe', () => {
    const { inferenceService } = loadSidecarProtos();
    const bytes = inferenceService.ModelInfer.requestSerialize({
      model_name: 'm',
      parameters: { priority: { int64_param: '9007199254740993' }, flag: { bool_param: true } },
      inputs: [{ name: 'x', datatype: 'INT64', shape: ['2'], contents: { int64_contents: ['-1', '2'] } }],
      outputs: [{ name: 'y' }],
    } satisfies MessageInit<ModelInferRequest>);
    const expected: ModelInferRequest = {
      model_name: 'm',
      model_version: '',
      id: '',
      parameters: {
        priority: { parameter_choice: 'int64_param', int64_param: '9007199254740993' },
        flag: { parameter_choice: 'bool_param', bool_param: true },
      },
      inputs: [
        {
          name: 'x',
          datatype: 'INT64',
          shape: ['2'],
          parameters: {},
          contents: {
            bool_contents: [],
            int_contents: [],
            int64_contents: ['-1', '2'],
            uint_contents: [],
            uint64_contents: [],
            fp32_contents: [],
            fp64_contents: [],
            bytes_contents: [],
          },
        },
      ],
      outputs: [{ name: 'y', parameters: {} }],
      raw_input_contents: [],
    };
    expect(inferenceService.ModelInfer.requestDeserialize(bytes)).toEqual(expected);

    const stream = inferenceService.ModelStreamInfer.responseDeserialize(
      inferenceService.ModelStreamInfer.responseSerialize({ error_message: 'boom' }),
    );
    expect(stream).toEqual({
      error_message: 'boom',
      infer_response: null,
    } satisfies ModelStreamInferResponse);
  });
});

describe('GRPCInferenceService over a real grpc-js server', () => {
  const signature: ModelSignature = {
    inputs: [
      { name: 'x', datatype: 'FP32', shape: [-1, 2] },
      { name: 'n', datatype: 'INT64', shape: [-1] },
    ],
    outputs: [
      { name: 'x2', datatype: 'FP32', shape: [-1, 2] },
      { name: 'n1', datatype: 'INT64', shape: [-1] },
    ],
  };

  /** A trivial model: doubles x, increments n, answering in the request's encoding. */
  function infer(request: ModelInferRequest): MessageInit<ModelInferResponse> {
    const { inputs, encoding } = decodeInferInputs(request, signature);
    const [x, n] = inputs as [HostTensor, HostTensor];
    const outputs: HostTensor[] = [
      { ...x, name: 'x2', data: (x.data as Float32Array).map((v) => v * 2) },
      { ...n, name: 'n1', data: (n.data as BigInt64Array).map((v) => v + 1n) },
    ];
    return { model_name: request.model_name, id: request.id, ...encodeInferOutputs(outputs, encoding) };
  }

  function toStatus(error: unknown): Partial<grpc.StatusObject> {
    if (error instanceof DomainError) return { code: grpc.status.INVALID_ARGUMENT, details: error.message };
    return { code: grpc.status.INTERNAL, details: 'internal error' };
  }

  const handlers: Pick<InferenceServiceHandlers, 'ModelInfer' | 'ModelStreamInfer'> = {
    ModelInfer(call, callback) {
      try {
        callback(null, infer(call.request));
      } catch (error) {
        callback(toStatus(error));
      }
    },
    ModelStreamInfer(call) {
      call.on('data', (request: ModelInferRequest) => {
        try {
          call.write({ infer_response: infer(request) });
        } catch (error) {
          call.write({ error_message: error instanceof Error ? error.message : String(error) });
        }
      });
      call.on('end', () => call.end());
    },
  };
  const health: Pick<HealthServiceHandlers, 'Check'> = {
    Check(call, callback) {
      callback(null, { status: call.request.service === '' ? 'SERVING' : 'SERVICE_UNKNOWN' });
    },
  };

  let server: grpc.Server;
  let client: InferenceServiceClient;
  let healthClient: HealthServiceClient;

  beforeAll(async () => {
    const { inferenceService, healthService } = loadSidecarProtos();
    server = new grpc.Server();
    server.addService(inferenceService, handlers);
    server.addService(healthService, health);
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) =>
        error ? reject(error) : resolve(bound),
      ),
    );
    client = createInferenceClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    healthClient = createHealthClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  });

  afterAll(async () => {
    client?.close();
    healthClient?.close();
    await new Promise<void>((resolve) => (server ? server.tryShutdown(() => resolve()) : resolve()));
  });

  function modelInfer(request: MessageInit<ModelInferRequest>): Promise<ModelInferResponse> {
    return new Promise((resolve, reject) =>
      client.ModelInfer(request, (error, response) =>
        error || !response ? reject(error) : resolve(response),
      ),
    );
  }

  it('should answer ModelInfer with typed contents', async () => {
    const response = await modelInfer({
      model_name: 'toy',
      id: 'req-1',
      inputs: [
        { name: 'x', datatype: 'FP32', shape: ['2', '2'], contents: { fp32_contents: [1, 2, 3, 4.5] } },
        {
          name: 'n',
          datatype: 'INT64',
          shape: ['2'],
          contents: { int64_contents: ['-5', '9007199254740993'] },
        },
      ],
    });
    expect(response).toMatchObject({ model_name: 'toy', id: 'req-1', raw_output_contents: [] });
    expect(response.outputs.map((o) => [o.name, o.datatype, o.shape])).toEqual([
      ['x2', 'FP32', ['2', '2']],
      ['n1', 'INT64', ['2']],
    ]);
    expect(response.outputs[0]?.contents?.fp32_contents).toEqual([2, 4, 6, 9]);
    expect(response.outputs[1]?.contents?.int64_contents).toEqual(['-4', '9007199254740994']);
  });

  it('should answer ModelInfer with raw contents', async () => {
    const x = Buffer.alloc(16);
    [1, 2, 3, 4.5].forEach((v, i) => x.writeFloatLE(v, i * 4));
    const n = Buffer.alloc(16);
    n.writeBigInt64LE(-5n, 0);
    n.writeBigInt64LE(9007199254740993n, 8);
    const response = await modelInfer({
      model_name: 'toy',
      inputs: [
        { name: 'x', datatype: 'FP32', shape: ['2', '2'] },
        { name: 'n', datatype: 'INT64', shape: ['2'] },
      ],
      raw_input_contents: [x, n],
    });
    expect(response.outputs.map((o) => [o.name, o.datatype, o.shape, o.contents])).toEqual([
      ['x2', 'FP32', ['2', '2'], null],
      ['n1', 'INT64', ['2'], null],
    ]);
    const [x2, n1] = response.raw_output_contents;
    expect([0, 4, 8, 12].map((offset) => x2?.readFloatLE(offset))).toEqual([2, 4, 6, 9]);
    expect([n1?.readBigInt64LE(0), n1?.readBigInt64LE(8)]).toEqual([-4n, 9007199254740994n]);
  });

  it('should carry a validation failure to the client as the call status', async () => {
    await expect(
      modelInfer({
        model_name: 'toy',
        inputs: [{ name: 'x', datatype: 'FP32', shape: ['1', '2'], contents: { fp32_contents: [1, 2] } }],
      }),
    ).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: 'Missing input "n"; the model requires "x", "n"',
    });
  });

  it('should stream ModelStreamInfer responses, reporting a failed request in-band', async () => {
    const call = client.ModelStreamInfer();
    const responses: ModelStreamInferResponse[] = [];
    const ended = new Promise<void>((resolve, reject) => {
      call.on('data', (response: ModelStreamInferResponse) => responses.push(response));
      call.on('end', resolve);
      call.on('error', reject);
    });
    call.write({
      id: 'good',
      inputs: [
        { name: 'x', datatype: 'FP32', shape: ['1', '2'], contents: { fp32_contents: [1, 2] } },
        { name: 'n', datatype: 'INT64', shape: ['1'], contents: { int64_contents: ['1'] } },
      ],
    });
    call.write({ id: 'bad', inputs: [] });
    call.end();
    await ended;
    expect(responses).toHaveLength(2);
    expect(responses[0]).toMatchObject({ error_message: '', infer_response: { id: 'good' } });
    expect(responses[0]?.infer_response?.outputs[0]?.contents?.fp32_contents).toEqual([2, 4]);
    expect(responses[1]).toEqual({
      error_message: 'Missing input "x"; the model requires "x", "n"',
      infer_response: null,
    });
  });

  it('should answer UNIMPLEMENTED for a method the server does not implement', async () => {
    await expect(
      new Promise((resolve, reject) =>
        client.ServerLive({}, (error, response) => (error ? reject(error) : resolve(response))),
      ),
    ).rejects.toMatchObject({ code: grpc.status.UNIMPLEMENTED });
  });

  it('should answer grpc.health.v1.Health/Check', async () => {
    const response = await new Promise((resolve, reject) =>
      healthClient.Check({ service: '' }, (error, value) => (error ? reject(error) : resolve(value))),
    );
    expect(response).toEqual({ status: 'SERVING' });
  });
});
