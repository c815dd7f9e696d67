// npm run fuzz: builds what is stale, then sends hostile AdmissionReviews (mutations of real
// reviews of every kind levee judges, damaged JSON, random JSON and bytes) to a running levee
// and checks every answer (bench/fuzz/). Exit code 1 on a crash, a 5xx, an unanswered review,
// a malformed review allowed, /readyz not 200 at the end, or memory that grows.
//   npm run fuzz                          100000 reviews, a random seed (printed)
//   npm run fuzz -- --count 1000000 --seed 42
import { randomInt } from 'node:crypto';
import { parseArgs } from 'node:util';
import { buildIfStale } from './bench.mjs';
import { onPinnedNode, say } from './lib/run.mjs';

const { values } = parseArgs({
  options: { count: { type: 'string', default: '100000' }, seed: { type: 'string' }, connections: { type: 'string', default: '8' } },
  allowPositionals: false,
});
const count = Number(values.count);
const seed = values.seed === undefined ? randomInt(2 ** 31) : Number(values.seed);
const connections = Number(values.connections);
if (!Number.isInteger(count) || count < 1 || !Number.isInteger(seed) || seed < 0 || !Number.isInteger(connections) || connections < 1) {
  say('usage: npm run fuzz -- [--count N] [--seed N] [--connections N] (whole numbers; count and connections at least 1)');
  process.exit(2);
}
try {
  await onPinnedNode();
  buildIfStale();
  const { formatFuzzReport, runFuzz } = await import('../bench/fuzz/run.mjs');
  const result = await runFuzz({ count, seed, connections, say: (line) => say(`fuzz: ${line}`) });
  process.stdout.write(`${formatFuzzReport(result)}\n`);
  process.exitCode = result.ok ? 0 : 1;
} catch (err) {
  say(`fuzz failed: ${err.stack ?? err.message}`);
  process.exitCode = 1;
}
