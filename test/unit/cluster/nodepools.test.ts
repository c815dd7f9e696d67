import assert from 'node:assert/strict';
import { canGiveOnDemand, nodePoolCapacityTypes, NodePoolStore } from '../../../src/cluster/nodepools.js';
import { capacityRequirement, nodePoolObject } from '../../support/fleet.js';

describe('cluster/nodepools', () => {
  const cases: Array<[string, Array<ReturnType<typeof capacityRequirement>>, string[]]> = [
    ['no capacity-type requirement: on-demand, the AWS provider default', [], ['on-demand']],
    ['In [spot]', [capacityRequirement('In', ['spot'])], ['spot']],
    ['In [spot, on-demand]', [capacityRequirement('In', ['spot', 'on-demand'])], ['on-demand', 'spot']],
    ['In [reserved]', [capacityRequirement('In', ['reserved'])], ['reserved']],
    ['NotIn [on-demand]: spot only (reserved needs a reservation levee cannot see)', [capacityRequirement('NotIn', ['on-demand'])], ['spot']],
    ['NotIn [spot]', [capacityRequirement('NotIn', ['spot'])], ['on-demand']],
    ['Exists', [capacityRequirement('Exists')], ['on-demand', 'spot']],
    ['DoesNotExist: nothing Karpenter launches matches', [capacityRequirement('DoesNotExist')], []],
    ['In then NotIn intersect', [capacityRequirement('In', ['spot', 'on-demand']), capacityRequirement('NotIn', ['on-demand'])], ['spot']],
    ['NotIn then In intersect', [capacityRequirement('NotIn', ['spot']), capacityRequirement('In', ['spot', 'reserved'])], ['reserved']],
  ];
  for (const [what, requirements, expected] of cases) {
    it(what, () => assert.deepEqual(nodePoolCapacityTypes(nodePoolObject('pool', requirements)), expected));
  }

  it('ignores requirements on other keys', () => {
    const pool = nodePoolObject('pool', [{ key: 'karpenter.k8s.aws/instance-category', operator: 'In', values: ['c', 'm'] }]);
    assert.deepEqual(nodePoolCapacityTypes(pool), ['on-demand']);
  });

  it('anything but spot counts as on-demand capacity', () => {
    assert.equal(canGiveOnDemand(['spot']), false);
    assert.equal(canGiveOnDemand([]), false);
    assert.equal(canGiveOnDemand(['reserved']), true);
    assert.equal(canGiveOnDemand(['on-demand', 'spot']), true);
  });

  it('indexes NodePools by whether they can launch on-demand, following updates and deletes', () => {
    const pools = new NodePoolStore();
    pools.upsert(...pools.project(nodePoolObject('general', [])));
    pools.upsert(...pools.project(nodePoolObject('spot', [capacityRequirement('In', ['spot'])])));
    assert.deepEqual(pools.onDemandCapable().map((pool) => pool.name), ['general']);
    pools.upsert(...pools.project(nodePoolObject('general', [capacityRequirement('In', ['spot'])])));
    assert.deepEqual(pools.onDemandCapable(), []);
    pools.upsert(...pools.project(nodePoolObject('spot', [capacityRequirement('In', ['spot', 'on-demand'])])));
    assert.deepEqual(pools.onDemandCapable().map((pool) => pool.name), ['spot']);
    pools.remove('spot');
    assert.deepEqual(pools.onDemandCapable(), []);
    pools.clear();
    assert.equal(pools.size, 0);
  });
});
