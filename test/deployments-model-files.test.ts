import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { createHttpModelRegistryClient, sidecarSignature } from '@mlops/deployments';
import { startModelsStack } from './support/models-stack';
import type { ModelsStack } from './support/models-stack';

// What the deployments subgraph sends a sidecar with each load comes from the registry: the
// version's ONNX file (downloaded from the models subgraph's artifact store, checked against its
// registered sha256) and its signature in the sidecar's signature.json layout.

const SHIPPED = path.resolve(__dirname, '..', 'inference-sidecar', 'models', 'stock-predictor', '1');

describe('version files from the model registry', () => {
  let stack: ModelsStack;
  let modelBytes: Buffer;

  beforeAll(async () => {
    modelBytes = await readFile(path.join(SHIPPED, 'model.onnx'));
    stack = await startModelsStack('sqlite', { maxArtifactBytes: 16 * 1024 * 1024 });
    const upload = await fetch(new URL('/artifacts', stack.modelsUrl), {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: modelBytes,
    });
    const { sha256 } = (await upload.json()) as { sha256: string };
    await stack.data(`mutation { createRegisteredModel(input: { name: "predictor" }) { name } }`);
    const registered = await stack.data(
      `mutation($sha: String!) { registerModelVersion(input: { modelName: "predictor", source: { artifactSha256: $sha } }) { status } }`,
      { sha: sha256 },
    );
    expect(registered.registerModelVersion.status).toBe('READY');
  });
  afterAll(async () => {
    await stack?.close();
  });

  it("should download a READY version's file byte for byte, with the signature a sidecar reads", async () => {
    const registry = createHttpModelRegistryClient(stack.modelsUrl);
    const files = await registry.versionFiles!('predictor', 1);
    expect(files).not.toBeNull();
    expect(files!.model.equals(modelBytes)).toBe(true);
    expect(files!.sha256).toBe(createHash('sha256').update(modelBytes).digest('hex'));
    // The registry read the same signature from the file as the sidecar ships beside it.
    const shipped = JSON.parse(await readFile(path.join(SHIPPED, 'signature.json'), 'utf8')) as unknown;
    expect(JSON.parse(files!.signature.toString('utf8'))).toEqual(shipped);
  });

  it('should answer null for a version the registry does not have', async () => {
    const registry = createHttpModelRegistryClient(stack.modelsUrl);
    await expect(registry.versionFiles!('predictor', 99)).resolves.toBeNull();
    await expect(registry.versionFiles!('no-such-model', 1)).resolves.toBeNull();
  });

  it('should reject UNAVAILABLE when the registry cannot be reached', async () => {
    const registry = createHttpModelRegistryClient('http://127.0.0.1:9/graphql', 1_000);
    await expect(registry.versionFiles!('predictor', 1)).rejects.toMatchObject({ code: 'UNAVAILABLE' });
  });
});

describe('the sidecar signature of a registered version', () => {
  it('should keep datatypes and fixed sizes and turn symbolic dimensions into -1', () => {
    const signature = sidecarSignature('m version 1', {
      inputs: [{ name: 'features', elementType: 'FP32', shape: ['batch', 8] }],
      outputs: [{ name: 'score', elementType: 'FP64', shape: [-1, 1] }],
    });
    expect(JSON.parse(signature.toString('utf8'))).toEqual({
      inputs: [{ name: 'features', datatype: 'FP32', shape: [-1, 8] }],
      outputs: [{ name: 'score', datatype: 'FP64', shape: [-1, 1] }],
    });
  });

  it('should refuse sequences and maps, which sidecars do not serve, naming the tensor', () => {
    expect(() =>
      sidecarSignature('m version 2', {
        inputs: [{ name: 'features', elementType: 'FP32', shape: [-1, 8] }],
        outputs: [{ name: 'probabilities', elementType: 'NON_TENSOR', shape: [] }],
      }),
    ).toThrow(
      expect.objectContaining({ code: 'INVALID_STATE', message: expect.stringContaining('probabilities') }),
    );
  });
});
