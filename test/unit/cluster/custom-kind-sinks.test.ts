import assert from 'node:assert/strict';
import { customKindsOf, mergeByKind } from '../../../src/cluster/custom-kind-sinks.js';
import type { CustomKindSink } from '../../../src/cluster/custom-kinds.js';
import { ClusterState } from '../../../src/cluster/state.js';
import { IndexedStore } from '../../../src/cluster/store.js';
import { clusterClassObject, clusterObject, machinePoolObject, machineTemplateObject, spotPoolObject } from '../../support/fleet.js';

function sink(): CustomKindSink {
  return { store: new IndexedStore<unknown>('test'), apply: () => undefined, delete: () => undefined, forget: () => undefined };
}

describe('cluster/custom-kind-sinks', () => {
  it('watches a kind once however many stores read it, in the versions all of them understand', () => {
    const [kind, ...rest] = mergeByKind([
      { group: 'cluster.x-k8s.io', kind: 'MachineDeployment', versions: ['v1beta2', 'v1beta1'], sink: sink() },
      { group: 'cluster.x-k8s.io', kind: 'MachineDeployment', versions: ['v1beta1'], sink: sink() },
    ]);
    assert.equal(rest.length, 0);
    assert.deepEqual(kind!.versions, ['v1beta1']);
    assert.equal(kind!.sinks.length, 2);
  });

  it('sends a MachineDeployment to the upgrade intents and the worker pools alike', () => {
    const cluster = new ClusterState();
    const kinds = customKindsOf(cluster);
    const keys = kinds.map((kind) => `${kind.kind}.${kind.group}`);
    assert.equal(new Set(keys).size, keys.length, 'one watch per kind');
    const machineDeployment = kinds.find((kind) => kind.kind === 'MachineDeployment')!;
    const object = spotPoolObject('md-0', { kind: 'AWSMachineTemplate', name: 'spot' });
    for (const target of machineDeployment.sinks) target.apply(object);
    assert.equal(cluster.upgradeIntents.size, 1);
    assert.equal(cluster.workerPools.ofCluster('capi', 'prod').length, 1);
    for (const target of machineDeployment.sinks) target.delete(object);
    assert.equal(cluster.upgradeIntents.size, 0);
    assert.equal(cluster.workerPools.size, 0);
  });

  it('sends a Cluster to the upgrade intents and the Clusters alike, and feeds ClusterClasses and MachinePools', () => {
    const cluster = new ClusterState();
    const kinds = customKindsOf(cluster);
    const clusterKind = kinds.find((kind) => kind.kind === 'Cluster')!;
    for (const target of clusterKind.sinks) target.apply(clusterObject('prod', { topology: { class: 'aws', version: 'v1.34.4' } }));
    assert.equal(cluster.upgradeIntents.size, 1);
    assert.equal(cluster.clusters.get('capi/prod')?.topology?.class.name, 'aws');
    for (const target of kinds.find((kind) => kind.kind === 'ClusterClass')!.sinks) target.apply(clusterClassObject('aws', {}));
    assert.equal(cluster.clusterClasses.size, 1);
    const { kind: _omitted, ...withoutKind } = machinePoolObject('mp-0', undefined);
    for (const target of kinds.find((kind) => kind.kind === 'MachinePool')!.sinks) target.apply(withoutKind);
    assert.equal(cluster.workerPools.get('MachinePool/capi/mp-0')?.kind, 'MachinePool');
  });

  it('caches the machine templates and machine pools of AWS, Azure and GCP, even when a list item lacks its kind', () => {
    const cluster = new ClusterState();
    const kinds = customKindsOf(cluster).filter((kind) => kind.group === 'infrastructure.cluster.x-k8s.io');
    assert.deepEqual(kinds.map((kind) => kind.kind).sort(), [
      'AWSMachinePool', 'AWSMachinePoolTemplate', 'AWSMachineTemplate', 'AWSManagedMachinePool', 'AWSManagedMachinePoolTemplate', 'AzureMachinePool',
      'AzureMachineTemplate', 'AzureManagedMachinePool', 'AzureManagedMachinePoolTemplate', 'GCPMachinePool', 'GCPMachineTemplate',
      'GCPManagedMachinePool', 'GCPManagedMachinePoolTemplate',
    ]);
    const gcp = kinds.find((kind) => kind.kind === 'GCPMachineTemplate')!;
    const { kind: _omitted, ...withoutKind } = machineTemplateObject('GCPMachineTemplate', 'workers', { preemptible: true });
    for (const target of gcp.sinks) target.apply(withoutKind);
    assert.equal(cluster.infrastructure.get('GCPMachineTemplate/capi/workers')?.spotField, 'preemptible: true');
    for (const target of gcp.sinks) target.forget();
    assert.equal(cluster.infrastructure.size, 0);
  });
});
