import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { backends } from './support/databases';
import { errorCodes } from './support/experiments-stack';
import { getStatus, postGraphQL } from './support/graphql-http';
import { bearerHeaders } from './support/jwt';
import type { GraphQLHttpResponse } from './support/graphql-http';
import { startModelsStack } from './support/models-stack';
import type { ModelsStack } from './support/models-stack';
import { SHIPPED_MODEL_PATH, sha256 } from './support/artifacts';

const VERSION_FIELDS = `id modelName version status statusMessage description runId
  source { sha256 size uri } signature { inputs { name elementType shape } outputs { name elementType shape } }
  tags { key value } aliases`;

/** Every stored artifact file (not the temporary directory). */
async function storedFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => e.isFile() && !e.parentPath.includes(`${path.sep}.tmp`))
    .map((e) => e.name)
    .sort();
}

describe.each(backends())('models through the gateway on %s', (kind) => {
  let stack: ModelsStack;
  let modelBytes: Buffer;
  let counter = 0;
  let scratch: string;
  const unique = (prefix: string) => `${prefix}-${kind}-${++counter}`;

  beforeAll(async () => {
    modelBytes = await readFile(SHIPPED_MODEL_PATH);
    scratch = await mkdtemp(path.join(os.tmpdir(), 'mlops-models-test-'));
    stack = await startModelsStack(kind);
  });
  afterAll(async () => {
    await stack?.close();
    await rm(scratch, { recursive: true, force: true });
  });

  const artifactsUrl = (query = '') => new URL(`/artifacts${query}`, stack.modelsUrl);

  async function upload(
    bytes: Uint8Array,
    query = '',
  ): Promise<{ status: number; body: Record<string, unknown> }> {
    const response = await fetch(artifactsUrl(query), {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: bytes,
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  async function createModel(name = unique('model')): Promise<string> {
    await stack.data(`mutation($name: String!) { createRegisteredModel(input: { name: $name }) { name } }`, {
      name,
    });
    return name;
  }

  const REGISTER = `mutation($input: RegisterModelVersionInput!) { registerModelVersion(input: $input) { ${VERSION_FIELDS} } }`;
  const register = (input: Record<string, unknown>) => stack.gql(REGISTER, { input });
  async function registerReady(modelName: string, extra: Record<string, unknown> = {}) {
    const { sha256: artifactSha256 } = (await upload(modelBytes)).body as { sha256: string };
    const data = await stack.data(REGISTER, {
      input: { modelName, source: { artifactSha256 }, ...extra },
    });
    return data.registerModelVersion;
  }
  const field = (response: GraphQLHttpResponse) => response.body.errors?.[0]?.extensions?.field;

  describe('service', () => {
    it('should answer /health and /ready', async () => {
      expect(await getStatus(stack.modelsUrl, '/health')).toBe(200);
      expect(await getStatus(stack.modelsUrl, '/ready')).toBe(200);
    });
  });

  describe('registered models', () => {
    it('should create a model with a description and tags and read it back by name', async () => {
      const name = unique('tagged');
      await stack.data(
        `mutation($name: String!) { createRegisteredModel(input: { name: $name, description: "prices", tags: [{ key: "team", value: "quant" }] }) { name } }`,
        { name },
      );
      const read = await stack.data(
        `query($name: String!) { registeredModel(name: $name) { name description createdAt updatedAt tags { key value } versions { id } aliases { alias } } }`,
        { name },
      );
      expect(read.registeredModel).toMatchObject({
        name,
        description: 'prices',
        tags: [{ key: 'team', value: 'quant' }],
        versions: [],
        aliases: [],
      });
    });

    it('should answer CONFLICT naming the field for a duplicate name', async () => {
      const name = await createModel();
      const second = await stack.gql(
        `mutation($name: String!) { createRegisteredModel(input: { name: $name }) { name } }`,
        { name },
      );
      expect(errorCodes(second)).toEqual(['CONFLICT']);
      expect(field(second)).toBe('name');
    });

    it('should answer NOT_FOUND for an unknown model', async () => {
      const response = await stack.gql(`{ registeredModel(name: "no-such-model") { name } }`);
      expect(errorCodes(response)).toEqual(['NOT_FOUND']);
      expect(field(response)).toBe('name');
    });

    it('should refuse an empty name and a duplicate tag key with BAD_USER_INPUT naming the field', async () => {
      const empty = await stack.gql(`mutation { createRegisteredModel(input: { name: "  " }) { name } }`);
      expect(errorCodes(empty)).toEqual(['BAD_USER_INPUT']);
      expect(field(empty)).toBe('name');
      const dupTag = await stack.gql(
        `mutation { createRegisteredModel(input: { name: "dup-tags", tags: [{ key: "a", value: "1" }, { key: "a", value: "2" }] }) { name } }`,
      );
      expect(errorCodes(dupTag)).toEqual(['BAD_USER_INPUT']);
      expect(field(dupTag)).toBe('tags');
    });

    it('should update the description and set, overwrite and delete tags', async () => {
      const name = await createModel();
      await stack.data(
        `mutation($name: String!) { updateRegisteredModel(name: $name, description: "v2") { name } }`,
        { name },
      );
      await stack.data(
        `mutation($name: String!) { setRegisteredModelTag(name: $name, key: "k", value: "1") { name } }`,
        { name },
      );
      await stack.data(
        `mutation($name: String!) { setRegisteredModelTag(name: $name, key: "k", value: "2") { name } }`,
        { name },
      );
      const read = await stack.data(
        `query($name: String!) { registeredModel(name: $name) { description tags { key value } } }`,
        { name },
      );
      expect(read.registeredModel).toEqual({ description: 'v2', tags: [{ key: 'k', value: '2' }] });
      await stack.data(
        `mutation($name: String!) { deleteRegisteredModelTag(name: $name, key: "k") { name } }`,
        { name },
      );
      const again = await stack.gql(
        `mutation($name: String!) { deleteRegisteredModelTag(name: $name, key: "k") { name } }`,
        { name },
      );
      expect(errorCodes(again)).toEqual(['NOT_FOUND']);
      const unknown = await stack.gql(
        `mutation { updateRegisteredModel(name: "nope", description: "x") { name } }`,
      );
      expect(errorCodes(unknown)).toEqual(['NOT_FOUND']);
    });

    it('should page models newest first with a cursor, and refuse a foreign cursor', async () => {
      for (let i = 0; i < 3; i++) await createModel();
      const first = await stack.data(
        `{ registeredModels(first: 2) { nodes { name } pageInfo { hasNextPage endCursor } } }`,
      );
      expect(first.registeredModels.nodes).toHaveLength(2);
      expect(first.registeredModels.pageInfo.hasNextPage).toBe(true);
      const next = await stack.data(
        `query($after: String) { registeredModels(first: 2, after: $after) { nodes { name } } }`,
        { after: first.registeredModels.pageInfo.endCursor },
      );
      const seen = first.registeredModels.nodes.map((n: { name: string }) => n.name);
      for (const node of next.registeredModels.nodes) expect(seen).not.toContain(node.name);
      const bad = await stack.gql(`{ registeredModels(after: "garbage") { nodes { name } } }`);
      expect(errorCodes(bad)).toEqual(['BAD_USER_INPUT']);
      const tooMany = await stack.gql(`{ registeredModels(first: 1001) { nodes { name } } }`);
      expect(errorCodes(tooMany)).toEqual(['LIMIT_EXCEEDED']);
    });
  });

  describe('artifact uploads', () => {
    it('should store an upload under its sha256 and store identical content once', async () => {
      const first = await upload(modelBytes);
      expect([200, 201]).toContain(first.status);
      expect(first.body).toMatchObject({ sha256: sha256(modelBytes), size: modelBytes.length });
      expect(String(first.body.uri)).toMatch(/^file:\/\//);
      const second = await upload(modelBytes);
      expect(second.status).toBe(200);
      expect(second.body).toEqual(first.body);
      const files = await storedFiles(stack.artifactDir);
      expect(files.filter((f) => f === sha256(modelBytes))).toHaveLength(1);
      expect(
        existsSync(path.join(stack.artifactDir, sha256(modelBytes).slice(0, 2), sha256(modelBytes))),
      ).toBe(true);
    });

    it('should answer 413 for an upload over MODEL_MAX_ARTIFACT_BYTES and store nothing', async () => {
      const before = await storedFiles(stack.artifactDir);
      const big = Buffer.alloc(stack.maxArtifactBytes + 1, 7);
      const response = await upload(big);
      expect(response.status).toBe(413);
      expect(response.body).toMatchObject({
        errors: [{ extensions: { code: 'LIMIT_EXCEEDED', limit: stack.maxArtifactBytes } }],
      });
      expect(await storedFiles(stack.artifactDir)).toEqual(before);
    });

    it('should answer 422 with a coded error for a non-ONNX file under validate=onnx and store nothing', async () => {
      const junk = Buffer.from(`not an onnx model ${kind} ${Date.now()}`);
      const response = await upload(junk, '?validate=onnx');
      expect(response.status).toBe(422);
      expect(response.body).toMatchObject({
        errors: [{ extensions: { code: 'BAD_USER_INPUT', field: 'artifact' } }],
      });
      expect(await storedFiles(stack.artifactDir)).not.toContain(sha256(junk));
    });

    it('should answer the signature of a valid file under validate=onnx', async () => {
      const response = await upload(modelBytes, '?validate=onnx');
      expect(response.body).toMatchObject({
        sha256: sha256(modelBytes),
        signature: { inputs: [{ name: 'features', elementType: 'FP32', shape: ['batch', 20] }] },
      });
    });

    it('should serve an upload back from GET /artifacts/<sha256>, open to every caller without INTERNAL_IDENTITY_KEYS', async () => {
      const { sha256: stored } = (await upload(modelBytes)).body as { sha256: string };
      const response = await fetch(artifactsUrl(`/${stored}`));
      expect(response.status).toBe(200);
      expect(response.headers.get('content-length')).toBe(String(modelBytes.length));
      expect(response.headers.get('etag')).toBe(`"${stored}"`);
      expect(Buffer.from(await response.arrayBuffer()).equals(modelBytes)).toBe(true);
      const missing = await fetch(artifactsUrl(`/${'f'.repeat(64)}`));
      expect(missing.status).toBe(404);
      expect(await missing.json()).toMatchObject({ errors: [{ extensions: { code: 'NOT_FOUND' } }] });
    });

    it('should refuse other methods and validate values', async () => {
      const get = await fetch(artifactsUrl());
      expect(get.status).toBe(405);
      await get.arrayBuffer();
      const bad = await upload(modelBytes, '?validate=zip');
      expect(bad.status).toBe(400);
      expect(bad.body).toMatchObject({
        errors: [{ extensions: { code: 'BAD_USER_INPUT', field: 'validate' } }],
      });
    });
  });

  describe('model versions', () => {
    it('should register a version from an uploaded artifact with its ONNX signature', async () => {
      const name = await createModel();
      const version = await registerReady(name, {
        description: 'first',
        tags: [{ key: 'stage', value: 'dev' }],
      });
      expect(version).toMatchObject({
        id: `${name}/1`,
        modelName: name,
        version: 1,
        status: 'READY',
        statusMessage: null,
        description: 'first',
        runId: null,
        source: { sha256: sha256(modelBytes), size: modelBytes.length },
        signature: {
          inputs: [{ name: 'features', elementType: 'FP32', shape: ['batch', 20] }],
          outputs: [{ name: 'predicted_return', elementType: 'FP32', shape: ['batch', 1] }],
        },
        tags: [{ key: 'stage', value: 'dev' }],
        aliases: [],
      });
      const read = await stack.data(
        `query($name: String!) { modelVersion(modelName: $name, version: 1) { ${VERSION_FIELDS} } }`,
        { name },
      );
      expect(read.modelVersion).toEqual(version);
    });

    it('should register a version from a path, copying the file into the store', async () => {
      const name = await createModel();
      const copy = path.join(scratch, `${unique('copy')}.onnx`);
      await writeFile(copy, modelBytes);
      const data = await stack.data(REGISTER, { input: { modelName: name, source: { path: copy } } });
      expect(data.registerModelVersion).toMatchObject({ version: 1, status: 'READY' });
      await rm(copy);
      expect(await storedFiles(stack.artifactDir)).toContain(sha256(modelBytes));
    });

    it('should give concurrent registrations of one model exactly the versions 1 to 50', async () => {
      const name = await createModel();
      const { sha256: artifactSha256 } = (await upload(modelBytes)).body as { sha256: string };
      const responses = await Promise.all(
        Array.from({ length: 50 }, () => register({ modelName: name, source: { artifactSha256 } })),
      );
      for (const response of responses) expect(response.body.errors).toBeUndefined();
      const versions = responses
        .map((r) => (r.body.data?.registerModelVersion as { version: number }).version)
        .sort((a, b) => a - b);
      expect(versions).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
      const listed = await stack.data(
        `query($name: String!) { registeredModel(name: $name) { versions { version } } }`,
        {
          name,
        },
      );
      expect(listed.registeredModel.versions.map((v: { version: number }) => v.version)).toEqual(
        Array.from({ length: 50 }, (_, i) => 50 - i),
      );
    });

    it('should record FAILED_REGISTRATION with the reason for a corrupt file and keep no artifact', async () => {
      const name = await createModel();
      const corrupt = Buffer.concat([modelBytes.subarray(0, 100), Buffer.from(`corrupt ${kind}`)]);
      const uploaded = await upload(corrupt);
      expect(uploaded.status).toBe(201);
      const response = await register({ modelName: name, source: { artifactSha256: sha256(corrupt) } });
      expect(response.body.data?.registerModelVersion).toMatchObject({
        version: 1,
        status: 'FAILED_REGISTRATION',
        signature: null,
      });
      const message = (response.body.data?.registerModelVersion as { statusMessage: string }).statusMessage;
      expect(message).toMatch(/ONNX/);
      expect(await storedFiles(stack.artifactDir)).not.toContain(sha256(corrupt));
      // The failed version keeps its number; the next one is 2.
      expect((await registerReady(name)).version).toBe(2);
    });

    it('should record FAILED_REGISTRATION for a non-ONNX file registered from a path', async () => {
      const name = await createModel();
      const text = path.join(scratch, `${unique('notes')}.txt`);
      const content = `plain text, not a model ${kind}`;
      await writeFile(text, content);
      const response = await register({ modelName: name, source: { path: text } });
      expect(response.body.data?.registerModelVersion).toMatchObject({ status: 'FAILED_REGISTRATION' });
      expect(await storedFiles(stack.artifactDir)).not.toContain(sha256(Buffer.from(content)));
    });

    it('should refuse bad sources with codes naming the field, creating no version', async () => {
      const name = await createModel();
      const cases: [Record<string, unknown>, string, string][] = [
        [{ artifactSha256: 'a'.repeat(64), path: '/tmp/x' }, 'BAD_USER_INPUT', 'source'],
        [{}, 'BAD_USER_INPUT', 'source'],
        [{ artifactSha256: 'XYZ' }, 'BAD_USER_INPUT', 'source.artifactSha256'],
        [{ artifactSha256: 'f'.repeat(64) }, 'NOT_FOUND', 'source.artifactSha256'],
        [{ path: 'relative/model.onnx' }, 'BAD_USER_INPUT', 'source.path'],
        [{ path: path.join(scratch, 'missing.onnx') }, 'BAD_USER_INPUT', 'source.path'],
        [{ path: scratch }, 'BAD_USER_INPUT', 'source.path'],
      ];
      for (const [source, code, fieldName] of cases) {
        const response = await register({ modelName: name, source });
        expect([errorCodes(response), field(response)]).toEqual([[code], fieldName]);
      }
      const unknownModel = await register({
        modelName: 'no-such-model',
        source: { path: SHIPPED_MODEL_PATH },
      });
      expect([errorCodes(unknownModel), field(unknownModel)]).toEqual([['NOT_FOUND'], 'modelName']);
      const badTags = await register({
        modelName: name,
        source: { path: SHIPPED_MODEL_PATH },
        tags: [{ key: 'bad\u0001key', value: 'x' }],
      });
      expect([errorCodes(badTags), field(badTags)]).toEqual([['BAD_USER_INPUT'], 'tags.key']);
      const listed = await stack.data(
        `query($name: String!) { registeredModel(name: $name) { versions { id } } }`,
        {
          name,
        },
      );
      expect(listed.registeredModel.versions).toEqual([]);
    });

    it('should answer NOT_FOUND or BAD_USER_INPUT naming the field for unknown or bad versions', async () => {
      const name = await createModel();
      await registerReady(name);
      const missing = await stack.gql(
        `query($n: String!) { modelVersion(modelName: $n, version: 9) { id } }`,
        {
          n: name,
        },
      );
      expect([errorCodes(missing), field(missing)]).toEqual([['NOT_FOUND'], 'version']);
      const noModel = await stack.gql(`{ modelVersion(modelName: "no-such-model", version: 1) { id } }`);
      expect([errorCodes(noModel), field(noModel)]).toEqual([['NOT_FOUND'], 'modelName']);
      const zero = await stack.gql(`query($n: String!) { modelVersion(modelName: $n, version: 0) { id } }`, {
        n: name,
      });
      expect([errorCodes(zero), field(zero)]).toEqual([['BAD_USER_INPUT'], 'version']);
    });

    it('should update the description and set and delete version tags', async () => {
      const name = await createModel();
      await registerReady(name);
      await stack.data(
        `mutation($n: String!) { updateModelVersion(modelName: $n, version: 1, description: "better") { id } }`,
        { n: name },
      );
      await stack.data(
        `mutation($n: String!) { setModelVersionTag(modelName: $n, version: 1, key: "k", value: "v") { id } }`,
        { n: name },
      );
      const read = await stack.data(
        `query($n: String!) { modelVersion(modelName: $n, version: 1) { description tags { key value } } }`,
        { n: name },
      );
      expect(read.modelVersion).toEqual({ description: 'better', tags: [{ key: 'k', value: 'v' }] });
      await stack.data(
        `mutation($n: String!) { deleteModelVersionTag(modelName: $n, version: 1, key: "k") { id } }`,
        { n: name },
      );
      const again = await stack.gql(
        `mutation($n: String!) { deleteModelVersionTag(modelName: $n, version: 1, key: "k") { id } }`,
        { n: name },
      );
      expect([errorCodes(again), field(again)]).toEqual([['NOT_FOUND'], 'key']);
      const unknown = await stack.gql(
        `mutation($n: String!) { updateModelVersion(modelName: $n, version: 7, description: "x") { id } }`,
        { n: name },
      );
      expect(errorCodes(unknown)).toEqual(['NOT_FOUND']);
    });
  });

  describe('aliases', () => {
    const SET_ALIAS = `mutation($n: String!, $a: String!, $v: Int!) { setAlias(modelName: $n, alias: $a, version: $v) { version aliases } }`;
    const BY_ALIAS = `query($n: String!, $a: String!) { modelVersionByAlias(modelName: $n, alias: $a) { version } }`;

    it('should point an alias at a version, move it, and resolve it', async () => {
      const name = await createModel();
      await registerReady(name);
      await registerReady(name);
      const set = await stack.data(SET_ALIAS, { n: name, a: 'champion', v: 1 });
      expect(set.setAlias).toEqual({ version: 1, aliases: ['champion'] });
      expect((await stack.data(BY_ALIAS, { n: name, a: 'champion' })).modelVersionByAlias.version).toBe(1);
      await stack.data(SET_ALIAS, { n: name, a: 'champion', v: 2 });
      await stack.data(SET_ALIAS, { n: name, a: 'challenger', v: 1 });
      expect((await stack.data(BY_ALIAS, { n: name, a: 'champion' })).modelVersionByAlias.version).toBe(2);
      const model = await stack.data(
        `query($n: String!) { registeredModel(name: $n) { aliases { alias version } } }`,
        {
          n: name,
        },
      );
      expect(model.registeredModel.aliases).toEqual([
        { alias: 'challenger', version: 1 },
        { alias: 'champion', version: 2 },
      ]);
      expect((await stack.data(BY_ALIAS, { n: name, a: 'latest' })).modelVersionByAlias.version).toBe(2);
      expect((await stack.data(BY_ALIAS, { n: name, a: 'v1' })).modelVersionByAlias.version).toBe(1);
    });

    it('should move an alias atomically: concurrent readers always see one of the versions', async () => {
      const name = await createModel();
      await registerReady(name);
      await registerReady(name);
      await stack.data(SET_ALIAS, { n: name, a: 'champion', v: 1 });
      const moves = Array.from({ length: 10 }, (_, i) =>
        stack.gql(SET_ALIAS, { n: name, a: 'champion', v: (i % 2) + 1 }),
      );
      const reads = Array.from({ length: 20 }, () => stack.gql(BY_ALIAS, { n: name, a: 'champion' }));
      for (const response of await Promise.all(moves)) expect(response.body.errors).toBeUndefined();
      for (const response of await Promise.all(reads)) {
        expect(response.body.errors).toBeUndefined();
        expect([1, 2]).toContain((response.body.data?.modelVersionByAlias as { version: number }).version);
      }
    });

    it('should refuse reserved and malformed alias names with BAD_USER_INPUT naming alias', async () => {
      const name = await createModel();
      await registerReady(name);
      for (const alias of ['latest', 'LATEST', 'v1', 'V12', 'has space', '']) {
        const response = await stack.gql(SET_ALIAS, { n: name, a: alias, v: 1 });
        expect([alias, errorCodes(response), field(response)]).toEqual([alias, ['BAD_USER_INPUT'], 'alias']);
      }
    });

    it('should answer NOT_FOUND for unknown aliases, versions and models, and INVALID_STATE for a failed version', async () => {
      const name = await createModel();
      await registerReady(name);
      const unknownAlias = await stack.gql(BY_ALIAS, { n: name, a: 'nobody' });
      expect([errorCodes(unknownAlias), field(unknownAlias)]).toEqual([['NOT_FOUND'], 'alias']);
      const unknownModel = await stack.gql(BY_ALIAS, { n: 'no-such-model', a: 'champion' });
      expect([errorCodes(unknownModel), field(unknownModel)]).toEqual([['NOT_FOUND'], 'modelName']);
      const unknownVersion = await stack.gql(SET_ALIAS, { n: name, a: 'champion', v: 5 });
      expect([errorCodes(unknownVersion), field(unknownVersion)]).toEqual([['NOT_FOUND'], 'version']);
      const junk = Buffer.from(`junk for aliases ${kind} ${counter}`);
      await upload(junk);
      await register({ modelName: name, source: { artifactSha256: sha256(junk) } });
      const failed = await stack.gql(SET_ALIAS, { n: name, a: 'champion', v: 2 });
      expect([errorCodes(failed), field(failed)]).toEqual([['INVALID_STATE'], 'version']);
    });

    it('should delete an alias, and answer NOT_FOUND deleting it again', async () => {
      const name = await createModel();
      await registerReady(name);
      await stack.data(SET_ALIAS, { n: name, a: 'champion', v: 1 });
      const DELETE = `mutation($n: String!) { deleteAlias(modelName: $n, alias: "champion") { name } }`;
      await stack.data(DELETE, { n: name });
      expect(errorCodes(await stack.gql(BY_ALIAS, { n: name, a: 'champion' }))).toEqual(['NOT_FOUND']);
      const again = await stack.gql(DELETE, { n: name });
      expect([errorCodes(again), field(again)]).toEqual([['NOT_FOUND'], 'alias']);
    });
  });

  describe('federation with experiments', () => {
    it("should read a version's run with its params and metrics, and the run's versions back, in one query each", async () => {
      const experiment = await stack.data(
        `mutation($name: String!) { createExperiment(input: { name: $name }) { id } }`,
        { name: unique('exp') },
      );
      const run = await stack.data(
        `mutation($id: ID!) { createRun(input: { experimentId: $id, name: "mlp" }) { id } }`,
        {
          id: experiment.createExperiment.id,
        },
      );
      const runId = run.createRun.id as string;
      await stack.data(
        `mutation($runId: ID!) { logBatch(input: { runId: $runId, params: [{ key: "hidden", value: "32" }], metrics: [{ key: "rmse", value: 0.41, step: 10 }] }) { id } }`,
        { runId },
      );
      const name = await createModel();
      const version = await registerReady(name, { runId });
      expect(version.runId).toBe(runId);

      const forward = await stack.data(
        `query($n: String!) { modelVersion(modelName: $n, version: 1) {
           id run { id name params { key value } metrics { key value step } modelVersions { id } } } }`,
        { n: name },
      );
      expect(forward.modelVersion).toEqual({
        id: `${name}/1`,
        run: {
          id: runId,
          name: 'mlp',
          params: [{ key: 'hidden', value: '32' }],
          metrics: [{ key: 'rmse', value: 0.41, step: 10 }],
          modelVersions: [{ id: `${name}/1` }],
        },
      });

      const back = await stack.data(
        `query($id: ID!) { run(id: $id) { id modelVersions { id version status registeredModel { name } } } }`,
        { id: runId },
      );
      expect(back.run).toEqual({
        id: runId,
        modelVersions: [{ id: `${name}/1`, version: 1, status: 'READY', registeredModel: { name } }],
      });
    });

    it('should answer an empty list for a run without versions and a null run for a version without one', async () => {
      const experiment = await stack.data(
        `mutation($name: String!) { createExperiment(input: { name: $name }) { id } }`,
        { name: unique('exp') },
      );
      const run = await stack.data(`mutation($id: ID!) { createRun(input: { experimentId: $id }) { id } }`, {
        id: experiment.createExperiment.id,
      });
      const read = await stack.data(`query($id: ID!) { run(id: $id) { modelVersions { id } } }`, {
        id: run.createRun.id,
      });
      expect(read.run.modelVersions).toEqual([]);
      const name = await createModel();
      await registerReady(name);
      const version = await stack.data(
        `query($n: String!) { modelVersion(modelName: $n, version: 1) { run { id } } }`,
        {
          n: name,
        },
      );
      expect(version.modelVersion.run).toBeNull();
    });
  });

  it('should refuse registry changes to a viewer (FORBIDDEN) and an anonymous caller (UNAUTHENTICATED)', async () => {
    const mutation = 'mutation($n: String!) { createRegisteredModel(input: { name: $n }) { name } }';
    for (const [headers, code] of [
      [bearerHeaders(['viewer']), 'FORBIDDEN'],
      [{}, 'UNAUTHENTICATED'],
    ] as const) {
      const refused = await postGraphQL(stack.gatewayUrl, mutation, {
        variables: { n: `refused-${kind}` },
        headers,
      });
      expect(errorCodes(refused)).toEqual([code]);
    }
    const allowed = await postGraphQL(stack.gatewayUrl, mutation, {
      variables: { n: `allowed-${kind}` },
      headers: bearerHeaders(['data-scientist']),
    });
    expect(allowed.body).toEqual({ data: { createRegisteredModel: { name: `allowed-${kind}` } } });
  });
});
