import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';

// deploy/Dockerfile and .dockerignore as test/deploy-manifests.test.ts reads them.

const REPO_ROOT = path.resolve(__dirname, '..', '..');

// ---- the image -------------------------------------------------------------------------------------

export interface Instruction {
  readonly keyword: string;
  readonly args: string;
  readonly stage: number;
}

/** Dockerfile instructions with continuation lines joined and comments dropped; `stage` counts FROMs. */
export function readDockerfile(text: string): Instruction[] {
  const logical: string[] = [];
  let current = '';
  for (const line of text.split('\n')) {
    if (/^\s*#/.test(line)) continue;
    current += line.replace(/\\\s*$/, ' ');
    if (/\\\s*$/.test(line)) continue;
    if (current.trim() !== '') logical.push(current.trim());
    current = '';
  }
  let stage = -1;
  return logical.map((l) => {
    const [, keyword = '', args = ''] = /^(\S+)\s+(.*)$/.exec(l) ?? [];
    if (keyword.toUpperCase() === 'FROM') stage += 1;
    return { keyword: keyword.toUpperCase(), args, stage };
  });
}

/** `COPY` sources (not `--from` another stage), relative to the build context. */
export function copySources(instructions: readonly Instruction[]): string[] {
  return instructions
    .filter((i) => i.keyword === 'COPY' && !/--from=/.test(i.args))
    .flatMap((i) => {
      const words = i.args.split(/\s+/).filter((w) => !w.startsWith('--'));
      return words.slice(0, -1);
    });
}

/** `ENV` of the final stage: the environment every container starts from. */
export function imageEnv(instructions: readonly Instruction[]): Record<string, string> {
  const last = Math.max(...instructions.map((i) => i.stage));
  const env: Record<string, string> = {};
  for (const i of instructions.filter((x) => x.keyword === 'ENV' && x.stage === last)) {
    for (const pair of i.args.split(/\s+/)) {
      const [name = '', ...value] = pair.split('=');
      env[name] = value.join('=');
    }
  }
  return env;
}

/**
 * Whether `.dockerignore` keeps `file` out of the build context: `*` within one path segment, `**`
 * across any, a pattern also excluding everything under a directory it matches, `!` re-including.
 */
export function isDockerIgnored(file: string, patterns: readonly string[]): boolean {
  let ignored = false;
  for (const raw of patterns) {
    const negated = raw.startsWith('!');
    const pattern = (negated ? raw.slice(1) : raw).replace(/^\/|\/$/g, '');
    const source = pattern
      .split('/')
      .map((part) =>
        part === '**' ? '.*' : part.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*'),
      )
      .join('/')
      .replace(/\.\*\//g, '(?:.*/)?');
    if (new RegExp(`^${source}(?:/.*)?$`).test(file)) ignored = !negated;
  }
  return ignored;
}

/** Files under a repository directory, as repository paths; installed and built output left out. */
export function filesUnder(dir: string): string[] {
  return readdirSync(path.join(REPO_ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const file = `${dir}/${entry.name}`;
    if (!entry.isDirectory()) return [file];
    return entry.name === 'node_modules' || entry.name === 'dist' ? [] : filesUnder(file);
  });
}

export function readDockerignore(): string[] {
  return readFileSync(path.join(REPO_ROOT, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}
