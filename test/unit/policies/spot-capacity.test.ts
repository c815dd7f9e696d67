import assert from 'node:assert/strict';
import type { AdmissionRequest, KubeObject } from '../../../src/kube/types.js';
import { ClusterState } from '../../../src/cluster/state.js';
import { buildConfig } from '../../../src/config.js';
import {
  spotCapacity,
  type CriticalWorkloadContext,
  type WorkloadClusterContext,
  type NodeLossContext,
  type NodePoolContext,
} from '../../../src/policies/spot-capacity.js';
import {
  capacityRequirement,
  CLUSTER,
  CLUSTER_CLASS,
  clusterClassObject,
  clusterObject,
  DEPLOYMENT,
  infrastructureKind,
  infrastructureObject,
  machinePoolObject,
  machineTemplateObject,
  MD,
  scaleRequest,
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
import { contextOf } from '../../support/review-corpus.js';
import { addWorkload } from '../../support/cluster.js';

const config = buildConfig();

function context(cluster: ClusterState, admission: AdmissionRequest): unknown {
  return contextOf(spotCapacity, { request: admission, cluster, config, now: new Date(0) });
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

    it('a node that takes no pods before the update loses nothing: the node lifecycle controller\'s taint after a cordon, its removal, the uncordon', () => {
      const cluster = nineNodes();
      const controllerTaint = { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' };
      assert.equal(context(cluster, nodeUpdate('ondemand-1', { unschedulable: true }, { unschedulable: true, taints: [controllerTaint] })), undefined);
      assert.equal(context(cluster, nodeUpdate('ondemand-1', { unschedulable: true, taints: [controllerTaint] }, { taints: [controllerTaint] })), undefined);
      assert.equal(context(cluster, nodeUpdate('ondemand-1', { taints: [controllerTaint] }, {})), undefined);
      const draining = { key: 'maintenance', effect: 'NoExecute' };
      assert.equal(context(cluster, nodeUpdate('ondemand-2', { taints: [draining] }, { capacity: 'spot', unschedulable: true, taints: [draining] })), undefined);
    });

    it('a node with a PreferNoSchedule taint still takes pods: cordoning, tainting or relabelling it is judged', () => {
      const cluster = nineNodes();
      const soft = { key: 'soft', effect: 'PreferNoSchedule' };
      const cordoned = context(cluster, nodeUpdate('ondemand-1', { taints: [soft] }, { taints: [soft], unschedulable: true })) as NodeLossContext;
      assert.equal(cordoned.change, 'cordon');
      const tainted = context(cluster, nodeUpdate('ondemand-1', { taints: [soft] }, { taints: [soft, { key: 'gpu', effect: 'NoExecute' }] })) as NodeLossContext;
      assert.equal(tainted.change, 'taint');
      const relabelled = context(cluster, nodeUpdate('ondemand-1', { taints: [soft] }, { taints: [soft], capacity: 'spot' })) as NodeLossContext;
      assert.equal(relabelled.change, 'relabel');
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

    it('relabelling an on-demand node as spot is a loss to the count, remembered as such', () => {
      const cluster = nineNodes();
      const relabel = nodeUpdate('ondemand-1', { pool: 'on-demand-a' }, { pool: 'on-demand-a', capacity: 'spot' });
      const got = context(cluster, relabel) as NodeLossContext;
      assert.deepEqual([got.change, got.onDemand, got.spot], ['relabel', { schedulable: 5, after: 4 }, { schedulable: 5, nodes: 5 }]);
      const changes = spotCapacity.pendingChanges!({ request: relabel, cluster, config, now: new Date(0) });
      assert.deepEqual(changes, [{ store: 'nodes', key: 'ondemand-1', after: { capacityType: 'spot' } }]);
      cluster.recentDecisions.record(changes);
      const next = context(cluster, nodeUpdate('ondemand-2', { pool: 'on-demand-a' }, { pool: 'on-demand-a', unschedulable: true })) as NodeLossContext;
      assert.deepEqual(next.onDemand, { schedulable: 4, after: 3 });
    });

    it('a cordon is a change to remember; a spot node or a relabel is not', () => {
      const cluster = nineNodes();
      const changes = (admission: AdmissionRequest) => spotCapacity.pendingChanges!({ request: admission, cluster, config, now: new Date(0) });
      assert.deepEqual(changes(nodeUpdate('ondemand-1', {}, { unschedulable: true })), [{ store: 'nodes', key: 'ondemand-1', after: { schedulable: false } }]);
      assert.deepEqual(changes(request(NODE, 'DELETE', null, nodeObject('ondemand-2'))), [{ store: 'nodes', key: 'ondemand-2', after: null }]);
      assert.deepEqual(changes(nodeUpdate('spot-1', { capacity: 'spot' }, { capacity: 'spot', unschedulable: true })), []);
      assert.deepEqual(changes(nodeUpdate('ondemand-1', {}, { labels: { team: 'a' } })), []);
      assert.deepEqual(changes(nodeUpdate('ondemand-1', {}, { capacity: 'none' })), [], 'removing the label leaves it on-demand');
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

  describe('Cluster API workload clusters', () => {
    const SPOT = { kind: 'AWSMachineTemplate', name: 'workers-spot' };
    const ON_DEMAND = { kind: 'AWSMachineTemplate', name: 'workers' };
    const put = (cluster: ClusterState, object: KubeObject) => {
      const group = object.apiVersion?.split('/')[0] ?? '';
      if (object.kind === 'MachineDeployment' || object.kind === 'MachinePool') cluster.workerPools.upsert(...cluster.workerPools.project(object));
      else if (object.kind === 'Cluster') cluster.clusters.upsert(...cluster.clusters.project(object));
      else if (object.kind === 'ClusterClass') cluster.clusterClasses.upsert(...cluster.clusterClasses.project(object));
      else cluster.infrastructure.upsert(...cluster.infrastructure.project(object, group)!);
    };

    /** Workload cluster `prod` with both templates and the given pools cached, and an on-demand pool of another cluster. */
    function capi(...objects: KubeObject[]): ClusterState {
      const cluster = new ClusterState();
      put(cluster, machineTemplateObject('AWSMachineTemplate', 'workers-spot', { spotMarketOptions: { maxPrice: '0.05' } }));
      put(cluster, machineTemplateObject('AWSMachineTemplate', 'workers', {}));
      put(cluster, spotPoolObject('elsewhere', ON_DEMAND, { cluster: 'staging' }));
      for (const object of objects) put(cluster, object);
      return cluster;
    }
    const workers = (cluster: ClusterState, admission: AdmissionRequest) => context(cluster, admission) as WorkloadClusterContext;
    const changes = (cluster: ClusterState, admission: AdmissionRequest) => spotCapacity.pendingChanges!({ request: admission, cluster, config, now: new Date(0) });
    const tallies = (got: WorkloadClusterContext) => got.clusters.map((c) => [`${c.namespace}/${c.name}`, c.before, c.after]);
    const T = (onDemand: number, spot: number, unknown = 0) => ({ onDemand, spot, unknown });

    it('a spot MachineDeployment is judged by the replicas of its own workload cluster only', () => {
      const got = workers(capi(spotPoolObject('md-spot-a', SPOT)), request(MD, 'CREATE', spotPoolObject('md-spot-b', SPOT), null));
      assert.deepEqual(got, {
        subject: 'workload-cluster',
        change: 'creating MachineDeployment capi/md-spot-b',
        createsPools: true,
        unknownHere: [],
        clusters: [
          {
            namespace: 'capi',
            name: 'prod',
            deleting: false,
            gone: true,
            before: T(0, 3),
            after: T(0, 6),
            spotPools: ['MachineDeployment md-spot-a (AWSMachineTemplate/workers-spot sets spotMarketOptions): 3 replica(s)', 'MachineDeployment md-spot-b (AWSMachineTemplate/workers-spot sets spotMarketOptions): 3 replica(s)'],
            unknownPools: [],
          },
        ],
      });
    });

    it('scaling the on-demand MachineDeployment to 0 through its scale subresource (the Scale omits replicas at 0)', () => {
      const cluster = capi(spotPoolObject('md-0', ON_DEMAND), spotPoolObject('md-spot', SPOT));
      const got = workers(cluster, scaleRequest('machinedeployments', 'md-0', 3, 0));
      assert.equal(got.change, 'scaling MachineDeployment capi/md-0 from 3 to 0 replica(s)');
      assert.deepEqual(tallies(got), [['capi/prod', T(3, 3), T(0, 3)]]);
      assert.deepEqual(changes(cluster, scaleRequest('machinedeployments', 'md-0', 3, 0)), [{ store: 'workerpools', key: 'MachineDeployment/capi/md-0', after: { replicas: 0 } }]);
      assert.deepEqual(changes(cluster, scaleRequest('machinedeployments', 'md-0', 3, 5)), [], 'a scale-up is no change to remember');
    });

    it('scaling an on-demand MachinePool to 0 through its scale subresource, beside a spot MachineDeployment', () => {
      const cluster = capi(
        infrastructureObject('AWSManagedMachinePool', 'mp-0', { capacityType: 'onDemand' }),
        machinePoolObject('mp-0', { kind: 'AWSManagedMachinePool', name: 'mp-0' }),
        spotPoolObject('md-spot', SPOT),
      );
      const got = workers(cluster, scaleRequest('machinepools', 'mp-0', 2, 0));
      assert.equal(got.change, 'scaling MachinePool capi/mp-0 from 2 to 0 replica(s)');
      assert.deepEqual(tallies(got), [['capi/prod', T(2, 3), T(0, 3)]]);
      assert.deepEqual(changes(cluster, scaleRequest('machinepools', 'mp-0', 2, 0)), [{ store: 'workerpools', key: 'MachinePool/capi/mp-0', after: { replicas: 0 } }]);
    });

    it('a pool relabelled into another workload cluster is judged for the cluster it leaves too', () => {
      const cluster = capi(spotPoolObject('md-0', ON_DEMAND), spotPoolObject('md-spot', SPOT));
      const moved = spotPoolObject('md-0', ON_DEMAND);
      moved.metadata = { ...moved.metadata, labels: { 'cluster.x-k8s.io/cluster-name': 'staging' } };
      const got = workers(cluster, request(MD, 'UPDATE', moved, spotPoolObject('md-0', ON_DEMAND)));
      assert.deepEqual(tallies(got), [['capi/prod', T(3, 3), T(0, 3)], ['capi/staging', T(3, 0), T(6, 0)]]);
    });

    it('patching or applying replicas to 0, or removing them (defaulted to 1)', () => {
      const cluster = capi(spotPoolObject('md-0', ON_DEMAND), spotPoolObject('md-spot', SPOT));
      const zero = spotPoolObject('md-0', ON_DEMAND);
      (zero.spec as { replicas: unknown }).replicas = 0;
      assert.deepEqual(tallies(workers(cluster, request(MD, 'UPDATE', zero, spotPoolObject('md-0', ON_DEMAND)))), [['capi/prod', T(3, 3), T(0, 3)]]);
      (zero.spec as { replicas: unknown }).replicas = null;
      assert.deepEqual(tallies(workers(cluster, request(MD, 'UPDATE', zero, spotPoolObject('md-0', ON_DEMAND)))), [['capi/prod', T(3, 3), T(1, 3)]]);
    });

    it('a MachinePool counts by its infrastructure machine pool: an on-demand one keeps a spot MachineDeployment company', () => {
      const cluster = capi(
        infrastructureObject('AWSManagedMachinePool', 'mp-0', { capacityType: 'onDemand' }),
        machinePoolObject('mp-0', { kind: 'AWSManagedMachinePool', name: 'mp-0' }),
      );
      assert.deepEqual(tallies(workers(cluster, request(MD, 'CREATE', spotPoolObject('md-spot', SPOT), null))), [['capi/prod', T(2, 0), T(2, 3)]]);
      const toSpot = request(infrastructureKind('AWSManagedMachinePool'), 'UPDATE', infrastructureObject('AWSManagedMachinePool', 'mp-0', { capacityType: 'spot' }), infrastructureObject('AWSManagedMachinePool', 'mp-0', { capacityType: 'onDemand' }));
      const got = workers(cluster, toSpot);
      assert.equal(got.change, 'changing AWSManagedMachinePool capi/mp-0, which sets capacityType: spot,');
      assert.deepEqual(tallies(got), [['capi/prod', T(2, 0), T(0, 2)]]);
      assert.deepEqual(changes(cluster, toSpot), [{ store: 'infrastructure', key: 'AWSManagedMachinePool/capi/mp-0', after: { kind: 'AWSManagedMachinePool', namespace: 'capi', name: 'mp-0', spotField: 'capacityType: spot' } }]);
    });

    it('a pool whose template is not cached yet counts as on-demand and says so; the template, when it comes, is judged', () => {
      const cluster = capi(spotPoolObject('md-0', { kind: 'AWSMachineTemplate', name: 'later' }));
      const created = workers(cluster, request(MD, 'CREATE', spotPoolObject('md-1', { kind: 'AWSMachineTemplate', name: 'later' }), null));
      assert.deepEqual(created.unknownHere, ['MachineDeployment md-1 (AWSMachineTemplate/later is not known to levee (yet)): 3 replica(s)']);
      assert.deepEqual(tallies(created), [['capi/prod', T(3, 0, 3), T(6, 0, 6)]]);
      const template = request(infrastructureKind('AWSMachineTemplate'), 'CREATE', machineTemplateObject('AWSMachineTemplate', 'later', { spotMarketOptions: {} }), null);
      const got = workers(cluster, template);
      assert.equal(got.change, 'creating AWSMachineTemplate capi/later, which sets spotMarketOptions,');
      assert.deepEqual(tallies(got), [['capi/prod', T(3, 0, 3), T(0, 3)]]);
      assert.equal(context(capi(), template), undefined, 'a template no pool uses changes no cluster');
    });

    it('a provider kind levee does not read is unknown, with why', () => {
      const got = workers(capi(), request(MD, 'CREATE', spotPoolObject('md-0', { kind: 'VSphereMachineTemplate', name: 'x' }), null));
      assert.deepEqual(got.unknownHere, ['MachineDeployment md-0 (levee does not read VSphereMachineTemplate.infrastructure.cluster.x-k8s.io): 3 replica(s)']);
    });

    it('a ClusterClass topology: each pool made from its class template, with the topology replicas', () => {
      const cluster = capi(clusterClassObject('aws', { machineDeployments: { 'on-demand': ON_DEMAND, spot: SPOT } }));
      const topology = clusterObject('prod', { topology: { class: 'aws', machineDeployments: [{ name: 'md-0', class: 'on-demand', replicas: 2 }, { name: 'md-spot', class: 'spot', replicas: 4 }] } });
      assert.deepEqual(tallies(workers(cluster, request(CLUSTER, 'CREATE', topology, null))), [['capi/prod', T(0, 0), T(2, 4)]]);
      const spotOnly = clusterObject('prod', { topology: { class: 'aws', machineDeployments: [{ name: 'md-0', class: 'on-demand', replicas: 0 }, { name: 'md-spot', class: 'spot', replicas: 4 }] } });
      const got = workers(cluster, request(CLUSTER, 'UPDATE', spotOnly, topology));
      assert.equal(got.change, 'changing the topology of Cluster capi/prod');
      assert.deepEqual(tallies(got), [['capi/prod', T(2, 4), T(0, 4)]]);
      assert.deepEqual(got.clusters[0]!.spotPools, ['topology MachineDeployment md-spot (AWSMachineTemplate/workers-spot sets spotMarketOptions): 4 replica(s)']);
    });

    it('a pool the topology controller made stands for its topology entry, never twice', () => {
      const made = spotPoolObject('prod-md-0-x7k2p', ON_DEMAND);
      made.metadata = { ...made.metadata, labels: { 'topology.cluster.x-k8s.io/deployment-name': 'md-0' } };
      const topology = clusterObject('prod', { topology: { class: 'aws', machineDeployments: [{ name: 'md-0', class: 'on-demand' }] } });
      const cluster = capi(clusterClassObject('aws', { machineDeployments: { 'on-demand': ON_DEMAND } }), topology, made);
      // The topology leaves replicas alone: the pool's own count is what the cluster has; scaling it is judged.
      const got = workers(cluster, scaleRequest('machinedeployments', 'prod-md-0-x7k2p', 3, 0));
      assert.deepEqual(tallies(got), [['capi/prod', T(3, 0), T(0, 0)]]);
    });

    it("deleting the topology's on-demand pool by hand leaves its entry without machines until the topology controller makes it again", () => {
      const madeBy = (name: string, entry: string, template: typeof ON_DEMAND) => {
        const pool = spotPoolObject(name, template);
        pool.metadata = { ...pool.metadata, labels: { ...pool.metadata?.labels, 'topology.cluster.x-k8s.io/deployment-name': entry } };
        return pool;
      };
      const topology = clusterObject('prod', { topology: { class: 'aws', machineDeployments: [{ name: 'md-0', class: 'on-demand' }, { name: 'md-spot', class: 'spot' }] } });
      const onDemand = madeBy('prod-md-0-x7k2p', 'md-0', ON_DEMAND);
      const cluster = capi(clusterClassObject('aws', { machineDeployments: { 'on-demand': ON_DEMAND, spot: SPOT } }), topology, onDemand, madeBy('prod-md-spot-q8r1z', 'md-spot', SPOT));
      assert.deepEqual(tallies(workers(cluster, request(MD, 'DELETE', null, onDemand))), [['capi/prod', T(3, 3), T(0, 3)]]);

      // Already being deleted (its Machines draining): a scale of the spot pool meanwhile sees no on-demand machines either.
      const deleting = madeBy('prod-md-0-x7k2p', 'md-0', ON_DEMAND);
      deleting.metadata = { ...deleting.metadata, deletionTimestamp: '2026-11-30T07:00:00Z' };
      const draining = capi(clusterClassObject('aws', { machineDeployments: { 'on-demand': ON_DEMAND, spot: SPOT } }), topology, deleting, madeBy('prod-md-spot-q8r1z', 'md-spot', SPOT));
      assert.deepEqual(tallies(workers(draining, scaleRequest('machinedeployments', 'prod-md-spot-q8r1z', 3, 4))), [['capi/prod', T(0, 3), T(0, 4)]]);
    });

    it('a ClusterClass whose worker class is switched to a spot template is judged for every cluster built from it', () => {
      const before = clusterClassObject('aws', { machineDeployments: { default: ON_DEMAND } });
      const cluster = capi(
        before,
        clusterObject('prod', { topology: { class: 'aws', machineDeployments: [{ name: 'md-0', class: 'default', replicas: 3 }] } }),
        clusterObject('staging', { topology: { class: 'aws', machineDeployments: [{ name: 'md-0', class: 'default', replicas: 1 }] } }),
      );
      const got = workers(cluster, request(CLUSTER_CLASS, 'UPDATE', clusterClassObject('aws', { machineDeployments: { default: SPOT } }), before));
      // staging also has MachineDeployment elsewhere (on-demand, 3 replicas) outside its topology.
      assert.deepEqual(tallies(got).sort(), [
        ['capi/prod', T(3, 0), T(0, 3)],
        ['capi/staging', T(4, 0), T(3, 1)],
      ]);
    });

    it('a class levee has not seen makes the topology pools unknown, and the Cluster says so', () => {
      const got = workers(capi(), request(CLUSTER, 'CREATE', clusterObject('prod', { topology: { class: 'missing', machineDeployments: [{ name: 'md-0', class: 'x', replicas: 2 }] } }), null));
      assert.deepEqual(got.unknownHere, ['topology MachineDeployment md-0 (ClusterClass missing is not known to levee (yet)): 2 replica(s)']);
    });

    it('a Cluster being deleted says so; a Cluster without topology is no capacity change', () => {
      const cluster = capi(clusterObject('prod', { deleting: true }), spotPoolObject('md-0', ON_DEMAND), spotPoolObject('md-spot', SPOT));
      assert.equal(workers(cluster, request(MD, 'DELETE', null, spotPoolObject('md-0', ON_DEMAND))).clusters[0]!.deleting, true);
      assert.equal(context(cluster, request(CLUSTER, 'UPDATE', clusterObject('prod', { controlPlane: { kind: 'KubeadmControlPlane', name: 'cp' } }), clusterObject('prod'))), undefined);
    });

    it('parallel decisions: a scale to 0 levee allowed moments ago is counted before the watch shows it', () => {
      const cluster = capi(spotPoolObject('md-0', ON_DEMAND), spotPoolObject('md-1', ON_DEMAND), spotPoolObject('md-spot', SPOT));
      cluster.recentDecisions.record(changes(cluster, scaleRequest('machinedeployments', 'md-0', 3, 0)));
      assert.deepEqual(tallies(workers(cluster, scaleRequest('machinedeployments', 'md-1', 3, 0))), [['capi/prod', T(3, 3), T(0, 3)]]);
      // A new spot pool allowed moments ago counts too, before the watch shows it.
      const spotPool = request(MD, 'CREATE', spotPoolObject('md-spot-2', SPOT), null);
      cluster.recentDecisions.record(changes(cluster, spotPool));
      assert.deepEqual(tallies(workers(cluster, scaleRequest('machinedeployments', 'md-1', 3, 0))), [['capi/prod', T(3, 6), T(0, 6)]]);
      // Taking spot capacity away is no change to remember.
      assert.deepEqual(changes(cluster, request(MD, 'DELETE', null, spotPoolObject('md-spot', SPOT))), []);
    });

    it('takes the namespace from the request when the object leaves it out; status and other subresources are not judged', () => {
      const object = spotPoolObject('md-spot', SPOT);
      const { namespace: _dropped, ...metadata } = object.metadata!;
      const got = workers(capi(), request(MD, 'CREATE', { ...object, metadata }, null, { namespace: 'capi' }));
      assert.deepEqual(tallies(got), [['capi/prod', T(0, 0), T(0, 3)]]);
      assert.equal(context(capi(spotPoolObject('md-0', ON_DEMAND)), request(MD, 'UPDATE', spotPoolObject('md-0', SPOT), spotPoolObject('md-0', ON_DEMAND), { subResource: 'status' })), undefined);
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
      const got = contextOf(spotCapacity, { request: request(DEPLOYMENT, 'CREATE', workloadObject('ledger'), null), cluster: new ClusterState(), config: byNamespace, now: new Date(0) }) as CriticalWorkloadContext;
      assert.equal(got.criticalBecause, 'namespace payments');
    });

    it('labelling a workload pinned to spot critical, with its pod template unchanged, is judged', () => {
      const pinned = { nodeSelector: { 'karpenter.sh/capacity-type': 'spot' } };
      const got = context(new ClusterState(), request(DEPLOYMENT, 'UPDATE', workloadObject('ledger', { ...critical, ...pinned }), workloadObject('ledger', pinned))) as CriticalWorkloadContext;
      assert.deepEqual([got.critical, got.canRunOnDemand, got.before], [true, false, { critical: false, canRunOnDemand: false }]);
    });

    it('the same for a bare Pod, and for a Deployment in kube-system', () => {
      const spot = { 'karpenter.sh/capacity-type': 'spot' };
      const pod = (labels: Record<string, string>) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'debug', namespace: 'payments', labels }, spec: { nodeSelector: spot, containers: [{ name: 'sh', image: 'busybox' }] } });
      const POD = { group: '', version: 'v1', kind: 'Pod', resource: 'pods' };
      const bare = context(new ClusterState(), request(POD, 'UPDATE', pod({ 'levee.dev/critical': 'true' }), pod({}))) as CriticalWorkloadContext;
      assert.deepEqual([bare.critical, bare.canRunOnDemand, bare.before?.critical], [true, false, false]);
      const addon = (labels: Record<string, string>) => workloadObject('metrics-server', { labels, namespace: 'kube-system', nodeSelector: spot });
      const relabelled = context(new ClusterState(), request(DEPLOYMENT, 'UPDATE', addon({ 'levee.dev/critical': 'true' }), addon({}))) as CriticalWorkloadContext;
      assert.deepEqual([relabelled.workload.namespace, relabelled.critical, relabelled.before?.critical], ['kube-system', true, false]);
    });

    it('workloads that are not critical, and objects their controller made, are not judged', () => {
      assert.equal(context(new ClusterState(), request(DEPLOYMENT, 'CREATE', workloadObject('batch', { nodeSelector: { 'karpenter.sh/capacity-type': 'spot' } }), null)), undefined);
      const owned = workloadObject('ledger-abc', { ...critical, kind: 'ReplicaSet', controller: true, nodeSelector: { 'karpenter.sh/capacity-type': 'spot' } });
      // Its controller reference names Deployment `owner` (uid-owner), cached with that uid.
      const cluster = new ClusterState();
      addWorkload(cluster, { ...workloadObject('owner'), metadata: { name: 'owner', namespace: 'payments', uid: 'uid-owner' } });
      assert.equal(context(cluster, request({ ...DEPLOYMENT, kind: 'ReplicaSet', resource: 'replicasets' }, 'CREATE', owned, null)), undefined);
    });

    it('judges an object whose controller reference levee cannot confirm: an owner not cached, of another uid, or of a kind that makes no such object', () => {
      const spot = { 'karpenter.sh/capacity-type': 'spot' };
      const RS = { ...DEPLOYMENT, kind: 'ReplicaSet', resource: 'replicasets' };
      const owned = workloadObject('ledger-abc', { ...critical, kind: 'ReplicaSet', controller: true, nodeSelector: spot });
      // Not cached at all, then cached with another uid.
      assert.equal((context(new ClusterState(), request(RS, 'CREATE', owned, null)) as CriticalWorkloadContext).canRunOnDemand, false);
      const otherUid = new ClusterState();
      addWorkload(otherUid, { ...workloadObject('owner'), metadata: { name: 'owner', namespace: 'payments', uid: 'uid-another' } });
      assert.equal((context(otherUid, request(RS, 'CREATE', owned, null)) as CriticalWorkloadContext).critical, true);
      // A Deployment, StatefulSet or DaemonSet naming any controller (a cached Deployment with its
      // very uid, a ConfigMap) is made by nothing levee judges: judged itself.
      const cached = new ClusterState();
      addWorkload(cached, { ...workloadObject('owner'), metadata: { name: 'owner', namespace: 'payments', uid: 'uid-owner' } });
      for (const kind of ['Deployment', 'StatefulSet', 'DaemonSet'] as const) {
        const object = workloadObject('ledger', { ...critical, kind, controller: true, nodeSelector: spot });
        const got = context(cached, request({ ...DEPLOYMENT, kind, resource: `${kind.toLowerCase()}s` }, 'CREATE', object, null)) as CriticalWorkloadContext;
        assert.deepEqual([got.critical, got.canRunOnDemand], [true, false], kind);
      }
      const configMapOwned = workloadObject('ledger', { ...critical, nodeSelector: spot });
      configMapOwned.metadata!.ownerReferences = [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'settings', uid: 'uid-settings', controller: true }];
      assert.equal((context(cached, request(DEPLOYMENT, 'CREATE', configMapOwned, null)) as CriticalWorkloadContext).critical, true);
    });
  });
});
