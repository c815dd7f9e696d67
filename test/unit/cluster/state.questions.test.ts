import assert from 'node:assert/strict';
import { ClusterState } from '../../../src/cluster/state.js';
import { toReplicaSetView } from '../../../src/cluster/views.js';
import type { KubeObject } from '../../../src/kube/types.js';
import { clusterWithBackedService } from '../../support/cluster.js';
import { controllerRef, replicaSetObject } from '../../support/requests.js';

describe('cluster/state: the named questions policies ask', () => {
  const controlPlane = (name: string, version: string, cluster = 'prod'): KubeObject => ({
    apiVersion: 'controlplane.cluster.x-k8s.io/v1beta2',
    kind: 'KubeadmControlPlane',
    metadata: { name, namespace: 'capi', labels: { 'cluster.x-k8s.io/cluster-name': cluster } },
    spec: { version },
  });
  const workers = (name: string, version: string): KubeObject => ({
    apiVersion: 'cluster.x-k8s.io/v1beta2',
    kind: 'MachineDeployment',
    metadata: { name, namespace: 'capi', labels: { 'cluster.x-k8s.io/cluster-name': 'prod' } },
    spec: { clusterName: 'prod', template: { spec: { version } } },
  });
  const add = (cluster: ClusterState, object: KubeObject): void => {
    const projected = cluster.upgradeIntents.project(object);
    assert.ok(projected);
    cluster.upgradeIntents.upsert(...projected);
  };

  it('deploymentOf: the Deployment of a cached ReplicaSet, only when that Deployment is cached with the uid it names', () => {
    const cluster = clusterWithBackedService({ name: 'web', namespace: 'shop' });
    cluster.replicaSets.upsert('shop/bare', toReplicaSetView(replicaSetObject('bare', 'shop', 1, { app: 'bare' })));
    const forged = { ...controllerRef('Deployment', 'web'), uid: 'uid-of-nothing' };
    cluster.replicaSets.upsert('shop/forged', toReplicaSetView(replicaSetObject('forged', 'shop', 1, { app: 'web' }, forged)));
    cluster.replicaSets.upsert('shop/by-map', toReplicaSetView(replicaSetObject('by-map', 'shop', 1, { app: 'web' }, controllerRef('ConfigMap', 'web'))));
    assert.deepEqual(cluster.deploymentOf('shop', 'web-rs'), { kind: 'Deployment', name: 'web', uid: 'uid-web' });
    assert.equal(cluster.deploymentOf('shop', 'forged'), undefined, 'a uid levee does not hold');
    assert.equal(cluster.deploymentOf('shop', 'by-map'), undefined, 'a controller of another kind');
    assert.equal(cluster.deploymentOf('shop', 'bare'), undefined);
    assert.equal(cluster.deploymentOf('shop', 'absent'), undefined);
  });

  it("ranTemplate: whether one of the owner's own ReplicaSets (by uid) has the template", () => {
    const cluster = new ClusterState();
    const template = { metadata: { labels: { app: 'web', 'pod-template-hash': '5d8f7c' } }, spec: { containers: [{ name: 'app', image: 'app:1' }] } };
    const replicaSet = replicaSetObject('web-5d8f7c', 'shop', 2, { app: 'web' }, controllerRef('Deployment', 'web'));
    replicaSet.spec = { ...(replicaSet.spec as object), template };
    cluster.replicaSets.upsert('shop/web-5d8f7c', toReplicaSetView(replicaSet));
    const same = { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'app', image: 'app:1' }] } };
    assert.equal(cluster.ranTemplate('uid-web', same), true, 'the pod-template-hash label is not part of the template');
    assert.equal(cluster.ranTemplate('uid-web', { ...same, spec: { containers: [{ name: 'app', image: 'app:2' }] } }), false);
    assert.equal(cluster.ranTemplate('uid-api', same), false, "another Deployment's history does not count");
  });

  it('workloadClusterVersions: the rest of the workload cluster, without the object as cached', () => {
    const cluster = new ClusterState();
    add(cluster, controlPlane('prod-cp', 'v1.30.2'));
    add(cluster, workers('prod-md', 'v1.29.0'));
    add(cluster, controlPlane('other-cp', 'v1.20.0', 'other'));
    const view = cluster.upgradeIntents.project(controlPlane('prod-cp', 'v1.31.0'))![1];
    const ranges = cluster.workloadClusterVersions(view);
    assert.equal(ranges.controlPlane, undefined, 'the control plane being changed is left out');
    assert.equal(ranges.workers?.min.text, 'v1.29.0');
    const unclustered = { ...view, cluster: undefined };
    assert.deepEqual(cluster.workloadClusterVersions(unclustered), {});
  });

  it('kubeletsBesides: the oldest and newest kubelet of the other nodes', () => {
    const cluster = new ClusterState();
    const node = (name: string, kubeletVersion: string): KubeObject => ({ kind: 'Node', metadata: { name }, status: { nodeInfo: { kubeletVersion } } });
    cluster.nodes.upsert(...cluster.nodes.project(node('a', 'v1.30.1')));
    cluster.nodes.upsert(...cluster.nodes.project(node('b', 'v1.28.4')));
    assert.equal(cluster.kubeletsBesides('b')?.min.text, 'v1.30.1');
    assert.equal(cluster.kubeletsBesides('new-node')?.min.text, 'v1.28.4');
    assert.equal(cluster.kubeletsBesides('new-node')?.count, 2);
  });
});
