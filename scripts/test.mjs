// npm test: build (TypeScript + opa test + wasm bundle), then run every layer with mocha:
// unit, policies (through the compiled bundle), server (real HTTPS), e2e (real cluster).
// Ends with one plain line, "N passed, N failed", which CI reads.
//
//   npm test                 all layers
//   npm test -- unit server  only the named layers (test/<layer>/)
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { build } from './build.mjs';
import { onPinnedNode, repoRoot, say } from './lib/run.mjs';

const LAYERS = ['unit', 'policies', 'server', 'upstream', 'e2e'];

function testFiles(dir) {
  let files = [];
  let entries = [];
  try {
    entries = readdirSync(dir);
  } catch {
    return files;
  }
  for (const entry of entries.sort()) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) files = files.concat(testFiles(path));
    else if (entry.endsWith('.test.js')) files.push(path);
  }
  return files;
}

async function main() {
  const requested = process.argv.slice(2).filter((arg) => !arg.startsWith('-'));
  const unknown = requested.filter((layer) => !LAYERS.includes(layer));
  if (unknown.length > 0) {
    say(`unknown test layer(s) ${unknown.join(', ')}; choose from ${LAYERS.join(', ')}`);
    return 2;
  }
  const layers = requested.length > 0 ? LAYERS.filter((layer) => requested.includes(layer)) : LAYERS;
  // The tests bring their own cluster; a KUBECONFIG left in the shell by `npm start` (pointing
  // at the developer's cluster) must not reach anything they run.
  if (process.env.KUBECONFIG) {
    say(`ignoring KUBECONFIG=${process.env.KUBECONFIG}: the tests use a cluster of their own`);
    delete process.env.KUBECONFIG;
  }
  try {
    await onPinnedNode();
    build();
  } catch (err) {
    say(`build failed: ${err.message}`);
    console.log('0 passed, 1 failed');
    return 1;
  }

  // Imported only now: on a fresh clone build() has just installed the npm dependencies.
  const { default: Mocha } = await import('mocha');
  const mocha = new Mocha({ reporter: 'spec', timeout: 20_000, slow: 2_000 });
  for (const layer of layers) {
    const files = testFiles(join(repoRoot, 'dist', 'test', layer));
    if (files.length === 0) {
      say(`no tests found in test/${layer}`);
      console.log('0 passed, 1 failed');
      return 1;
    }
    for (const file of files) mocha.addFile(file);
  }
  await mocha.loadFilesAsync();
  const stats = await new Promise((resolve) => {
    const runner = mocha.run(() => resolve(runner.stats));
  });
  const failed = stats.failures + (stats.pending > 0 ? stats.pending : 0);
  if (stats.pending > 0) say(`${stats.pending} test(s) were skipped; a skipped test counts as a failure here`);
  console.log(`${stats.passes} passed, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}

process.exitCode = await main();
