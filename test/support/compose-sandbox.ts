import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ts from 'typescript';

const REPO_ROOT = path.resolve(__dirname, '..', '..');

export interface ScriptRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * A temporary copy of the layout `scripts/compose-supergraph.mjs` expects: the real script, the real
 * `schema/src` compiled to `schema/dist` (with `SUBGRAPHS` replaced), and fake subgraph builds whose
 * `printSubgraphSdl()` answers the SDL a test sets.
 */
export interface ComposeSandbox {
  readonly root: string;
  /** Makes `subgraphs/<name>/dist/index.js` export `printSubgraphSdl()` resolving to `sdl`. */
  setSubgraphSdl(name: string, sdl: string): void;
  /** Makes `subgraphs/<name>/dist/index.js` export anything, e.g. nothing. */
  setSubgraphModule(name: string, source: string): void;
  /** Reads a file relative to the sandbox root; undefined when it does not exist. */
  read(relativePath: string): string | undefined;
  write(relativePath: string, text: string): void;
  remove(relativePath: string): void;
  /** Every file under `schema/` that the script may write, with its content. */
  generatedFiles(): Record<string, string>;
  run(...args: string[]): ScriptRun;
  dispose(): void;
}

export function createComposeSandbox(
  subgraphs: readonly { name: string; defaultPort: number }[],
): ComposeSandbox {
  const root = mkdtempSync(path.join(os.tmpdir(), 'mlops-compose-'));
  const write = (relativePath: string, text: string) => {
    const file = path.join(root, relativePath);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, text);
  };
  const read = (relativePath: string) => {
    try {
      return readFileSync(path.join(root, relativePath), 'utf8');
    } catch {
      return undefined;
    }
  };

  mkdirSync(path.join(root, 'scripts'));
  copyFileSync(
    path.join(REPO_ROOT, 'scripts', 'compose-supergraph.mjs'),
    path.join(root, 'scripts', 'compose-supergraph.mjs'),
  );
  const schemaSrc = path.join(REPO_ROOT, 'schema', 'src');
  for (const file of readdirSync(schemaSrc).filter((f) => f.endsWith('.ts'))) {
    const { outputText } = ts.transpileModule(readFileSync(path.join(schemaSrc, file), 'utf8'), {
      compilerOptions: {
        module: ts.ModuleKind.CommonJS,
        target: ts.ScriptTarget.ES2022,
        esModuleInterop: true,
      },
    });
    write(path.join('schema', 'dist', file.replace(/\.ts$/, '.js')), outputText);
  }
  const subgraphsJs = read('schema/dist/subgraphs.js') ?? '';
  write('schema/dist/subgraphs.js', `${subgraphsJs}\nexports.SUBGRAPHS = ${JSON.stringify(subgraphs)};\n`);

  return {
    root,
    setSubgraphSdl: (name, sdl) =>
      write(
        `subgraphs/${name}/dist/index.js`,
        `exports.printSubgraphSdl = async () => ${JSON.stringify(sdl)};\n`,
      ),
    setSubgraphModule: (name, source) => write(`subgraphs/${name}/dist/index.js`, source),
    read,
    write,
    remove: (relativePath) => rmSync(path.join(root, relativePath), { force: true }),
    generatedFiles() {
      const files: Record<string, string> = {};
      const supergraph = read('schema/supergraph.graphql');
      if (supergraph !== undefined) files['schema/supergraph.graphql'] = supergraph;
      const dir = path.join(root, 'schema', 'subgraphs');
      for (const file of existsSync(dir) ? readdirSync(dir) : []) {
        files[`schema/subgraphs/${file}`] = read(`schema/subgraphs/${file}`) ?? '';
      }
      return files;
    },
    run(...args) {
      const result = spawnSync(
        process.execPath,
        [path.join(root, 'scripts', 'compose-supergraph.mjs'), ...args],
        {
          cwd: root,
          // The compiled schema needs @apollo/composition and graphql from the repository's node_modules.
          env: { PATH: process.env.PATH ?? '', NODE_PATH: path.join(REPO_ROOT, 'node_modules') },
          encoding: 'utf8',
          timeout: 30_000,
        },
      );
      return { status: result.status, stdout: result.stdout, stderr: result.stderr };
    },
    dispose: () => rmSync(root, { recursive: true, force: true }),
  };
}
