import assert from 'node:assert/strict';
import { RecentDecisions } from '../../../src/cluster/recent-decisions.js';
import { ClusterState } from '../../../src/cluster/state.js';
import { nodeObject } from '../../support/fleet.js';

function ledger(options: { expiryMs?: number; maxEntries?: number } = {}): { decisions: RecentDecisions; advance(ms: number): void } {
  let now = 1_000_000;
  const decisions = new RecentDecisions({ expiryMs: options.expiryMs ?? 30_000, maxEntries: options.maxEntries ?? 100, clock: () => now });
  return { decisions, advance: (ms) => (now += ms) };
}

const cordon = (key: string) => ({ store: 'nodes', key, after: { schedulable: false } });

describe('cluster/recent-decisions', () => {
  it('keeps an allowed change, by store and key, and lays it over the cached view', () => {
    const { decisions } = ledger();
    decisions.record([cordon('ondemand-1'), { store: 'nodes', key: 'ondemand-2', after: null }]);
    assert.deepEqual([...decisions.pending('nodes')], [['ondemand-1', { schedulable: false }], ['ondemand-2', null]]);
    assert.deepEqual([...decisions.pending('workloads')], []);
    const cached = { name: 'ondemand-1', schedulable: true, pool: 'a' };
    assert.deepEqual(decisions.overlay('nodes', 'ondemand-1', cached), { name: 'ondemand-1', schedulable: false, pool: 'a' });
    assert.equal(decisions.overlay('nodes', 'ondemand-2', cached), undefined);
    assert.equal(decisions.overlay('nodes', 'ondemand-3', cached), cached);
    decisions.record([{ store: 'nodes', key: 'new', after: { name: 'new', schedulable: true } }]);
    assert.deepEqual(decisions.overlay('nodes', 'new', undefined), { name: 'new', schedulable: true }, 'an object not cached yet is the expected view alone');
  });

  it('a watch event that shows the change confirms and retires it; one that does not, keeps it', () => {
    const { decisions } = ledger();
    decisions.record([cordon('ondemand-1')]);
    // A heartbeat before the cordon lands: the cache still shows the node schedulable.
    decisions.observe('nodes', 'ondemand-1', { name: 'ondemand-1', schedulable: true });
    assert.equal(decisions.size, 1);
    decisions.observe('nodes', 'ondemand-1', { name: 'ondemand-1', schedulable: false });
    assert.equal(decisions.size, 0);
  });

  it('an expected deletion is confirmed by the object leaving the cache, and so is any change to an object that is gone', () => {
    const { decisions } = ledger();
    decisions.record([{ store: 'nodes', key: 'a', after: null }, cordon('b')]);
    decisions.observe('nodes', 'a', { name: 'a', schedulable: true });
    assert.equal(decisions.size, 2);
    decisions.observe('nodes', 'a', undefined);
    decisions.observe('nodes', 'b', undefined);
    assert.equal(decisions.size, 0);
  });

  it('compares the expected fields deeply and only those', () => {
    const { decisions } = ledger();
    decisions.record([{ store: 'nodepools', key: 'general', after: { capacityTypes: ['spot'] } }]);
    decisions.observe('nodepools', 'general', { name: 'general', capacityTypes: ['on-demand', 'spot'] });
    assert.equal(decisions.size, 1);
    decisions.observe('nodepools', 'general', { name: 'general', capacityTypes: ['spot'], extra: 1 });
    assert.equal(decisions.size, 0);
  });

  it('forgets a change the watch never shows once it expires', () => {
    const { decisions, advance } = ledger({ expiryMs: 10_000 });
    decisions.record([cordon('ondemand-1')]);
    advance(5_000);
    decisions.record([cordon('ondemand-2')]);
    advance(5_000);
    assert.deepEqual([...decisions.pending('nodes').keys()], ['ondemand-2']);
    assert.equal(decisions.overlay('nodes', 'ondemand-1', { schedulable: true })?.schedulable, true);
    advance(5_000);
    assert.equal(decisions.size, 0);
  });

  it('a second change of the same object replaces the first and starts its expiry again', () => {
    const { decisions, advance } = ledger({ expiryMs: 10_000 });
    decisions.record([cordon('a')]);
    advance(8_000);
    decisions.record([{ store: 'nodes', key: 'a', after: null }]);
    advance(8_000);
    assert.deepEqual([...decisions.pending('nodes')], [['a', null]]);
  });

  it('is bounded: when full, the oldest entry goes first, and the evictions are counted', () => {
    const { decisions } = ledger({ maxEntries: 3 });
    for (const key of ['a', 'b', 'c', 'd', 'e']) decisions.record([cordon(key)]);
    assert.deepEqual([...decisions.pending('nodes').keys()], ['c', 'd', 'e']);
    assert.equal(decisions.evicted, 2);
  });

  it('counts generations: every record, never a read or a confirmation', () => {
    const { decisions } = ledger();
    assert.equal(decisions.generation, 0);
    decisions.record([cordon('a')]);
    decisions.record([]);
    decisions.pending('nodes');
    decisions.observe('nodes', 'a', undefined);
    assert.equal(decisions.generation, 1);
  });

  it("ClusterState's stores tell it what their watches bring", () => {
    const cluster = new ClusterState();
    cluster.nodes.upsert(...cluster.nodes.project(nodeObject('ondemand-1')));
    cluster.recentDecisions.record([cordon('ondemand-1')]);
    cluster.nodes.upsert(...cluster.nodes.project(nodeObject('ondemand-1', { taints: [{ key: 'x', effect: 'PreferNoSchedule' }] })));
    assert.equal(cluster.recentDecisions.size, 1);
    cluster.nodes.upsert(...cluster.nodes.project(nodeObject('ondemand-1', { unschedulable: true })));
    assert.equal(cluster.recentDecisions.size, 0);
  });
});
