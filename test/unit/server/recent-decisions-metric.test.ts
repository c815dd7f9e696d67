import assert from 'node:assert/strict';
import { Metrics } from '../../../src/server/metrics.js';

describe('server/metrics: the ledger of recent decisions', () => {
  it('exports the changes waiting for the watch and those the full ledger dropped, read at scrape time', async () => {
    let state = { pending: 0, evicted: 0 };
    const metrics = new Metrics(() => [], () => [], () => state);
    state = { pending: 3, evicted: 1 };
    const text = await metrics.registry.metrics();
    assert.match(text, /^levee_recent_decisions\{state="pending"\} 3$/m);
    assert.match(text, /^levee_recent_decisions\{state="evicted"\} 1$/m);
  });
});
