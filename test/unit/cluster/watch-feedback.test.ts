import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { CacheFreshness } from '../../../src/cluster/freshness.js';
import { watchFeedbackFor } from '../../../src/cluster/watch-feedback.js';
import { createLogger } from '../../../src/logger.js';

function capture(): { lines: Array<{ level: number; msg: string; reason?: string }>; stream: Writable } {
  const lines: Array<{ level: number; msg: string; reason?: string }> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString('utf8')) as { level: number; msg: string });
      done();
    },
  });
  return { lines, stream };
}

describe('cluster/watch-feedback: what a feed\'s watch tells the rest of levee', () => {
  it('marks every cache of the feed broken since the given moment, warns once per break, and says when it is back', () => {
    let now = 100_000;
    const freshness = new CacheFreshness(() => now);
    const { lines, stream } = capture();
    const restarts: string[] = [];
    const feedback = watchFeedbackFor({
      cache: 'replicasets, workloads',
      feed: '/apis/apps/v1/replicasets',
      stores: ['replicasets', 'workloads'],
      freshness,
      logger: createLogger('debug', stream),
      metrics: { restarted: (cache, reason) => restarts.push(`${cache}:${reason}`) },
      clock: () => now,
    });
    feedback.current();
    now += 45_000;
    feedback.broken(new Error('said nothing for 45 s'), now - 45_000, 'silent');
    now += 2_000;
    feedback.broken(new Error('no answer within 10000 ms'), now, 'failed');
    now += 20_000;
    assert.deepEqual(freshness.stale(60).map((age) => [age.name, age.ageSeconds]), [['replicasets', 67], ['workloads', 67]]);
    feedback.current();
    assert.deepEqual(freshness.stale(0), []);
    assert.deepEqual(restarts, ['replicasets, workloads:silent', 'replicasets, workloads:failed']);
    assert.deepEqual(lines.map((line) => [line.level, line.msg]), [
      [40, 'watch fell silent (no event, no bookmark, no end); serving from cache and relisting'],
      [20, 'still cannot list or watch; retrying'],
      [30, 'watch re-established; cache relisted and current'],
    ]);
  });
});
