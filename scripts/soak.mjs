// npm run soak: builds what is stale, then runs mixed load against a levee process for five
// minutes with a certificate rotation and a probe verdict flip part way through (bench/soak.mjs).
//   npm run soak                      300 s
//   npm run soak -- --seconds 60      shorter (or LEVEE_SOAK_SECONDS=60)
import { parseArgs } from 'node:util';
import { buildIfStale } from './bench.mjs';
import { onPinnedNode, say } from './lib/run.mjs';

const { values } = parseArgs({ options: { seconds: { type: 'string' } }, allowPositionals: true });
const seconds = Number(values.seconds ?? process.env.LEVEE_SOAK_SECONDS ?? 300);
if (!Number.isFinite(seconds) || seconds < 10) {
  say(`--seconds must be a number of at least 10, got ${values.seconds ?? process.env.LEVEE_SOAK_SECONDS}`);
  process.exit(2);
}
try {
  await onPinnedNode();
  buildIfStale();
  const { runSoak } = await import('../bench/soak.mjs');
  process.exitCode = (await runSoak({ seconds })) ? 0 : 1;
} catch (err) {
  say(`soak failed: ${err.stack ?? err.message}`);
  process.exitCode = 1;
}
