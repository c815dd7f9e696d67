import assert from 'node:assert/strict';
import { INFRASTRUCTURE_GROUP } from '../../../src/cluster/infrastructure-capacity.js';
import { poolReplicas, toWorkerPoolView, WorkerPoolStore } from '../../../src/cluster/worker-pools.js';
import type { KubeObject } from '../../../src/kube/types.js';
import { machinePoolObject, spotPoolObject } from '../../support/fleet.js';

const withReplicas = (replicas: unknown, annotations: Record<string, string> = {}): KubeObject => ({
  kind: 'MachineDeployment',
  metadata: { name: 'md', namespace: 'capi', annotations },
  spec: replicas === undefined ? {} : { replicas },
});

const autoscaled = { 'cluster.x-k8s.io/cluster-api-autoscaler-node-group-min-size': '2', 'cluster.x-k8s.io/cluster-api-autoscaler-node-group-max-size': '5' };

describe('cluster/worker-pools', () => {
  it('reads MachineDeployments and MachinePools, their cluster, replicas and provider reference, in both API versions', () => {
    for (const apiVersion of ['v1beta1', 'v1beta2'] as const) {
      assert.deepEqual(toWorkerPoolView(spotPoolObject('md-0', { kind: 'AWSMachineTemplate', name: 'spot' }, { apiVersion })), {
        kind: 'MachineDeployment',
        namespace: 'capi',
        name: 'md-0',
        cluster: 'prod',
        replicas: 3,
        infrastructure: { group: INFRASTRUCTURE_GROUP, kind: 'AWSMachineTemplate', namespace: 'capi', name: 'spot' },
      });
      assert.deepEqual(toWorkerPoolView(machinePoolObject('mp-0', { kind: 'AWSMachinePool', name: 'mp-0' }, { apiVersion })), {
        kind: 'MachinePool',
        namespace: 'capi',
        name: 'mp-0',
        cluster: 'prod',
        replicas: 2,
        infrastructure: { group: INFRASTRUCTURE_GROUP, kind: 'AWSMachinePool', namespace: 'capi', name: 'mp-0' },
      });
    }
  });

  it('takes the workload cluster from the cluster-name label before spec.clusterName', () => {
    const labelled = spotPoolObject('md-0', undefined, { cluster: 'from-spec' });
    labelled.metadata = { ...labelled.metadata, labels: { 'cluster.x-k8s.io/cluster-name': 'from-label' } };
    assert.equal(toWorkerPoolView(labelled).cluster, 'from-label');
    assert.equal(toWorkerPoolView(spotPoolObject('md-0', undefined, { cluster: 'from-spec' })).cluster, 'from-spec');
  });

  it('remembers the topology entry a pool was made from', () => {
    const made = spotPoolObject('prod-md-0-x7k2p', undefined);
    made.metadata = { ...made.metadata, labels: { 'topology.cluster.x-k8s.io/owned': '', 'topology.cluster.x-k8s.io/deployment-name': 'md-0' } };
    assert.equal(toWorkerPoolView(made).topologyName, 'md-0');
    const pool = machinePoolObject('prod-mp-0-abcde', undefined);
    pool.metadata = { ...pool.metadata, labels: { 'topology.cluster.x-k8s.io/pool-name': 'mp-0' } };
    assert.equal(toWorkerPoolView(pool).topologyName, 'mp-0');
  });

  it('fills in replicas as Cluster API defaults them: absent or null is 1, or the autoscaler minimum', () => {
    assert.equal(poolReplicas(withReplicas(0)), 0);
    assert.equal(poolReplicas(withReplicas(4)), 4);
    assert.equal(poolReplicas(withReplicas(undefined)), 1);
    assert.equal(poolReplicas(withReplicas(null)), 1);
    assert.equal(poolReplicas(withReplicas(undefined, autoscaled)), 2, 'a new pool starts at the minimum');
    assert.equal(poolReplicas(withReplicas(null, autoscaled), withReplicas(4)), 4, 'an existing pool keeps its count within the range');
    assert.equal(poolReplicas(withReplicas(null, autoscaled), withReplicas(9)), 5);
    assert.equal(poolReplicas(withReplicas(null, autoscaled), withReplicas(0)), 2);
    assert.equal(poolReplicas(withReplicas(null, { 'cluster.x-k8s.io/cluster-api-autoscaler-node-group-min-size': '0' })), 1, 'both annotations or none');
  });

  it('reads replicas written as a numeric string, never lets a negative or fractional count through as more', () => {
    assert.equal(poolReplicas(withReplicas('0')), 0);
    assert.equal(poolReplicas(withReplicas(' 3 ')), 3);
    assert.equal(poolReplicas(withReplicas(-2)), 0);
    assert.equal(poolReplicas(withReplicas(2.7)), 2);
    assert.equal(poolReplicas(withReplicas('many')), 1);
  });

  it('indexes pools by workload cluster and by what they are made from, through add, move, delete and relist', () => {
    const store = new WorkerPoolStore();
    const add = (object: KubeObject) => store.upsert(...store.project(object));
    add(spotPoolObject('md-0', { kind: 'AWSMachineTemplate', name: 'shared' }, { cluster: 'prod' }));
    add(machinePoolObject('mp-0', { kind: 'AWSMachinePool', name: 'mp-0' }, { cluster: 'prod' }));
    add(spotPoolObject('md-0', { kind: 'AWSMachineTemplate', name: 'shared' }, { cluster: 'prod', namespace: 'other-team' }));
    assert.deepEqual(store.ofCluster('capi', 'prod').map((pool) => `${pool.kind}/${pool.name}`).sort(), ['MachineDeployment/md-0', 'MachinePool/mp-0']);
    assert.deepEqual(store.madeFrom('AWSMachineTemplate', 'capi', 'shared').map((pool) => pool.name), ['md-0']);
    add(spotPoolObject('md-0', { kind: 'AWSMachineTemplate', name: 'other' }, { cluster: 'staging' }));
    assert.deepEqual(store.ofCluster('capi', 'prod').map((pool) => pool.name), ['mp-0']);
    assert.deepEqual(store.madeFrom('AWSMachineTemplate', 'capi', 'shared'), []);
    store.removeKind('MachinePool');
    assert.deepEqual(store.ofCluster('capi', 'prod'), []);
    store.clear();
    assert.equal(store.size, 0);
  });
});
