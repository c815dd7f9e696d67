// npm run bench: builds what is stale, then measures levee against a no-op express handler,
// the express + opa sidecar design and opa alone, side by side (bench/run.mjs).
//   npm run bench              the full run (about 3 minutes on 2 cores)
//   npm run bench -- --quick   fewer requests, for trying the bench itself
//   npm run bench -- --audit   only `levee audit -f` on 5, 25 and 50 MB of manifests: time and peak memory
//   npm run bench -- --bounds  only the hostile-load section (large reviews, unfinished bodies)
//   npm run bench -- --probe   only `levee probe`'s API requests (per run, per 30 s) at 100 and 50,000
//                              pods, against a fake API server on 127.0.0.1 (about 8 minutes; --quick: 5,000;
//                              --pods=100,5000 other sizes)
//   npm run bench -- --node-flags='--max-semi-space-size=64'
//                              Node.js flags for every Node target instead of those of levee's image
//   npm run bench -- --e2e     (or npm run bench:e2e) through kube-apiserver instead: no webhook,
//                              levee, the sidecar design and Gatekeeper registered in turn
//                              (bench/e2e/run.mjs); --quick works there too, and --large=N
//                              sets the Services and Pods of the second memory reading (50000);
//                              --rounds=N, --seconds=S and --writers=a,b set the rounds, each
//                              chunk's seconds and the writer counts (bench/e2e/options.mjs);
//                              --breakdown has levee log every decision and counts the reviews
//                              it was sent by route, requester, resource and operation
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { build } from './build.mjs';
import { onPinnedNode, repoRoot, say, toolPath } from './lib/run.mjs';

/** Newest modification time under `dir` of files ending in one of `suffixes`. */
function newest(dir, suffixes) {
  let latest = 0;
  if (!existsSync(dir)) return latest;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) latest = Math.max(latest, newest(path, suffixes));
    else if (suffixes.some((suffix) => entry.name.endsWith(suffix))) latest = Math.max(latest, statSync(path).mtimeMs);
  }
  return latest;
}

export function buildIfStale() {
  const outputs = [join(repoRoot, 'dist', 'src', 'server', 'serve.js'), join(repoRoot, 'dist', 'policies', 'bundle.tar.gz')];
  const built = Math.min(...outputs.map((file) => (existsSync(file) ? statSync(file).mtimeMs : 0)));
  const sources = Math.max(newest(join(repoRoot, 'src'), ['.ts']), newest(join(repoRoot, 'policies'), ['.rego', '.json']));
  if (built > sources) return;
  say('sources changed since the last build; building...');
  build();
}

/** The end-to-end bench's options, read before anything is built: a bad one exits 2 at once. */
async function e2eOverrides() {
  const { E2eOptionError, parseE2eOptions } = await import('../bench/e2e/options.mjs');
  try {
    return parseE2eOptions(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof E2eOptionError)) throw err;
    say(`bench:e2e: ${err.message}`);
    process.exit(2);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    const e2e = process.argv.includes('--e2e') ? await e2eOverrides() : undefined;
    await onPinnedNode();
    buildIfStale();
    if (process.argv.includes('--probe')) {
      // Only the probe table: levee probe's API requests per run and per 30 s, at 100 and 50,000 pods.
      const { runProbeBench } = await import('../bench/probe.mjs');
      const pods = process.argv.find((arg) => arg.startsWith('--pods='))?.slice('--pods='.length);
      console.log(await runProbeBench({ quick: process.argv.includes('--quick'), ...(pods ? { sizes: pods.split(',').map(Number) } : {}) }));
      process.exit(0);
    }
    if (process.argv.includes('--audit')) {
      // Only the audit table: `levee audit -f` time and memory on 5, 25 and 50 MB of manifests.
      const { runAuditBench } = await import('../bench/audit.mjs');
      await runAuditBench();
      process.exit(0);
    }
    const nodeFlags = process.argv.find((arg) => arg.startsWith('--node-flags='))?.slice('--node-flags='.length);
    const options = {
      opaPath: toolPath('opa'),
      quick: process.argv.includes('--quick'),
      ...(nodeFlags !== undefined ? { nodeFlags: nodeFlags.split(/\s+/).filter(Boolean) } : {}),
    };
    if (e2e) {
      const { runE2eBench } = await import('../bench/e2e/run.mjs');
      // Gatekeeper is built only here, the first time the end-to-end bench needs it.
      await runE2eBench({ ...options, gatekeeperPath: toolPath('gatekeeper'), breakdown: process.argv.includes('--breakdown'), overrides: e2e });
    } else {
      const { runBench } = await import('../bench/run.mjs');
      await runBench({ ...options, boundsOnly: process.argv.includes('--bounds') });
    }
  } catch (err) {
    say(`bench failed: ${err.stack ?? err.message}`);
    process.exitCode = 1;
  }
}
