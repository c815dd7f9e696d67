import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

interface FuzzResult {
  ok: boolean;
  seed: number;
  checks: Array<{ name: string; ok: boolean; detail: string }>;
  report: { sent: number; judgeable: number; allowed: number; refused: number; byStrategy: Record<string, number> };
}

/**
 * A short `npm run fuzz` (bench/fuzz/): levee in its own process, the generator in another,
 * every answer checked. The full run (a million reviews) is in the README; this one keeps the
 * machinery honest in every `npm test`. A new seed each run; a failure names it, for
 * `npm run fuzz -- --seed N` to replay.
 */
describe('server: npm run fuzz, a short run', function () {
  this.timeout(240_000);

  it('answers a few thousand hostile reviews of every judged kind: no crash, no 5xx, none malformed allowed, ready and flat', async () => {
    const { runFuzz, formatFuzzReport } = (await import(pathToFileURL(join(process.cwd(), 'bench', 'fuzz', 'run.mjs')).href)) as {
      runFuzz(options: { count: number; seed: number; connections: number }): Promise<FuzzResult>;
      formatFuzzReport(result: FuzzResult): string;
    };
    const seed = randomInt(2 ** 31);
    const result = await runFuzz({ count: 4000, seed, connections: 4 });
    assert.equal(result.report.sent, 4000);
    assert.ok(result.report.judgeable > 1000 && result.report.allowed > 0 && result.report.refused > 0, `the mix reached the policies: ${formatFuzzReport(result)}`);
    assert.deepEqual(Object.keys(result.report.byStrategy).sort(), ['damaged JSON', 'mutated review', 'odd content type', 'random JSON', 'random bytes', 'seed']);
    assert.ok(result.ok, `seed ${seed}:\n${formatFuzzReport(result)}`);
  });
});
