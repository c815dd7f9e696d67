import assert from 'node:assert/strict';
import { CacheFreshness, describeStale } from '../../../src/cluster/freshness.js';

describe('cluster/freshness', () => {
  let now = 0;
  const clock = (): number => now;

  beforeEach(() => {
    now = 1_000_000;
  });

  it('is current (age 0) while the watches are up, however long nothing changes', () => {
    const freshness = new CacheFreshness(clock);
    freshness.current('services', '/api/v1/services');
    now += 3_600_000;
    assert.deepEqual(freshness.ages(), [{ name: 'services', ageSeconds: 0 }]);
    assert.deepEqual(freshness.stale(60), []);
  });

  it('ages from the moment a watch broke, and is current again once it is back', () => {
    const freshness = new CacheFreshness(clock);
    freshness.current('pods', '/api/v1/pods');
    freshness.broken('pods', '/api/v1/pods');
    now += 30_000;
    freshness.broken('pods', '/api/v1/pods');
    now += 45_000;
    assert.deepEqual(freshness.stale(60), [{ name: 'pods', ageSeconds: 75 }]);
    freshness.current('pods', '/api/v1/pods');
    assert.deepEqual(freshness.stale(60), []);
  });

  it('ages a watch found silent from the last moment it said anything, not from when the silence was noticed', () => {
    const freshness = new CacheFreshness(clock);
    freshness.current('services', '/api/v1/services');
    const lastHeard = now;
    now += 45_000; // the watchdog's bound
    freshness.broken('services', '/api/v1/services', lastHeard);
    assert.deepEqual(freshness.ages(), [{ name: 'services', ageSeconds: 45 }]);
    now += 16_000;
    assert.deepEqual(freshness.stale(60), [{ name: 'services', ageSeconds: 61 }]);
    // A later failure of the same break does not make the cache look younger.
    freshness.broken('services', '/api/v1/services');
    assert.equal(freshness.stale(60)[0]?.ageSeconds, 61);
  });

  it('a cache fed by several watches stays stale until every one of them is back', () => {
    const freshness = new CacheFreshness(clock);
    freshness.current('workloads', '/apis/apps/v1/deployments');
    freshness.broken('workloads', '/apis/apps/v1/deployments');
    freshness.broken('workloads', '/apis/apps/v1/statefulsets');
    now += 90_000;
    freshness.current('workloads', '/apis/apps/v1/deployments');
    assert.equal(freshness.stale(60)[0]?.ageSeconds, 90);
    freshness.current('workloads', '/apis/apps/v1/statefulsets');
    assert.deepEqual(freshness.stale(60), []);
  });

  it('does not call a cache that never listed stale: it is unsynced, which /readyz reports', () => {
    const freshness = new CacheFreshness(clock);
    freshness.broken('pods', '/api/v1/pods');
    now += 600_000;
    assert.deepEqual(freshness.stale(60), []);
    assert.deepEqual(freshness.ages(), []);
  });

  it('lists stale caches oldest first and describes them for /readyz and warnings', () => {
    const freshness = new CacheFreshness(clock);
    freshness.current('services', 's');
    freshness.current('pods', 'p');
    freshness.broken('services', 's');
    now += 10_000;
    freshness.broken('pods', 'p');
    now += 70_000;
    const stale = freshness.stale(60);
    assert.deepEqual(stale.map((age) => age.name), ['services', 'pods']);
    assert.equal(describeStale(stale), 'services, pods (80 s)');
  });
});
