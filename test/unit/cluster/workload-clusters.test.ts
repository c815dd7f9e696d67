import assert from 'node:assert/strict';
import { ClusterClassStore, ClusterStore, toClusterClassView, toClusterView } from '../../../src/cluster/workload-clusters.js';
import { clusterClassObject, clusterObject } from '../../support/fleet.js';

describe('cluster/workload-clusters', () => {
  it('reads the control plane reference in both API versions', () => {
    for (const apiVersion of ['v1beta1', 'v1beta2'] as const) {
      const view = toClusterView(clusterObject('prod', { apiVersion, controlPlane: { kind: 'KubeadmControlPlane', name: 'prod-control-plane' } }));
      assert.deepEqual(view.controlPlane, { group: 'controlplane.cluster.x-k8s.io', kind: 'KubeadmControlPlane', namespace: 'capi', name: 'prod-control-plane' }, apiVersion);
      assert.equal(view.topology, undefined);
      assert.equal(view.deleting, false);
    }
  });

  it('reads a topology: its class (classRef or class), and each pool with or without replicas', () => {
    for (const apiVersion of ['v1beta1', 'v1beta2'] as const) {
      const view = toClusterView(
        clusterObject('prod', {
          apiVersion,
          topology: { class: 'aws', machineDeployments: [{ name: 'md-0', class: 'default-worker', replicas: 3 }], machinePools: [{ name: 'mp-0', class: 'pool' }] },
        }),
      );
      assert.deepEqual(view.topology, {
        class: { namespace: 'capi', name: 'aws' },
        pools: [
          { kind: 'MachineDeployment', name: 'md-0', class: 'default-worker', replicas: 3 },
          { kind: 'MachinePool', name: 'mp-0', class: 'pool' },
        ],
      });
    }
  });

  it('says when a Cluster is being deleted', () => {
    assert.equal(toClusterView(clusterObject('prod', { deleting: true })).deleting, true);
  });

  it('reads the worker templates of a ClusterClass in both API versions', () => {
    for (const apiVersion of ['v1beta1', 'v1beta2'] as const) {
      const view = toClusterClassView(
        clusterClassObject('aws', { machineDeployments: { 'default-worker': { kind: 'AWSMachineTemplate', name: 'worker' } }, machinePools: { pool: { kind: 'AWSMachinePoolTemplate', name: 'pool' } } }, { apiVersion }),
      );
      assert.deepEqual(view.workers, {
        MachineDeployment: { 'default-worker': { group: 'infrastructure.cluster.x-k8s.io', kind: 'AWSMachineTemplate', namespace: 'capi', name: 'worker' } },
        MachinePool: { pool: { group: 'infrastructure.cluster.x-k8s.io', kind: 'AWSMachinePoolTemplate', namespace: 'capi', name: 'pool' } },
      });
    }
  });

  it('finds Clusters by the control plane they point at and by their class, and classes by template', () => {
    const clusters = new ClusterStore();
    clusters.upsert(...clusters.project(clusterObject('prod', { controlPlane: { kind: 'AWSManagedControlPlane', name: 'prod-eks' }, topology: { class: 'aws' } })));
    assert.deepEqual(clusters.pointingAt({ group: 'controlplane.cluster.x-k8s.io', kind: 'AWSManagedControlPlane', namespace: 'capi', name: 'prod-eks' }).map((c) => c.name), ['prod']);
    assert.deepEqual(clusters.builtFrom('capi', 'aws').map((c) => c.name), ['prod']);
    const classes = new ClusterClassStore();
    classes.upsert(...classes.project(clusterClassObject('aws', { machineDeployments: { a: { kind: 'AWSMachineTemplate', name: 'worker' }, b: { kind: 'AWSMachineTemplate', name: 'worker' } } })));
    assert.deepEqual(classes.using('AWSMachineTemplate', 'capi', 'worker').map((c) => c.name), ['aws']);
  });

  it('never crashes on a topology of the wrong shape', () => {
    const broken = clusterObject('prod');
    broken.spec = { topology: { class: 'aws', workers: { machineDeployments: 'nope', machinePools: [null, 3, { name: 'x' }] } }, controlPlaneRef: 'kcp' };
    assert.deepEqual(toClusterView(broken).topology?.pools, []);
    assert.equal(toClusterView(broken).controlPlane, undefined);
  });
});
