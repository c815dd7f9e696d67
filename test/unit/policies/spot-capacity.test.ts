import assert from 'node:assert/strict';
import type { AdmissionRequest } from '../../../src/kube/types.js';
import { ClusterState } from '../../../src/cluster/state.js';
import { buildConfig } from '../../../src/config.js';
import { INFRASTRUCTURE_GROUP } from '../../../src/cluster/machine-templates.js';
import {
  spotCapacity,
  type CriticalWorkloadContext,
  type MachineDeploymentContext,
  type NodeLossContext,
  type NodePoolContext,
} from '../../../src/policies/spot-capacity.js';
import {
  capacityRequirement,
  DEPLOYMENT,
  machineTemplateObject,
  MD,
  NODE,
  NODEPOOL,
  nodeObject,
  nodePoolObject,
  request,
  requiredAffinity,
  spotPoolObject,
  workloadObject,
  type NodeOptions,
} from '../../support/fleet.js';

const config = buildConfig();

function context(cluster: ClusterState, admission: AdmissionRequest): unknown {
  return spotCapacity.buildContext({ request: admission, cluster, config, now: new Date(0) });
}

/** The local cluster's shape: 5 on-demand nodes, 4 spot. */
function nineNodes(): ClusterState {
  const cluster = new ClusterState();
  for (let i = 1; i <= 5; i++) cluster.nodes.upsert(...cluster.nodes.project(nodeObject(`ondemand-${i}`, { pool: 'on-demand-a' })));
  for (let i = 1; i <= 4; i++) cluster.nodes.upsert(...cluster.nodes.project(nodeObject(`spot-${i}`, { capacity: 'spot', pool: 'spot-a' })));
  return cluster;
}

function nodeUpdate(name: string, before: NodeOptions, after: NodeOptions): AdmissionRequest {
  return request(NODE, 'UPDATE', nodeObject(name, after), nodeObject(name, before));
}

describe('policies/spot-capacity context', () => {
  describe('nodes', () => {
    it('cordoning an on-demand node: what remains, from the live aggregates', () => {
      const got = context(nineNodes(), nodeUpdate('ondemand-1', { pool: 'on-demand-a' }, { pool: 'on-demand-a', unschedulable: true })) as NodeLossContext;
      assert.deepEqual(got, {
        subject: 'node',
        change: 'cordon',
        node: { name: 'ondemand-1', capacityType: 'on-demand', pool: 'on-demand-a' },
        onDemand: { schedulable: 5, after: 4 },
        spot: { schedulable: 4, nodes: 4 },
        spotNodePools: [],
        schedulableAfter: 8,
        pool: { name: 'on-demand-a', onDemandAfter: 4 },
      });
    });

    it('tainting NoSchedule or NoExecute is a loss; PreferNoSchedule is not', () => {
      const tainted = context(nineNodes(), nodeUpdate('ondemand-2', {}, { taints: [{ key: 'maintenance', effect: 'NoSchedule' }] })) as NodeLossContext;
      assert.equal(tainted.change, 'taint');
      assert.equal(context(nineNodes(), nodeUpdate('ondemand-2', {}, { taints: [{ key: 'soft', effect: 'PreferNoSchedule' }] })), undefined);
    });

    it('deleting a schedulable on-demand node', () => {
      const got = context(nineNodes(), request(NODE, 'DELETE', null, nodeObject('ondemand-3', { pool: 'on-demand-a' }))) as NodeLossContext;
      assert.deepEqual([got.change, got.onDemand.after], ['delete', 4]);
    });

    it('a node the aggregates no longer count is not subtracted twice', () => {
      const cluster = nineNodes();
      cluster.nodes.upsert(...cluster.nodes.project(nodeObject('ondemand-1', { pool: 'on-demand-a', unschedulable: true })));
      // The request still sees it schedulable (the cache is ahead of the request's old object).
      const got = context(cluster, nodeUpdate('ondemand-1', { pool: 'on-demand-a' }, { pool: 'on-demand-a', unschedulable: true })) as NodeLossContext;
      assert.deepEqual(got.onDemand, { schedulable: 4, after: 4 });
    });

    it('spot nodes, already cordoned nodes, uncordons, label edits and status updates are not judged', () => {
      const cluster = nineNodes();
      assert.equal(context(cluster, nodeUpdate('spot-1', { capacity: 'spot' }, { capacity: 'spot', unschedulable: true })), undefined);
      assert.equal(context(cluster, request(NODE, 'DELETE', null, nodeObject('ondemand-1', { unschedulable: true }))), undefined);
      assert.equal(context(cluster, nodeUpdate('ondemand-1', { unschedulable: true }, {})), undefined);
      assert.equal(context(cluster, nodeUpdate('ondemand-1', {}, { labels: { team: 'a' } })), undefined);
      assert.equal(context(cluster, request(NODE, 'UPDATE', nodeObject('ondemand-1', { unschedulable: true }), nodeObject('ondemand-1'), { subResource: 'status' })), undefined);
      assert.equal(context(cluster, request(NODE, 'CREATE', nodeObject('ondemand-9'), null)), undefined);
    });

    it('counts the cordons levee allowed moments ago, until the watch shows them', () => {
      const cluster = nineNodes();
      cluster.recentDecisions.record([
        { store: 'nodes', key: 'ondemand-1', after: { schedulable: false } },
        { store: 'nodes', key: 'ondemand-2', after: null },
        // A spot node going and an on-demand node the cache no longer counts change nothing here.
        { store: 'nodes', key: 'spot-1', after: null },
        { store: 'nodes', key: 'gone', after: null },
      ]);
      const got = context(cluster, nodeUpdate('ondemand-3', { pool: 'on-demand-a' }, { pool: 'on-demand-a', unschedulable: true })) as NodeLossContext;
      assert.deepEqual(got.onDemand, { schedulable: 3, after: 2 });
      assert.deepEqual(got.spot, { schedulable: 3, nodes: 3 });
      assert.deepEqual(got.pool, { name: 'on-demand-a', onDemandAfter: 2 });
      assert.equal(got.schedulableAfter, 5);
      cluster.nodes.upsert(...cluster.nodes.project(nodeObject('ondemand-1', { pool: 'on-demand-a', unschedulable: true })));
      const again = context(cluster, nodeUpdate('ondemand-3', { pool: 'on-demand-a' }, { pool: 'on-demand-a', unschedulable: true })) as NodeLossContext;
      assert.deepEqual(again.onDemand, { schedulable: 3, after: 2 }, 'the confirmed cordon is counted once, from the cache');
    });

    it('a cordon is a change to remember; a spot node or a relabel is not', () => {
      const cluster = nineNodes();
      const changes = (admission: AdmissionRequest) => spotCapacity.pendingChanges!({ request: admission, cluster, config, now: new Date(0) });
      assert.deepEqual(changes(nodeUpdate('ondemand-1', {}, { unschedulable: true })), [{ store: 'nodes', key: 'ondemand-1', after: { schedulable: false } }]);
      assert.deepEqual(changes(request(NODE, 'DELETE', null, nodeObject('ondemand-2'))), [{ store: 'nodes', key: 'ondemand-2', after: null }]);
      assert.deepEqual(changes(nodeUpdate('spot-1', { capacity: 'spot' }, { capacity: 'spot', unschedulable: true })), []);
      assert.deepEqual(changes(nodeUpdate('ondemand-1', {}, { labels: { team: 'a' } })), []);
    });

    it('says how much spot capacity there is: spot nodes, cordoned ones too, and NodePools that can launch spot', () => {
      const cluster = new ClusterState();
      cluster.nodes.upsert(...cluster.nodes.project(nodeObject('worker-1', { capacity: 'none' })));
      cluster.nodes.upsert(...cluster.nodes.project(nodeObject('worker-2', { capacity: 'none' })));
      const alone = context(cluster, nodeUpdate('worker-1', { capacity: 'none' }, { capacity: 'none', unschedulable: true })) as NodeLossContext;
      assert.deepEqual([alone.onDemand, alone.spot, alone.spotNodePools], [{ schedulable: 2, after: 1 }, { schedulable: 0, nodes: 0 }, []]);
      cluster.nodes.upsert(...cluster.nodes.project(nodeObject('spot-1', { capacity: 'spot', unschedulable: true })));
      cluster.nodePools.upsert(...cluster.nodePools.project(nodePoolObject('default', [capacityRequirement('In', ['spot', 'on-demand'])])));
      cluster.nodePools.upsert(...cluster.nodePools.project(nodePoolObject('reserved', [capacityRequirement('In', ['reserved'])])));
      const got = context(cluster, nodeUpdate('worker-1', { capacity: 'none' }, { capacity: 'none', unschedulable: true })) as NodeLossContext;
      assert.deepEqual([got.spot, got.spotNodePools], [{ schedulable: 0, nodes: 1 }, ['default']]);
    });
  });

  describe('Karpenter NodePools', () => {
    it('a NodePool created next to others, with the ones that can launch on-demand', () => {
      const cluster = new ClusterState();
      cluster.nodePools.upsert(...cluster.nodePools.project(nodePoolObject('general', [])));
      cluster.nodePools.upsert(...cluster.nodePools.project(nodePoolObject('spot-a', [capacityRequirement('In', ['spot'])])));
      const got = context(cluster, request(NODEPOOL, 'CREATE', nodePoolObject('spot-b', [capacityRequirement('NotIn', ['on-demand'])]), null)) as NodePoolContext;
      assert.deepEqual(got, { subject: 'nodepool', pool: { name: 'spot-b', capacityTypes: ['spot'] }, others: { count: 2, onDemandCapable: ['general'] }, onDemandOutsideNodePools: 0 });
    });

    it('counts NodePool changes levee allowed moments ago: two pools turned spot at once cannot both pass', () => {
      const cluster = new ClusterState();
      for (const name of ['general', 'batch']) cluster.nodePools.upsert(...cluster.nodePools.project(nodePoolObject(name, [])));
      const toSpot = (name: string) => request(NODEPOOL, 'UPDATE', nodePoolObject(name, [capacityRequirement('In', ['spot'])]), nodePoolObject(name, []));
      const first = context(cluster, toSpot('general')) as NodePoolContext;
      assert.deepEqual(first.others.onDemandCapable, ['batch']);
      const changes = spotCapacity.pendingChanges!({ request: toSpot('general'), cluster, config, now: new Date(0) });
      assert.deepEqual(changes, [{ store: 'nodepools', key: 'general', after: { capacityTypes: ['spot'] } }]);
      cluster.recentDecisions.record(changes);
      const second = context(cluster, toSpot('batch')) as NodePoolContext;
      assert.deepEqual(second.others.onDemandCapable, []);
      const deleted = spotCapacity.pendingChanges!({ request: request(NODEPOOL, 'DELETE', null, nodePoolObject('batch', [])), cluster, config, now: new Date(0) });
      assert.deepEqual(deleted, [{ store: 'nodepools', key: 'batch', after: null }]);
      const relaxed = spotCapacity.pendingChanges!({ request: request(NODEPOOL, 'UPDATE', nodePoolObject('batch', []), nodePoolObject('batch', [capacityRequirement('In', ['spot'])])), cluster, config, now: new Date(0) });
      assert.deepEqual(relaxed, []);
    });

    it('counts the schedulable on-demand nodes Karpenter did not launch', () => {
      const cluster = new ClusterState();
      cluster.nodes.upsert(...cluster.nodes.project(nodeObject('group-1', { labels: { 'eks.amazonaws.com/nodegroup': 'system' } })));
      cluster.nodes.upsert(...cluster.nodes.project(nodeObject('group-2', { labels: { 'eks.amazonaws.com/nodegroup': 'system' } })));
      cluster.nodes.upsert(...cluster.nodes.project(nodeObject('group-3', { labels: { 'eks.amazonaws.com/nodegroup': 'system' }, unschedulable: true })));
      cluster.nodes.upsert(...cluster.nodes.project(nodeObject('karpenter-1', { pool: 'general' })));
      cluster.recentDecisions.record([{ store: 'nodes', key: 'group-2', after: { schedulable: false } }]);
      const got = context(cluster, request(NODEPOOL, 'CREATE', nodePoolObject('spot', [capacityRequirement('In', ['spot'])]), null)) as NodePoolContext;
      assert.equal(got.onDemandOutsideNodePools, 1);
    });

    it('an update leaves the NodePool itself out of the others and says what it allowed before', () => {
      const cluster = new ClusterState();
      cluster.nodePools.upsert(...cluster.nodePools.project(nodePoolObject('general', [])));
      const got = context(cluster, request(NODEPOOL, 'UPDATE', nodePoolObject('general', [capacityRequirement('In', ['spot'])]), nodePoolObject('general', []))) as NodePoolContext;
      assert.deepEqual(got.pool, { name: 'general', capacityTypes: ['spot'], previousCapacityTypes: ['on-demand'] });
      assert.deepEqual(got.others, { count: 0, onDemandCapable: [] });
    });

    it('a delete allows nothing any more', () => {
      const cluster = new ClusterState();
      cluster.nodePools.upsert(...cluster.nodePools.project(nodePoolObject('general', [])));
      const got = context(cluster, request(NODEPOOL, 'DELETE', null, nodePoolObject('general', []))) as NodePoolContext;
      assert.deepEqual(got.pool, { name: 'general', capacityTypes: [], previousCapacityTypes: ['on-demand'] });
    });
  });

  describe('Cluster API MachineDeployments', () => {
    const SPOT = { kind: 'AWSMachineTemplate', name: 'workers-spot' };
    const ON_DEMAND = { kind: 'AWSMachineTemplate', name: 'workers' };

    /** Workload cluster `prod` with the given MachineDeployments cached, and both templates. */
    function capi(pools: Record<string, typeof SPOT>): ClusterState {
      const cluster = new ClusterState();
      for (const [kind, name, spec] of [
        ['AWSMachineTemplate', 'workers-spot', { spotMarketOptions: { maxPrice: '0.05' } }],
        ['AWSMachineTemplate', 'workers', {}],
      ] as const) {
        cluster.machineTemplates.upsert(...cluster.machineTemplates.project(machineTemplateObject(kind, name, spec), INFRASTRUCTURE_GROUP)!);
      }
      for (const [name, template] of Object.entries(pools)) cluster.machineDeployments.upsert(...cluster.machineDeployments.project(spotPoolObject(name, template)));
      cluster.machineDeployments.upsert(...cluster.machineDeployments.project(spotPoolObject('elsewhere', ON_DEMAND, { cluster: 'staging' })));
      return cluster;
    }

    it('a spot MachineDeployment is judged against the other MachineDeployments of its workload cluster only', () => {
      const got = context(capi({ 'md-spot-a': SPOT }), request(MD, 'CREATE', spotPoolObject('md-spot-b', SPOT), null)) as MachineDeploymentContext;
      assert.deepEqual(got, {
        subject: 'machinedeployment',
        pool: { namespace: 'capi', name: 'md-spot-b', cluster: 'prod', capacityTypes: ['spot'], template: 'AWSMachineTemplate/workers-spot', spotField: 'spotMarketOptions' },
        others: { count: 1, onDemandCapable: [] },
      });
    });

    it('switching to a spot template: before and after, and the on-demand MachineDeployments that remain', () => {
      const cluster = capi({ 'md-0': ON_DEMAND, 'md-1': ON_DEMAND, 'md-spot': SPOT });
      const got = context(cluster, request(MD, 'UPDATE', spotPoolObject('md-0', SPOT), spotPoolObject('md-0', ON_DEMAND))) as MachineDeploymentContext;
      assert.deepEqual([got.pool.capacityTypes, got.pool.previousCapacityTypes, got.others], [['spot'], ['on-demand'], { count: 2, onDemandCapable: ['md-1'] }]);
    });

    it('deleting: what the MachineDeployment was, and nothing now', () => {
      const got = context(capi({ 'md-0': ON_DEMAND, 'md-spot': SPOT }), request(MD, 'DELETE', null, spotPoolObject('md-0', ON_DEMAND))) as MachineDeploymentContext;
      assert.deepEqual([got.pool.capacityTypes, got.pool.previousCapacityTypes, got.pool.template, got.others.count], [[], ['on-demand'], 'AWSMachineTemplate/workers', 1]);
    });

    it('a template not cached yet is unknown, for the judged MachineDeployment and for the others', () => {
      const cluster = capi({ 'md-new': { kind: 'AWSMachineTemplate', name: 'not-yet' } });
      const got = context(cluster, request(MD, 'CREATE', spotPoolObject('md-other', { kind: 'AWSMachineTemplate', name: 'also-not-yet' }), null)) as MachineDeploymentContext;
      assert.deepEqual([got.pool.capacityTypes, got.others.onDemandCapable], [['unknown'], ['md-new']]);
    });

    it('takes the namespace from the request when the object leaves it out', () => {
      const object = spotPoolObject('md-spot', SPOT);
      const { namespace: _dropped, ...metadata } = object.metadata!;
      const got = context(capi({}), request(MD, 'CREATE', { ...object, metadata }, null, { namespace: 'capi' })) as MachineDeploymentContext;
      assert.deepEqual([got.pool.namespace, got.pool.capacityTypes], ['capi', ['spot']]);
    });
  });

  describe('critical workloads', () => {
    const critical = { labels: { 'levee.dev/critical': 'true' } };

    it('a critical Deployment pinned to spot by nodeSelector', () => {
      const got = context(new ClusterState(), request(DEPLOYMENT, 'CREATE', workloadObject('ledger', { ...critical, nodeSelector: { 'karpenter.sh/capacity-type': 'spot' } }), null)) as CriticalWorkloadContext;
      assert.deepEqual(got, {
        subject: 'workload',
        workload: { kind: 'Deployment', namespace: 'payments', name: 'ledger' },
        critical: true,
        criticalBecause: 'label levee.dev/critical=true',
        canRunOnDemand: false,
        pinnedBy: 'nodeSelector karpenter.sh/capacity-type=spot',
      });
    });

    it('critical by priority class, pinned by required affinity, compared with what it was', () => {
      const pinned = workloadObject('dns', { priorityClassName: 'system-cluster-critical', affinity: requiredAffinity([capacityRequirement('In', ['spot'])]) });
      const got = context(new ClusterState(), request(DEPLOYMENT, 'UPDATE', pinned, workloadObject('dns', { priorityClassName: 'system-cluster-critical' }))) as CriticalWorkloadContext;
      assert.deepEqual([got.criticalBecause, got.canRunOnDemand, got.before], ['priorityClassName system-cluster-critical', false, { critical: true, canRunOnDemand: true }]);
    });

    it('critical by namespace when configured', () => {
      const byNamespace = buildConfig({ policies: { 'spot-capacity': { critical: { namespaces: ['payments'] } } } });
      const got = spotCapacity.buildContext({ request: request(DEPLOYMENT, 'CREATE', workloadObject('ledger'), null), cluster: new ClusterState(), config: byNamespace, now: new Date(0) }) as CriticalWorkloadContext;
      assert.equal(got.criticalBecause, 'namespace payments');
    });

    it('workloads that are not critical, and objects a controller made, are not judged', () => {
      assert.equal(context(new ClusterState(), request(DEPLOYMENT, 'CREATE', workloadObject('batch', { nodeSelector: { 'karpenter.sh/capacity-type': 'spot' } }), null)), undefined);
      const owned = workloadObject('ledger-abc', { ...critical, kind: 'ReplicaSet', controller: true, nodeSelector: { 'karpenter.sh/capacity-type': 'spot' } });
      assert.equal(context(new ClusterState(), request({ ...DEPLOYMENT, kind: 'ReplicaSet', resource: 'replicasets' }, 'CREATE', owned, null)), undefined);
    });
  });
});
