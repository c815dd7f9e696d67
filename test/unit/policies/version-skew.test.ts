import assert from 'node:assert/strict';
import type { AdmissionRequest, KubeObject } from '../../../src/kube/types.js';
import { ClusterState } from '../../../src/cluster/state.js';
import { parseKubeVersion } from '../../../src/cluster/versions.js';
import { buildConfig } from '../../../src/config.js';
import { splitImage } from '../../../src/policies/version-skew-addons.js';
import { versionSkew, type IntentContext, type NodeVersionContext } from '../../../src/policies/version-skew.js';
import { DAEMONSET, DEPLOYMENT, KCP, MD, kcpObject, machineDeploymentObject, NODE, nodeObject, request } from '../../support/fleet.js';

const config = buildConfig();

function context(cluster: ClusterState, admission: AdmissionRequest): unknown {
  return versionSkew.buildContext({ request: admission, cluster, config, now: new Date(0) });
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
