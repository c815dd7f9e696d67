// npm test: build (TypeScript + opa test + wasm bundle), then run every layer with mocha:
// unit, policies (through the compiled bundle), server (real HTTPS), e2e (real cluster), and
// e2e-chart: the e2e cases below again, on a cluster of their own, with levee holding nothing
// but the Helm chart's ServiceAccount tokens, configuration and webhook registrations, then
// test/e2e-chart/. Ends with one plain line, "N passed, N failed", which CI reads.
//
//   npm test                 all layers
//   npm test -- unit server  only the named layers (test/<layer>/)
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from './build.mjs';
import { runMocha } from './lib/mocha.mjs';
import { onPinnedNode, repoRoot, say } from './lib/run.mjs';

const LAYERS = ['unit', 'policies', 'server', 'upstream', 'e2e', 'e2e-chart'];
const CHART_CASES = ['scale-to-zero', 'version-skew', 'spot-capacity', 'overrides', 'probe-gate'];

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

function layerFiles(layer) {
  if (layer !== 'e2e-chart') return testFiles(join(repoRoot, 'dist', 'test', layer));
  const own = testFiles(join(repoRoot, 'dist', 'test', layer));
  if (own.length === 0) return [];
  // The cases first: test/e2e-chart/ checks what the API server recorded while they ran.
  return [...CHART_CASES.map((name) => join(repoRoot, 'dist', 'test', 'e2e', `${name}.test.js`)), ...own];
}

/** e2e-chart in a process of its own: the harness holds one cluster and one levee per process. */
function runChartLayer(files) {
  const dir = mkdtempSync(join(tmpdir(), 'levee-e2e-chart-'));
  const statsFile = join(dir, 'stats.json');
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(repoRoot, 'scripts', 'lib', 'mocha-child.mjs'), statsFile, ...files], {
      cwd: repoRoot,
      stdio: 'inherit',
      env: { ...process.env, LEVEE_E2E_CREDENTIALS: 'chart' },
    });
    child.on('exit', (code, signal) => {
      let stats;
      try {
        stats = JSON.parse(readFileSync(statsFile, 'utf8'));
      } catch {
        say(`the e2e-chart run ended (${signal ?? code}) without counts`);
        stats = { passes: 0, failures: 1, pending: 0 };
      }
      rmSync(dir, { recursive: true, force: true });
      resolve(stats);
    });
  });
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

  const filesOf = new Map(layers.map((layer) => [layer, layerFiles(layer)]));
  for (const [layer, files] of filesOf) {
    if (files.length === 0) {
      say(`no tests found in test/${layer}`);
      console.log('0 passed, 1 failed');
      return 1;
    }
  }
  const inProcess = layers.filter((layer) => layer !== 'e2e-chart').flatMap((layer) => filesOf.get(layer));
  const runs = [];
  if (inProcess.length > 0) runs.push(await runMocha(inProcess));
  if (filesOf.has('e2e-chart')) runs.push(await runChartLayer(filesOf.get('e2e-chart')));
  const stats = runs.reduce((sum, run) => ({ passes: sum.passes + run.passes, failures: sum.failures + run.failures, pending: sum.pending + run.pending }));
  const failed = stats.failures + (stats.pending > 0 ? stats.pending : 0);
  if (stats.pending > 0) say(`${stats.pending} test(s) were skipped; a skipped test counts as a failure here`);
  console.log(`${stats.passes} passed, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}

process.exitCode = await main();
