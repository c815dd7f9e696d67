import assert from 'node:assert/strict';
import type { AdmissionRequest, KubeObject } from '../../../src/kube/types.js';
import { ClusterState } from '../../../src/cluster/state.js';
import { parseKubeVersion } from '../../../src/cluster/versions.js';
import { buildConfig } from '../../../src/config.js';
import { splitImage } from '../../../src/policies/version-skew-addons.js';
import { versionSkew, type IntentContext, type NodeVersionContext } from '../../../src/policies/version-skew.js';
import { clusterObject, DAEMONSET, DEPLOYMENT, KCP, MD, kcpObject, machineDeploymentObject, NODE, nodeObject, request } from '../../support/fleet.js';
import { contextOf } from '../../support/review-corpus.js';

const config = buildConfig();

function context(cluster: ClusterState, admission: AdmissionRequest): unknown {
  return contextOf(versionSkew, { request: admission, cluster, config, now: new Date(0) });
}

function fleet(): ClusterState {
  const cluster = new ClusterState();
  const store = cluster.upgradeIntents;
  for (const object of [kcpObject('prod-cp', 'v1.20.2'), machineDeploymentObject('prod-md', 'v1.20.2'), kcpObject('dev-cp', 'v1.30.0', 'dev')]) {
    store.upsert(...store.project(object)!);
  }
  // The management cluster's own nodes, far newer: never compared with workload clusters.
  for (const name of ['mgmt-1', 'mgmt-2']) cluster.nodes.upsert(...cluster.nodes.project(nodeObject(name, { kubelet: 'v1.34.4' })));
  cluster.apiServer.record(parseKubeVersion('v1.34.4')!);
  return cluster;
}

function proxyDaemonSet(image: string): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: 'kube-proxy', namespace: 'kube-system' },
    spec: { template: { metadata: { labels: { k8s: 'proxy' } }, spec: { containers: [{ name: 'kube-proxy', image }] } } },
  };
}

describe('policies/version-skew context', () => {
  describe('upgrade intents', () => {
    it('a KCP version change is judged against the other objects of its workload cluster only', () => {
      const got = context(fleet(), request(KCP, 'UPDATE', kcpObject('prod-cp', 'v1.12.10'), kcpObject('prod-cp', 'v1.20.2'))) as IntentContext;
      assert.equal(got.subject, 'intent');
      assert.deepEqual(got.object, { kind: 'KubeadmControlPlane', namespace: 'default', name: 'prod-cp', cluster: 'prod', role: 'control-plane' });
      assert.equal(got.version.text, 'v1.12.10');
      assert.equal(got.previous?.text, 'v1.20.2');
      assert.deepEqual([got.workers?.min.text, got.workers?.max.text], ['v1.20.2', 'v1.20.2']);
      // Its own cached version is left out, and dev's control plane is another cluster.
      assert.equal(got.controlPlane, undefined);
    });

    it('a MachineDeployment change sees its control plane', () => {
      const got = context(fleet(), request(MD, 'UPDATE', machineDeploymentObject('prod-md', 'v1.21.0'), machineDeploymentObject('prod-md', 'v1.20.2'))) as IntentContext;
      assert.equal(got.object.role, 'workers');
      assert.deepEqual([got.controlPlane?.min.text, got.workers], ['v1.20.2', undefined]);
    });

    it('a create has no previous version', () => {
      const got = context(fleet(), request(MD, 'CREATE', machineDeploymentObject('prod-md-2', 'v1.20.2'), null)) as IntentContext;
      assert.equal(got.previous, undefined);
      assert.equal(got.workers?.count, 1);
    });

    it('edits that leave the version alone are not judged', () => {
      const scaled = kcpObject('prod-cp', 'v1.20.2');
      (scaled.spec as { replicas: number }).replicas = 5;
      assert.equal(context(fleet(), request(KCP, 'UPDATE', scaled, kcpObject('prod-cp', 'v1.20.2'))), undefined);
    });

    it('objects without a version, status updates and deletes are not judged', () => {
      const unversioned = kcpObject('prod-cp', '');
      assert.equal(context(fleet(), request(KCP, 'CREATE', unversioned, null)), undefined);
      assert.equal(context(fleet(), request(KCP, 'UPDATE', kcpObject('prod-cp', 'v1.21.0'), kcpObject('prod-cp', 'v1.20.2'), { subResource: 'status' })), undefined);
      assert.equal(context(fleet(), request(KCP, 'DELETE', null, kcpObject('prod-cp', 'v1.20.2'))), undefined);
    });
  });

  describe('control planes linked only through Cluster.spec.controlPlaneRef, of any provider', () => {
    /** As upstream templates have it: the control plane carries no cluster-name label and no owner reference. */
    function controlPlane(kind: string, name: string, version: string, apiVersion = 'controlplane.cluster.x-k8s.io/v1beta2', namespace = 'capi'): KubeObject {
      return { apiVersion, kind, metadata: { name, namespace }, spec: { version } };
    }
    const kindOf = (object: KubeObject) => {
      const [group, version] = object.apiVersion!.split('/') as [string, string];
      return { group, version, kind: object.kind!, resource: `${object.kind!.toLowerCase()}s` };
    };
    function upstream(cp: KubeObject, workers: string, options: { apiVersion?: 'v1beta1' | 'v1beta2' } = {}): ClusterState {
      const cluster = new ClusterState();
      const [group] = cp.apiVersion!.split('/') as [string];
      cluster.clusters.upsert(...cluster.clusters.project(clusterObject('prod', { controlPlane: { kind: cp.kind!, name: cp.metadata!.name!, group }, ...options })));
      cluster.upgradeIntents.upsert(...cluster.upgradeIntents.project(cp)!);
      cluster.upgradeIntents.upsert(...cluster.upgradeIntents.project(machineDeploymentObject('prod-md-0', workers, 'prod', 'capi'))!);
      return cluster;
    }

    for (const apiVersion of ['v1beta1', 'v1beta2'] as const) {
      it(`a KubeadmControlPlane below its workers, found through a ${apiVersion} controlPlaneRef`, () => {
        const cp = controlPlane('KubeadmControlPlane', 'prod-control-plane', 'v1.33.4');
        const got = context(upstream(cp, 'v1.33.4', { apiVersion }), request(KCP, 'UPDATE', controlPlane('KubeadmControlPlane', 'prod-control-plane', 'v1.32.0'), cp)) as IntentContext;
        assert.deepEqual(got.object, { kind: 'KubeadmControlPlane', namespace: 'capi', name: 'prod-control-plane', cluster: 'prod', role: 'control-plane' });
        assert.equal(got.workers?.max.text, 'v1.33.4');
      });
    }

    it('workers judged against a control plane the Cluster points at: four minors behind, or newer', () => {
      const cluster = upstream(controlPlane('KubeadmControlPlane', 'prod-control-plane', 'v1.33.4'), 'v1.33.4');
      const behind = context(cluster, request(MD, 'UPDATE', machineDeploymentObject('prod-md-0', 'v1.29.0', 'prod', 'capi'), machineDeploymentObject('prod-md-0', 'v1.33.4', 'prod', 'capi'))) as IntentContext;
      assert.deepEqual([behind.controlPlane?.min.text, behind.controlPlane?.max.text], ['v1.33.4', 'v1.33.4']);
      const created = context(cluster, request(MD, 'CREATE', machineDeploymentObject('prod-md-1', 'v1.34.0', 'prod', 'capi'), null)) as IntentContext;
      assert.equal(created.controlPlane?.max.text, 'v1.33.4');
    });

    const providers: Array<[string, KubeObject, string]> = [
      ['RKE2 (+rke2r1)', controlPlane('RKE2ControlPlane', 'prod-rke2', 'v1.31.4+rke2r1', 'controlplane.cluster.x-k8s.io/v1beta1'), 'v1.32.0+rke2r1'],
      ['K3s (+k3s1)', controlPlane('KThreesControlPlane', 'prod-k3s', 'v1.31.4+k3s1'), 'v1.32.1+k3s1'],
      ['Talos', controlPlane('TalosControlPlane', 'prod-talos', 'v1.31.4', 'controlplane.cluster.x-k8s.io/v1alpha3'), 'v1.32.0'],
      ['EKS (minor only)', controlPlane('AWSManagedControlPlane', 'prod-eks', 'v1.31'), 'v1.32.0-eks-abcdef'],
      ['AKS (infrastructure group)', controlPlane('AzureManagedControlPlane', 'prod-aks', '1.31.2', 'infrastructure.cluster.x-k8s.io/v1beta1'), '1.32.0'],
      ['GKE (infrastructure group)', controlPlane('GCPManagedControlPlane', 'prod-gke', '1.31.4-gke.100', 'infrastructure.cluster.x-k8s.io/v1beta1'), '1.32.1-gke.200'],
    ];
    for (const [name, cp, newer] of providers) {
      it(`${name}: its control plane is judged, linked through the Cluster, with its version spelling`, () => {
        const cluster = upstream(cp, 'v1.31.4');
        const workers = context(cluster, request(MD, 'UPDATE', machineDeploymentObject('prod-md-0', newer, 'prod', 'capi'), machineDeploymentObject('prod-md-0', 'v1.31.4', 'prod', 'capi'))) as IntentContext;
        assert.equal(workers.controlPlane?.max.minor, 31, name);
        const downgrade = { ...cp, spec: { version: 'v1.30.0' } };
        const got = context(cluster, request(kindOf(cp), 'UPDATE', downgrade, cp)) as IntentContext;
        assert.deepEqual([got.object.kind, got.object.cluster, got.version.minor, got.previous?.minor, got.workers?.max.minor], [cp.kind, 'prod', 30, 31, 31], name);
      });
    }

    it("GKE's deprecated spec.controlPlaneVersion, which CAPG still honours when spec.version is unset, is the control plane's version", () => {
      const cp = { ...controlPlane('GCPManagedControlPlane', 'prod-gke', '', 'infrastructure.cluster.x-k8s.io/v1beta1'), spec: { controlPlaneVersion: '1.31.4' } };
      const cluster = upstream(cp, 'v1.31.4');
      const downgrade = { ...cp, spec: { controlPlaneVersion: '1.30.2' } };
      const got = context(cluster, request(kindOf(cp), 'UPDATE', downgrade, cp)) as IntentContext;
      assert.deepEqual([got.version.minor, got.previous?.minor, got.workers?.max.minor], [30, 31, 31]);
      const workers = context(cluster, request(MD, 'UPDATE', machineDeploymentObject('prod-md-0', 'v1.32.0', 'prod', 'capi'), machineDeploymentObject('prod-md-0', 'v1.31.4', 'prod', 'capi'))) as IntentContext;
      assert.equal(workers.controlPlane?.max.minor, 31);
    });

    it('control plane templates, and ROSA (an OpenShift version), are not control planes', () => {
      const template = { apiVersion: 'controlplane.cluster.x-k8s.io/v1beta2', kind: 'KubeadmControlPlaneTemplate', metadata: { name: 't', namespace: 'capi' }, spec: { template: { spec: {} } } };
      assert.equal(context(new ClusterState(), request(kindOf(template), 'CREATE', template, null)), undefined);
      const rosa = controlPlane('ROSAControlPlane', 'prod-rosa', '4.14.5');
      assert.equal(context(new ClusterState(), request(kindOf(rosa), 'CREATE', rosa, null)), undefined);
    });

    it('a Cluster applied after its control plane and workers is judged for the link it makes; an unchanged link is not', () => {
      const cluster = new ClusterState();
      cluster.upgradeIntents.upsert(...cluster.upgradeIntents.project(controlPlane('KubeadmControlPlane', 'prod-control-plane', 'v1.30.0'))!);
      cluster.upgradeIntents.upsert(...cluster.upgradeIntents.project(machineDeploymentObject('prod-md-0', 'v1.31.0', 'prod', 'capi'))!);
      const linking = clusterObject('prod', { controlPlane: { kind: 'KubeadmControlPlane', name: 'prod-control-plane' } });
      const CLUSTER = { group: 'cluster.x-k8s.io', version: 'v1beta2', kind: 'Cluster', resource: 'clusters' };
      const got = context(cluster, request(CLUSTER, 'CREATE', linking, null)) as IntentContext;
      assert.deepEqual([got.object.kind, got.object.cluster, got.version.text, got.workers?.max.text], ['KubeadmControlPlane', 'prod', 'v1.30.0', 'v1.31.0']);
      assert.equal(got.previous, undefined, 'a link is no downgrade');
      assert.equal(context(cluster, request(CLUSTER, 'UPDATE', linking, linking)), undefined);
      assert.equal(context(cluster, request(CLUSTER, 'CREATE', clusterObject('prod', { controlPlane: { kind: 'KubeadmControlPlane', name: 'not-there' } }), null)), undefined);
    });

    it('version changes allowed moments ago count: a control plane downgrade and a worker upgrade sent at once', () => {
      const cp = controlPlane('KubeadmControlPlane', 'prod-control-plane', 'v1.31.0');
      const cluster = upstream(cp, 'v1.30.0');
      const downgrade = request(KCP, 'UPDATE', controlPlane('KubeadmControlPlane', 'prod-control-plane', 'v1.30.0'), cp);
      const changes = versionSkew.pendingChanges!({ request: downgrade, cluster, config, now: new Date(0) });
      assert.equal(changes.length, 1);
      cluster.recentDecisions.record(changes);
      const upgrade = context(cluster, request(MD, 'UPDATE', machineDeploymentObject('prod-md-0', 'v1.31.0', 'prod', 'capi'), machineDeploymentObject('prod-md-0', 'v1.30.0', 'prod', 'capi'))) as IntentContext;
      assert.equal(upgrade.controlPlane?.max.text, 'v1.30.0', 'the downgrade levee allowed is counted before the watch shows it');
      // Once the watch shows it, it is confirmed and counted once, from the cache.
      cluster.upgradeIntents.upsert(...cluster.upgradeIntents.project(controlPlane('KubeadmControlPlane', 'prod-control-plane', 'v1.30.0'))!);
      assert.equal(cluster.recentDecisions.size, 0);
    });
  });

  describe('nodes', () => {
    it('a registering node is judged against the API server version', () => {
      const got = context(fleet(), request(NODE, 'CREATE', nodeObject('new-1', { kubelet: 'v1.35.0' }), null)) as NodeVersionContext;
      assert.deepEqual([got.subject, got.node, got.kubelet.text, got.apiServer?.text], ['node', 'new-1', 'v1.35.0', 'v1.34.4']);
      assert.equal(got.previousKubelet, undefined);
      assert.deepEqual([got.kubelets?.min.text, got.kubelets?.count], ['v1.34.4', 2]);
    });

    it('a status update with a new kubelet version is judged; a heartbeat is not', () => {
      const upgraded = context(fleet(), request(NODE, 'UPDATE', nodeObject('mgmt-1', { kubelet: 'v1.35.0' }), nodeObject('mgmt-1'), { subResource: 'status' })) as NodeVersionContext;
      assert.deepEqual([upgraded.kubelet.text, upgraded.previousKubelet?.text], ['v1.35.0', 'v1.34.4']);
      assert.equal(upgraded.kubelets?.count, 1, 'the node itself is left out of the range');
      assert.equal(context(fleet(), request(NODE, 'UPDATE', nodeObject('mgmt-1'), nodeObject('mgmt-1'), { subResource: 'status' })), undefined);
    });

    it('a kubelet version is judged on a node that takes no pods too: cordoned, or tainted NoSchedule or NoExecute', () => {
      const cordoned = { kubelet: 'v1.34.4', unschedulable: true };
      const tainted = { kubelet: 'v1.34.4', taints: [{ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }] };
      const drained = { kubelet: 'v1.34.4', taints: [{ key: 'maintenance', effect: 'NoExecute' }] };
      for (const before of [cordoned, tainted, drained]) {
        const upgraded = context(fleet(), request(NODE, 'UPDATE', nodeObject('mgmt-1', { ...before, kubelet: 'v1.35.0' }), nodeObject('mgmt-1', before), { subResource: 'status' })) as NodeVersionContext;
        assert.deepEqual([upgraded.kubelet.text, upgraded.previousKubelet?.text], ['v1.35.0', 'v1.34.4']);
      }
    });

    it('before the API server version is known the node context says so by leaving it out', () => {
      const cluster = new ClusterState();
      const got = context(cluster, request(NODE, 'CREATE', nodeObject('new-1'), null)) as NodeVersionContext;
      assert.equal(got.apiServer, undefined);
    });
  });

  describe('add-ons in kube-system', () => {
    it('reports a version change of a well-known add-on image', () => {
      const got = context(new ClusterState(), request(DAEMONSET, 'UPDATE', proxyDaemonSet('registry.k8s.io/kube-proxy:v1.28.2'), proxyDaemonSet('registry.k8s.io/kube-proxy:v1.29.3')));
      assert.deepEqual(got, {
        subject: 'addon',
        workload: { kind: 'DaemonSet', namespace: 'kube-system', name: 'kube-proxy' },
        images: [
          {
            container: 'kube-proxy',
            addon: 'kube-proxy',
            image: 'registry.k8s.io/kube-proxy',
            from: { major: 1, minor: 29, patch: 3, text: 'v1.29.3' },
            to: { major: 1, minor: 28, patch: 2, text: 'v1.28.2' },
          },
        ],
      });
    });

    it('leaves unknown images, non-version tags, other namespaces and creates alone', () => {
      const other = (image: string): KubeObject => ({ ...proxyDaemonSet(image), metadata: { name: 'kube-proxy', namespace: 'default' } });
      assert.equal(context(new ClusterState(), request(DAEMONSET, 'UPDATE', proxyDaemonSet('example.com/agent:v1.0.0'), proxyDaemonSet('example.com/agent:v2.0.0'))), undefined);
      assert.equal(context(new ClusterState(), request(DAEMONSET, 'UPDATE', proxyDaemonSet('registry.k8s.io/kube-proxy:latest'), proxyDaemonSet('registry.k8s.io/kube-proxy:v1.29.3'))), undefined);
      assert.equal(context(new ClusterState(), request(DAEMONSET, 'UPDATE', other('registry.k8s.io/kube-proxy:v1.28.2'), other('registry.k8s.io/kube-proxy:v1.29.3'))), undefined);
      assert.equal(context(new ClusterState(), request(DAEMONSET, 'CREATE', proxyDaemonSet('registry.k8s.io/kube-proxy:v1.28.2'), null)), undefined);
    });

    it('reads coredns in a Deployment, with a digest', () => {
      const coredns = (tag: string): KubeObject => ({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'coredns', namespace: 'kube-system' },
        spec: { template: { spec: { containers: [{ name: 'coredns', image: `registry.k8s.io/coredns/coredns:${tag}@sha256:abc` }] } } },
      });
      const got = context(new ClusterState(), request(DEPLOYMENT, 'UPDATE', coredns('v1.10.1'), coredns('v1.11.1'))) as { images: Array<{ addon: string }> };
      assert.deepEqual(got.images.map((image) => image.addon), ['coredns']);
    });

    it('splits images into repository and tag', () => {
      assert.deepEqual(splitImage('registry.k8s.io/coredns/coredns:v1.11.1@sha256:abc'), { repository: 'registry.k8s.io/coredns/coredns', tag: 'v1.11.1' });
      assert.deepEqual(splitImage('localhost:5000/kube-proxy'), { repository: 'localhost:5000/kube-proxy', tag: '' });
    });
  });
});
