import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { composeSupergraph } from '@mlops/schema';
import type { SubgraphSdl } from '@mlops/schema';

export interface SupergraphFile {
  readonly path: string;
  /** Removes the file and its temporary directory. */
  remove(): Promise<void>;
}

/** Composes the subgraphs and writes the supergraph to a fresh temporary file; throws on composition errors. */
export async function writeSupergraphFile(subgraphs: readonly SubgraphSdl[]): Promise<SupergraphFile> {
  const outcome = composeSupergraph(subgraphs);
  if (!outcome.ok) throw new Error(`Composition failed:\n${outcome.errors.join('\n')}`);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mlops-supergraph-'));
  const file = path.join(dir, 'supergraph.graphql');
  await writeFile(file, outcome.supergraphSdl);
  return { path: file, remove: () => rm(dir, { recursive: true, force: true }) };
}
