// npm run build: TypeScript, then the Rego policies tested and compiled to one wasm bundle
// with the project's own pinned opa.
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ensureNodeModules, repoRoot, run, say, toolPath } from './lib/run.mjs';

export const BUNDLE = join(repoRoot, 'dist', 'policies', 'bundle.tar.gz');
export const ENTRYPOINT = 'levee/decision';

export function build() {
  ensureNodeModules();
  say('compiling TypeScript...');
  // tsc never deletes: a moved or renamed module would leave its old output behind, and its
  // old test would keep running against old code. Everything under these is tsc's own output.
  for (const output of ['src', 'test']) rmSync(join(repoRoot, 'dist', output), { recursive: true, force: true });
  run(join(repoRoot, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.json']);
  const opa = toolPath('opa');
  say('testing policies (opa test policies/)...');
  run(opa, ['test', 'policies/']);
  const sources = readdirSync(join(repoRoot, 'policies'))
    .filter((file) => file.endsWith('.rego') && !file.endsWith('_test.rego'))
    .sort()
    .map((file) => join('policies', file));
  mkdirSync(join(repoRoot, 'dist', 'policies'), { recursive: true });
  say(`compiling ${sources.length} policy files to ${BUNDLE}...`);
  run(opa, ['build', '-t', 'wasm', '-e', ENTRYPOINT, '-o', BUNDLE, ...sources]);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    build();
  } catch (err) {
    say(`build failed: ${err.message}`);
    process.exit(1);
  }
}
