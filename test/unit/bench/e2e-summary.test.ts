import assert from 'node:assert/strict';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

interface Round {
  writers: number;
  round: number;
  p99: Record<string, number>;
  added: Record<string, number>;
  share: Record<string, number>;
}
interface Chunk {
  latencies: number[];
}
interface BenchSummary {
  median(values: number[]): number;
  pairedRounds(input: { targets: { key: string }[]; writers: number[]; chunks: Map<string, Chunk[]> }): Round[];
  pairedRatio(rounds: Round[], at: { writers: number; key: string; reference: string }): { rounds: number; share: number; ratio: number; unusable: number };
}

const load = async (): Promise<BenchSummary> => (await import(pathToFileURL(join(process.cwd(), 'bench', 'e2e', 'summary.mjs')).href)) as BenchSummary;

/** A chunk whose p99 is `p99Ms`: 99 writes of 1 ms and one of p99Ms (latencies in microseconds). */
const chunkWithP99 = (p99Ms: number): Chunk => ({ latencies: [...Array.from({ length: 98 }, () => 1000), p99Ms * 1000, p99Ms * 1000 + 1] });

const TARGETS = [{ key: 'none' }, { key: 'levee' }, { key: 'gatekeeper' }];

describe('bench/e2e/summary: reading each round on its own', () => {
  it('takes the median of an odd and an even count, ignoring what is not a number', async () => {
    const { median } = await load();
    assert.equal(median([5, 1, 3]), 3);
    assert.equal(median([4, 1, 3, 2]), 2.5);
    assert.equal(median([Number.NaN, 7, Number.POSITIVE_INFINITY]), 7);
    assert.ok(Number.isNaN(median([])));
  });

  it('reads every target against the floor of its own round, not the pooled floor', async () => {
    const { pairedRounds } = await load();
    // Round 2 is a slow spell: the floor and levee both slower, levee's addition the same.
    const chunks = new Map<string, Chunk[]>([
      ['none/16', [chunkWithP99(10), chunkWithP99(40)]],
      ['levee/16', [chunkWithP99(11), chunkWithP99(41)]],
      ['gatekeeper/16', [chunkWithP99(14), chunkWithP99(48)]],
    ]);
    const rounds = pairedRounds({ targets: TARGETS, writers: [16], chunks });
    assert.equal(rounds.length, 2);
    assert.deepEqual(rounds.map((r) => [r.writers, r.round, r.p99.none, r.added.levee, r.added.gatekeeper]), [
      [16, 1, 10, 1, 4],
      [16, 2, 40, 1, 8],
    ]);
    assert.equal(rounds[0]?.share.levee, 0.1);
    assert.equal(rounds[1]?.share.levee, 0.025);
  });

  it('gives the median share and ratio over rounds, and leaves out rounds where the reference added nothing', async () => {
    const { pairedRounds, pairedRatio } = await load();
    const chunks = new Map<string, Chunk[]>([
      ['none/16', [chunkWithP99(10), chunkWithP99(10), chunkWithP99(10), chunkWithP99(20)]],
      ['levee/16', [chunkWithP99(11), chunkWithP99(12), chunkWithP99(13), chunkWithP99(21)]],
      ['gatekeeper/16', [chunkWithP99(14), chunkWithP99(14), chunkWithP99(14), chunkWithP99(19)]],
      ['none/1', [chunkWithP99(5)]],
      ['levee/1', [chunkWithP99(50)]],
      ['gatekeeper/1', [chunkWithP99(6)]],
    ]);
    const rounds = pairedRounds({ targets: TARGETS, writers: [1, 16], chunks });
    const paired = pairedRatio(rounds, { writers: 16, key: 'levee', reference: 'gatekeeper' });
    // shares 0.1, 0.2, 0.3, 0.05 → 0.15; ratios 0.25, 0.5, 0.75 (round 4: Gatekeeper under the floor) → 0.5
    assert.equal(paired.rounds, 4);
    assert.ok(Math.abs(paired.share - 0.15) < 1e-9, `share ${paired.share}`);
    assert.equal(paired.ratio, 0.5);
    assert.equal(paired.unusable, 1);
  });
});
