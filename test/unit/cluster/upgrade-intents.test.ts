import assert from 'node:assert/strict';
import type { KubeObject } from '../../../src/kube/types.js';
import { intentKey, toIntentView, UpgradeIntentStore } from '../../../src/cluster/upgrade-intents.js';
import type { UpgradeIntentKind } from '../../../src/kube/cluster-api.js';
import { buildConfig } from '../../../src/config.js';
import { kcpObject, machineDeploymentObject, machineObject } from '../../support/fleet.js';

const kinds = buildConfig().policies['version-skew'].upgradeIntents as UpgradeIntentKind[];
const kind = (name: string): UpgradeIntentKind => kinds.find((candidate) => candidate.kind === name)!;

function put(store: UpgradeIntentStore, object: KubeObject): void {
  const projected = store.project(object);
  assert.ok(projected, `${object.kind} is a configured kind`);
  store.upsert(...projected);
}

function texts(range: { min: { text: string }; max: { text: string }; count: number } | undefined): [string, string, number] | undefined {
  return range ? [range.min.text, range.max.text, range.count] : undefined;
}

describe('cluster/upgrade-intents', () => {
  describe('toIntentView', () => {
    it('a KubeadmControlPlane: the control plane, its cluster from the cluster-name label', () => {
      const view = toIntentView(kcpObject('prod-cp', 'v1.20.2'), kind('KubeadmControlPlane'));
      assert.deepEqual(view, {
        group: 'controlplane.cluster.x-k8s.io',
        kind: 'KubeadmControlPlane',
        namespace: 'default',
        name: 'prod-cp',
        cluster: 'prod',
        role: 'control-plane',
        version: { major: 1, minor: 20, patch: 2, text: 'v1.20.2' },
      });
    });

    it('a MachineDeployment: workers, the version under spec.template.spec, the cluster from spec.clusterName', () => {
      const view = toIntentView(machineDeploymentObject('prod-md', 'v1.20.2', 'prod'), kind('MachineDeployment'));
      assert.deepEqual([view.role, view.cluster, view.version?.text], ['workers', 'prod', 'v1.20.2']);
    });

    it('a Machine is a worker unless it carries the control-plane label', () => {
      assert.equal(toIntentView(machineObject('m-1', 'v1.20.2'), kind('Machine')).role, 'workers');
      assert.equal(toIntentView(machineObject('m-2', 'v1.20.2', { controlPlane: true }), kind('Machine')).role, 'control-plane');
    });

    it('a ClusterClass Cluster declares both, its cluster is itself', () => {
      const cluster: KubeObject = { apiVersion: 'cluster.x-k8s.io/v1beta2', kind: 'Cluster', metadata: { name: 'prod', namespace: 'default' }, spec: { topology: { version: 'v1.30.1' } } };
      const view = toIntentView(cluster, kind('Cluster'));
      assert.deepEqual([view.role, view.cluster, view.version?.text], ['both', 'prod', 'v1.30.1']);
    });

    it('a control plane without the label belongs to the Cluster that owns it', () => {
      const kcp = kcpObject('cp', 'v1.30.0');
      kcp.metadata = { name: 'cp', namespace: 'default', ownerReferences: [{ apiVersion: 'cluster.x-k8s.io/v1beta2', kind: 'Cluster', name: 'staging', uid: 'u' }] };
      assert.equal(toIntentView(kcp, kind('KubeadmControlPlane')).cluster, 'staging');
    });

    it('no version and no cluster are left out, not guessed', () => {
      const view = toIntentView({ apiVersion: 'cluster.x-k8s.io/v1beta2', kind: 'MachinePool', metadata: { name: 'mp', namespace: 'x' }, spec: {} }, kind('MachinePool'));
      assert.equal(view.version, undefined);
      assert.equal(view.cluster, undefined);
    });

    it('only configured kinds are projected', () => {
      const store = new UpgradeIntentStore(kinds);
      assert.equal(store.project({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'x' } }), undefined);
      assert.equal(store.project({ apiVersion: 'example.com/v1', kind: 'Machine', metadata: { name: 'x' } }), undefined);
    });
  });

  describe('UpgradeIntentStore', () => {
    it('keeps control plane and worker ranges per workload cluster, never mixing clusters or namespaces', () => {
      const store = new UpgradeIntentStore(kinds);
      put(store, kcpObject('prod-cp', 'v1.20.2', 'prod'));
      put(store, machineDeploymentObject('prod-md-a', 'v1.20.2', 'prod'));
      put(store, machineDeploymentObject('prod-md-b', 'v1.19.4', 'prod'));
      put(store, kcpObject('dev-cp', 'v1.30.0', 'dev'));
      put(store, machineDeploymentObject('other-md', 'v1.31.0', 'prod', 'team-b'));
      const prod = store.ranges('default', 'prod');
      assert.deepEqual(texts(prod.controlPlane), ['v1.20.2', 'v1.20.2', 1]);
      assert.deepEqual(texts(prod.workers), ['v1.19.4', 'v1.20.2', 2]);
      assert.deepEqual(texts(store.ranges('default', 'dev').controlPlane), ['v1.30.0', 'v1.30.0', 1]);
      assert.equal(store.ranges('default', 'dev').workers, undefined);
      assert.deepEqual(texts(store.ranges('team-b', 'prod').workers), ['v1.31.0', 'v1.31.0', 1]);
      assert.deepEqual(store.ranges('default', 'nowhere'), {});
    });

    it('leaves out the object being judged', () => {
      const store = new UpgradeIntentStore(kinds);
      put(store, kcpObject('prod-cp', 'v1.20.2'));
      put(store, machineDeploymentObject('prod-md', 'v1.20.2'));
      const md = store.get(intentKey({ group: 'cluster.x-k8s.io', kind: 'MachineDeployment', namespace: 'default', name: 'prod-md' }));
      assert.ok(md);
      assert.equal(store.ranges('default', 'prod', md).workers, undefined);
      assert.deepEqual(texts(store.ranges('default', 'prod', md).controlPlane), ['v1.20.2', 'v1.20.2', 1]);
    });

    it('follows version changes, moves between clusters, deletes, and relists', () => {
      const store = new UpgradeIntentStore(kinds);
      put(store, kcpObject('cp', 'v1.20.2', 'prod'));
      put(store, kcpObject('cp', 'v1.21.1', 'prod'));
      assert.deepEqual(texts(store.ranges('default', 'prod').controlPlane), ['v1.21.1', 'v1.21.1', 1]);
      put(store, kcpObject('cp', 'v1.21.1', 'renamed'));
      assert.equal(store.ranges('default', 'prod').controlPlane, undefined);
      assert.equal(store.ranges('default', 'renamed').controlPlane?.count, 1);
      store.remove(intentKey({ group: 'controlplane.cluster.x-k8s.io', kind: 'KubeadmControlPlane', namespace: 'default', name: 'cp' }));
      assert.deepEqual(store.ranges('default', 'renamed'), {});
      put(store, machineDeploymentObject('md', 'v1.20.2'));
      store.replaceAll([store.project(machineDeploymentObject('md', 'v1.21.0'))!]);
      assert.deepEqual(texts(store.ranges('default', 'prod').workers), ['v1.21.0', 'v1.21.0', 1]);
    });

    it('forgets every object of a kind whose CRD is gone, and only those', () => {
      const store = new UpgradeIntentStore(kinds);
      put(store, kcpObject('cp', 'v1.20.2'));
      put(store, machineDeploymentObject('md-a', 'v1.20.2'));
      put(store, machineDeploymentObject('md-b', 'v1.20.2'));
      store.removeKind('cluster.x-k8s.io', 'MachineDeployment');
      assert.equal(store.size, 1);
      assert.equal(store.ranges('default', 'prod').workers, undefined);
      assert.equal(store.ranges('default', 'prod').controlPlane?.count, 1);
    });
  });
});
