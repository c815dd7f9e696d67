import assert from 'node:assert/strict';
import { Reachability } from '../../../../src/probe/fleet/reachability.js';

describe('probe/fleet/reachability: judged from the answers the probes get', () => {
  let clock = 0;
  const now = (): Date => new Date(clock);
  beforeEach(() => (clock = Date.parse('2026-11-30T06:00:00Z')));

  it('is reachable while requests are answered, and after one lost request shortly after an answer', () => {
    const reach = new Reachability(10, now);
    assert.deepEqual(reach.state, { reachable: true });
    reach.record(true);
    clock += 3000;
    reach.record(false, new Error('GET /readyz: connect ECONNREFUSED'));
    assert.deepEqual(reach.state, { reachable: true });
  });

  it('is unreachable once nothing has been answered for the window, with the last error and since the first', () => {
    const reach = new Reachability(10, now);
    reach.record(true);
    clock += 1000;
    const firstFailure = clock;
    reach.record(false, new Error('GET /api/v1/nodes: connect ECONNREFUSED'));
    clock += 10_000;
    reach.record(false, new Error('POST /api/v1/namespaces/levee-system/configmaps: connect ECONNREFUSED'));
    const state = reach.state;
    assert.equal(state.reachable, false);
    assert.ok(!state.reachable);
    assert.equal(state.error, 'POST /api/v1/namespaces/levee-system/configmaps: connect ECONNREFUSED');
    assert.equal(state.since.getTime(), firstFailure);
    reach.record(true);
    assert.deepEqual(reach.state, { reachable: true });
  });

  it('is unreachable at once when never answered, and when its context cannot be used', () => {
    const never = new Reachability(10, now);
    never.record(false, new Error('GET /version: context deadline exceeded'));
    assert.equal(never.state.reachable, false);
    const broken = new Reachability(10, now);
    broken.fail('kubeconfig has no context "edge"');
    assert.deepEqual(broken.state, { reachable: false, error: 'kubeconfig has no context "edge"', since: new Date(clock) });
  });
});
