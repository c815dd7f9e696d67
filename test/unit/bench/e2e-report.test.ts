import assert from 'node:assert/strict';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

interface Chunk {
  latencies: number[];
  seconds: number;
  statuses: Record<string, number>;
  cpu: { apiserver: number; webhook: number };
  calls: number;
  waited: { webhooks: number; conditions: number };
}
type Summary = unknown;
interface BenchSummary {
  summarizeChunks(input: { targets: { key: string; name: string }[]; writers: number[]; chunks: Map<string, Chunk[]> }): Summary;
}
interface BenchReport {
  report(input: Record<string, unknown>): string[];
}

const root = (...path: string[]): string => pathToFileURL(join(process.cwd(), ...path)).href;

/** A chunk of 100 writes whose p99 is `p99Ms`. */
const chunkWithP99 = (p99Ms: number): Chunk => ({
  latencies: [...Array.from({ length: 98 }, () => 1000), p99Ms * 1000, p99Ms * 1000 + 1],
  seconds: 1,
  statuses: { '200': 100 },
  cpu: { apiserver: 0.1, webhook: 0.05 },
  calls: 50,
  waited: { webhooks: 0.01, conditions: 0 },
});

const TARGETS = [
  { key: 'none', name: 'no webhook (floor)' },
  { key: 'levee', name: 'levee' },
  { key: 'gatekeeper', name: 'Gatekeeper' },
];
const MEMORY = {
  small: [{ key: 'levee', name: 'levee', rss: [60] }, { key: 'gatekeeper', name: 'Gatekeeper', rss: [120] }],
  large: [{ key: 'levee', name: 'levee', rss: [90] }, { key: 'gatekeeper', name: 'Gatekeeper', rss: [180] }],
};

async function reportFor(writers: number[], chunks: Map<string, Chunk[]>): Promise<string[]> {
  const { summarizeChunks } = (await import(root('bench', 'e2e', 'summary.mjs'))) as BenchSummary;
  const { report } = (await import(root('bench', 'e2e', 'report.mjs'))) as BenchReport;
  return report({
    summary: summarizeChunks({ targets: TARGETS, writers, chunks }),
    memory: MEMORY,
    counts: { rounds: 2, seconds: 1, warmSeconds: 1, small: 1000, large: 5000 },
    writers,
    check: { summary: 'all targets answered alike' },
    crdCount: 1,
    gatekeeper: { args: ['--port=8443'] },
    quick: false,
    breakdown: false,
    started: Date.now(),
    loadAtStart: [0, 0, 0],
  });
}

describe('bench/e2e/report: the targets, pooled and paired', () => {
  it('reads both latency targets at 16 writers both ways, and fails one that holds only pooled', async () => {
    // Pooled (every write of both rounds in one p99), levee adds 5% to the floor; round by round it
    // adds 5% and 30% of that round's floor, a median of 17.5%: the target fails on the paired reading.
    const lines = await reportFor([16], new Map([
      ['none/16', [chunkWithP99(10), chunkWithP99(10)]],
      ['levee/16', [chunkWithP99(10.5), chunkWithP99(13)]],
      ['gatekeeper/16', [chunkWithP99(14), chunkWithP99(18)]],
    ]));
    const text = lines.join('\n');
    assert.match(text, /FAIL {2}levee adds 5\.0% pooled, 17\.5% paired \(median of 2 rounds\)/);
    assert.match(text, /PASS {2}levee's added p99 is 0\.1[23]x pooled, 0\.25x paired Gatekeeper's/);
    assert.match(text, /PASS {2}levee's RSS with 5k Services\+Pods is 0\.50x Gatekeeper's/);
    assert.match(text, /added p99 round by round/);
    assert.match(text, /\n16 +2 +10\.00 +\+3\.00 \(30%\) +\+8\.00 \(80%\)\n/);
  });

  it('says the latency targets were not read when 16 writers were not measured, and still reports memory', async () => {
    const lines = await reportFor([1], new Map([
      ['none/1', [chunkWithP99(10)]],
      ['levee/1', [chunkWithP99(11)]],
      ['gatekeeper/1', [chunkWithP99(14)]],
    ]));
    const text = lines.join('\n');
    assert.match(text, /latency targets not read: they are set at 16 writers, and this run measured 1/);
    assert.doesNotMatch(text, /levee adds/);
    assert.match(text, /levee's RSS with 5k/);
  });
});
