import assert from 'node:assert/strict';
import type { KubeObject } from '../../../src/kube/types.js';
import { NodeStore, toNodeView } from '../../../src/cluster/nodes.js';
import { buildConfig } from '../../../src/config.js';
import { nodeObject, type NodeOptions } from '../../support/fleet.js';

const settings = buildConfig().policies['spot-capacity'];
const classification = { capacityLabels: settings.capacityLabels, poolLabels: settings.poolLabels };

function store(): NodeStore {
  return new NodeStore(classification);
}

function put(nodes: NodeStore, name: string, options: NodeOptions = {}): void {
  nodes.upsert(...nodes.project(nodeObject(name, options)));
}

/** What the aggregates should say, recomputed the slow way, to check the incremental answer. */
function recount(nodes: NodeStore, names: string[]): { onDemand: number; spot: number; nodes: number } {
  let onDemand = 0;
  let spot = 0;
  let count = 0;
  for (const name of names) {
    const view = nodes.get(name);
    if (!view) continue;
    count++;
    if (!view.schedulable) continue;
    if (view.capacityType === 'spot') spot++;
    else onDemand++;
  }
  return { onDemand, spot, nodes: count };
}

function summary(nodes: NodeStore): { onDemand: number; spot: number; nodes: number } {
  const capacity = nodes.capacity();
  return { onDemand: capacity['on-demand'].schedulable, spot: capacity.spot.schedulable, nodes: capacity['on-demand'].nodes + capacity.spot.nodes };
}

describe('cluster/nodes', () => {
  it('reads capacity type, pool, schedulability and kubelet version from a Node', () => {
    const view = toNodeView(nodeObject('spot-1', { capacity: 'spot', pool: 'spot-a', kubelet: 'v1.33.7-eks-1234' }), classification);
    assert.deepEqual(view, {
      name: 'spot-1',
      capacityType: 'spot',
      pool: 'spot-a',
      fromNodePool: true,
      schedulable: true,
      kubelet: { major: 1, minor: 33, patch: 7, text: 'v1.33.7-eks-1234' },
    });
    const cordoned = toNodeView(nodeObject('od-1', { capacity: 'none', unschedulable: true }), classification);
    assert.deepEqual([cordoned.capacityType, cordoned.schedulable, cordoned.pool, cordoned.fromNodePool], ['on-demand', false, '', false]);
  });

  it('counts on-demand nodes Karpenter did not launch apart: a managed node group stays whatever NodePools do', () => {
    const nodes = store();
    put(nodes, 'karpenter-1', { pool: 'general' });
    put(nodes, 'karpenter-2', { capacity: 'spot', pool: 'general' });
    put(nodes, 'group-1', { labels: { 'eks.amazonaws.com/nodegroup': 'system', 'eks.amazonaws.com/capacityType': 'ON_DEMAND' } });
    put(nodes, 'group-2', { labels: { 'eks.amazonaws.com/nodegroup': 'system' }, unschedulable: true });
    put(nodes, 'by-hand', { capacity: 'none' });
    assert.deepEqual(nodes.capacityOutsideNodePools(), { 'on-demand': { nodes: 3, schedulable: 2 }, spot: { nodes: 0, schedulable: 0 } });
    nodes.remove('by-hand');
    put(nodes, 'group-1', { labels: { 'eks.amazonaws.com/nodegroup': 'system' }, taints: [{ key: 'drain', effect: 'NoSchedule' }] });
    assert.deepEqual(nodes.capacityOutsideNodePools()['on-demand'], { nodes: 2, schedulable: 0 });
    assert.deepEqual(nodes.capacity()['on-demand'], { nodes: 3, schedulable: 1 });
  });

  it('counts schedulable on-demand and spot nodes as nodes are added', () => {
    const nodes = store();
    for (let i = 1; i <= 5; i++) put(nodes, `ondemand-${i}`, { pool: 'on-demand-a' });
    for (let i = 1; i <= 4; i++) put(nodes, `spot-${i}`, { capacity: 'spot', pool: 'spot-a' });
    assert.deepEqual(nodes.capacity(), { 'on-demand': { nodes: 5, schedulable: 5 }, spot: { nodes: 4, schedulable: 4 } });
    assert.deepEqual(nodes.poolCapacity('on-demand-a'), { 'on-demand': { nodes: 5, schedulable: 5 }, spot: { nodes: 0, schedulable: 0 } });
    assert.deepEqual(nodes.poolCapacity('spot-a'), { 'on-demand': { nodes: 0, schedulable: 0 }, spot: { nodes: 4, schedulable: 4 } });
    assert.deepEqual(nodes.poolCapacity('nowhere'), { 'on-demand': { nodes: 0, schedulable: 0 }, spot: { nodes: 0, schedulable: 0 } });
  });

  it('updates the counts on cordon, taint, uncordon and untaint', () => {
    const nodes = store();
    put(nodes, 'ondemand-1', { pool: 'a' });
    put(nodes, 'ondemand-2', { pool: 'a' });
    put(nodes, 'ondemand-1', { pool: 'a', unschedulable: true });
    assert.deepEqual(nodes.capacity()['on-demand'], { nodes: 2, schedulable: 1 });
    put(nodes, 'ondemand-2', { pool: 'a', taints: [{ key: 'maintenance', effect: 'NoExecute' }] });
    assert.deepEqual(nodes.capacity()['on-demand'], { nodes: 2, schedulable: 0 });
    assert.deepEqual(nodes.poolCapacity('a')['on-demand'], { nodes: 2, schedulable: 0 });
    put(nodes, 'ondemand-1', { pool: 'a' });
    put(nodes, 'ondemand-2', { pool: 'a', taints: [{ key: 'gpu', effect: 'PreferNoSchedule' }] });
    assert.deepEqual(nodes.capacity()['on-demand'], { nodes: 2, schedulable: 2 });
  });

  it('moves a relabelled node between capacity types and pools', () => {
    const nodes = store();
    put(nodes, 'node-1', { capacity: 'on-demand', pool: 'general' });
    put(nodes, 'node-1', { capacity: 'spot', pool: 'spot-a' });
    assert.deepEqual(nodes.capacity(), { 'on-demand': { nodes: 0, schedulable: 0 }, spot: { nodes: 1, schedulable: 1 } });
    assert.deepEqual(nodes.poolCapacity('general'), { 'on-demand': { nodes: 0, schedulable: 0 }, spot: { nodes: 0, schedulable: 0 } });
    assert.equal(nodes.poolCapacity('spot-a').spot.nodes, 1);
  });

  it('forgets a deleted node, and a delete of an unknown node changes nothing', () => {
    const nodes = store();
    put(nodes, 'ondemand-1', { kubelet: 'v1.33.7' });
    put(nodes, 'ondemand-2', { kubelet: 'v1.34.4' });
    nodes.remove('ondemand-1');
    nodes.remove('never-seen');
    assert.deepEqual(nodes.capacity()['on-demand'], { nodes: 1, schedulable: 1 });
    assert.deepEqual([nodes.kubeletRange()?.min.text, nodes.kubeletRange()?.max.text], ['v1.34.4', 'v1.34.4']);
  });

  it('keeps the kubelet version range across upgrades, and can leave one node out', () => {
    const nodes = store();
    put(nodes, 'a', { kubelet: 'v1.33.7' });
    put(nodes, 'b', { kubelet: 'v1.34.4' });
    put(nodes, 'c', { kubelet: 'v1.34.4' });
    assert.deepEqual([nodes.kubeletRange()?.min.text, nodes.kubeletRange()?.max.text, nodes.kubeletRange()?.count], ['v1.33.7', 'v1.34.4', 3]);
    put(nodes, 'a', { kubelet: 'v1.34.4' });
    assert.equal(nodes.kubeletRange()?.min.text, 'v1.34.4');
    assert.equal(nodes.kubeletRange(nodes.get('a')?.kubelet)?.count, 2);
  });

  it('rebuilds the counts on a relist instead of adding to them', () => {
    const nodes = store();
    for (let i = 1; i <= 3; i++) put(nodes, `ondemand-${i}`, { pool: 'a' });
    put(nodes, 'spot-1', { capacity: 'spot', kubelet: 'v1.33.0' });
    const relisted: Array<[string, ReturnType<NodeStore['project']>[1]]> = [
      nodes.project(nodeObject('ondemand-1', { pool: 'a' })),
      nodes.project(nodeObject('ondemand-2', { pool: 'a', unschedulable: true })),
      nodes.project(nodeObject('spot-2', { capacity: 'spot', pool: 'b' })),
    ];
    nodes.replaceAll(relisted);
    assert.deepEqual(nodes.capacity(), { 'on-demand': { nodes: 2, schedulable: 1 }, spot: { nodes: 1, schedulable: 1 } });
    assert.equal(nodes.poolCapacity('a')['on-demand'].nodes, 2);
    assert.equal(nodes.kubeletRange()?.min.text, 'v1.34.4');
    assert.equal(nodes.size, 3);
  });

  it('stays equal to a full recount through a long run of random events', () => {
    const nodes = store();
    const names = Array.from({ length: 12 }, (_, i) => `node-${i}`);
    let seed = 7;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    for (let step = 0; step < 2000; step++) {
      const name = names[random(names.length)]!;
      if (random(5) === 0) {
        nodes.remove(name);
      } else {
        const options: NodeOptions = {
          capacity: (['on-demand', 'spot', 'none'] as const)[random(3)]!,
          pool: ['a', 'b'][random(2)]!,
          unschedulable: random(4) === 0,
          ...(random(5) === 0 ? { taints: [{ key: 'x', effect: random(2) === 0 ? 'NoSchedule' : 'PreferNoSchedule' }] } : {}),
        };
        const object: KubeObject = nodeObject(name, options);
        nodes.upsert(...nodes.project(object));
      }
      assert.deepEqual(summary(nodes), recount(nodes, names), `after step ${step}`);
    }
  });
});
