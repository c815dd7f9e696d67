import assert from 'node:assert/strict';
import type { AdmissionRequest } from '../../../src/kube/types.js';
import { ClusterState } from '../../../src/cluster/state.js';
import { buildConfig } from '../../../src/config.js';
import { scaleToZero, type ScaleToZeroContext } from '../../../src/policies/scale-to-zero.js';
import { toPodView, toServiceView } from '../../../src/cluster/views.js';
import { addDeploymentWithPods, addEndpointSlice, addReplicaSet, addService, clusterWithBackedService } from '../../support/cluster.js';
import {
  admissionRequest,
  controllerRef,
  GVK,
  GVR,
  hpaObject,
  replicaSetObject,
  requestOf,
  scaledObject,
  scaleRequest,
  statefulSetObject,
} from '../../support/requests.js';
import { deploymentReview, scaleReview } from '../../support/reviews.js';
import { contextOf } from '../../support/review-corpus.js';

const config = buildConfig();
const now = new Date('2025-01-01T00:00:00Z');

function contextFor(request: AdmissionRequest, cluster: ClusterState = clusterWithBackedService()): ScaleToZeroContext | undefined {
  return contextOf(scaleToZero, { request, cluster, config, now }) as ScaleToZeroContext | undefined;
}

const webService = { name: 'web', readyEndpoints: 3, ownReadyEndpoints: 3, otherReadyEndpoints: 0, otherBackends: [] };

describe('policies/scale-to-zero context', () => {
  it('is registered under the scale-to-zero id', () => {
    assert.equal(scaleToZero.id, 'scale-to-zero');
  });

  describe('workload updates and creates', () => {
    it('describes an UPDATE from 3 to 0 replicas with the Service that selects the pods', () => {
      assert.deepEqual(contextFor(requestOf(deploymentReview({ replicas: 0, oldReplicas: 3 }))), {
        target: { kind: 'Deployment', namespace: 'default', name: 'web' },
        change: 'replicas',
        replicasBefore: 3,
        replicasAfter: 0,
        services: [webService],
      });
    });

    it('describes a CREATE with 0 replicas as coming from nothing', () => {
      const context = contextFor(requestOf(deploymentReview({ replicas: 0, operation: 'CREATE' })));
      assert.equal(context?.change, 'replicas');
      assert.equal(context?.replicasBefore, null);
      assert.equal(context?.replicasAfter, 0);
    });

    it('lists no Services when none selects the pod template', () => {
      const context = contextFor(requestOf(deploymentReview({ replicas: 0, labels: { app: 'batch' } })));
      assert.deepEqual(context?.services, []);
    });

    it('counts what else backs the Service', () => {
      const cluster = clusterWithBackedService({ ready: 2 });
      addDeploymentWithPods(cluster, 'web-v2', 'default', 1, { app: 'web' });
      addEndpointSlice(cluster, 'web', 'default', 'web-fghij', [{ pod: 'web-v2-rs-0', ready: true }]);
      const context = contextFor(requestOf(deploymentReview({ replicas: 0 })), cluster);
      assert.deepEqual(context?.services, [{ name: 'web', readyEndpoints: 3, ownReadyEndpoints: 2, otherReadyEndpoints: 1, otherBackends: ['Deployment/web-v2'] }]);
    });

    it('describes a StatefulSet update', () => {
      const request = admissionRequest({
        kind: GVK.statefulSet,
        resource: GVR.statefulsets,
        operation: 'UPDATE',
        name: 'db',
        object: statefulSetObject('db', 'default', 0, { app: 'db' }),
        oldObject: statefulSetObject('db', 'default', 2, { app: 'db' }),
      });
      const context = contextFor(request);
      assert.deepEqual(context?.target, { kind: 'StatefulSet', namespace: 'default', name: 'db' });
      assert.equal(context?.replicasBefore, 2);
      assert.equal(context?.replicasAfter, 0);
    });

    it('judges a ReplicaSet that nothing controls', () => {
      const request = admissionRequest({
        kind: GVK.replicaSet,
        resource: GVR.replicasets,
        operation: 'UPDATE',
        name: 'bare',
        object: replicaSetObject('bare', 'default', 0, { app: 'web' }),
        oldObject: replicaSetObject('bare', 'default', 2, { app: 'web' }),
      });
      const context = contextFor(request);
      assert.deepEqual(context?.target, { kind: 'ReplicaSet', namespace: 'default', name: 'bare' });
      assert.deepEqual(context?.services.map((svc) => svc.name), ['web']);
    });

    it('ignores a ReplicaSet that a Deployment controls, scaled by the Deployment controller', () => {
      const owner = controllerRef('Deployment', 'web');
      const request = admissionRequest({
        kind: GVK.replicaSet,
        resource: GVR.replicasets,
        operation: 'UPDATE',
        name: 'web-rs',
        object: replicaSetObject('web-rs', 'default', 0, { app: 'web' }, owner),
        oldObject: replicaSetObject('web-rs', 'default', 3, { app: 'web' }, owner),
        username: 'system:serviceaccount:kube-system:deployment-controller',
      });
      assert.equal(contextFor(request), undefined);
    });
  });

  it('judges a kube-system Deployment too (the warn-only registration sends it)', () => {
    const cluster = clusterWithBackedService({ name: 'coredns', namespace: 'kube-system' });
    const context = contextFor(requestOf(deploymentReview({ name: 'coredns', namespace: 'kube-system', replicas: 0, oldReplicas: 2 })), cluster);
    assert.deepEqual([context?.change, context?.replicasAfter, context?.services.map((service) => service.name)], ['replicas', 0, ['coredns']]);
  });

  describe('the scale subresource', () => {
    it('looks the parent Deployment up in the cluster state for its pod labels', () => {
      const context = contextFor(requestOf(scaleReview({ replicas: 0, oldReplicas: 3 })));
      assert.deepEqual(context, {
        target: { kind: 'Deployment', namespace: 'default', name: 'web' },
        change: 'replicas',
        replicasBefore: 3,
        replicasAfter: 0,
        services: [webService],
      });
    });

    it('describes a scale that leaves replicas where they are as no change', () => {
      const context = contextFor(requestOf(scaleReview({ replicas: 0, oldReplicas: 0 })));
      assert.deepEqual([context?.change, context?.replicasBefore, context?.replicasAfter], ['replicas', 0, 0]);
    });

    it('has nothing to judge when the parent is not in the cluster state', () => {
      assert.equal(contextFor(requestOf(scaleReview({ name: 'unknown', replicas: 0 }))), undefined);
    });

    it('ignores scaling a ReplicaSet that a Deployment controls, by the Deployment controller', () => {
      const cluster = clusterWithBackedService();
      addReplicaSet(cluster, replicaSetObject('web-rs', 'default', 3, { app: 'web' }, controllerRef('Deployment', 'web')));
      const request = scaleRequest(GVR.replicasets, 'web-rs', 3, 0, { username: 'system:serviceaccount:kube-system:deployment-controller' });
      assert.equal(contextFor(request, cluster), undefined);
    });
  });

  describe('DELETE', () => {
    it('describes deleting a workload as going from its replicas to 0', () => {
      const context = contextFor(requestOf(deploymentReview({ operation: 'DELETE', replicas: 0, oldReplicas: 2 })));
      assert.equal(context?.change, 'delete');
      assert.equal(context?.replicasBefore, 2);
      assert.equal(context?.replicasAfter, 0);
      assert.deepEqual(context?.services.map((svc) => svc.name), ['web']);
    });

    it('falls back to the cluster state when the API server sends no oldObject', () => {
      const request = admissionRequest({ kind: GVK.deployment, resource: GVR.deployments, operation: 'DELETE', name: 'web' });
      const context = contextFor(request);
      assert.equal(context?.change, 'delete');
      assert.equal(context?.replicasBefore, 3);
    });

    it('ignores deleting a ReplicaSet that a Deployment controls, by the Deployment controller', () => {
      const request = admissionRequest({
        kind: GVK.replicaSet,
        resource: GVR.replicasets,
        operation: 'DELETE',
        name: 'web-rs',
        oldObject: replicaSetObject('web-rs', 'default', 3, { app: 'web' }, controllerRef('Deployment', 'web')),
        username: 'system:serviceaccount:kube-system:deployment-controller',
      });
      assert.equal(contextFor(request), undefined);
    });
  });

  describe('DaemonSets and bare Pods', () => {
    const MACHINERY = ['system:serviceaccount:kube-system:replicaset-controller', 'system:serviceaccount:kube-system:generic-garbage-collector', 'system:node:worker-1', 'system:kube-controller-manager'];

    function barePodCluster(): ClusterState {
      const cluster = new ClusterState();
      cluster.pods.upsert('default/solo', toPodView({ kind: 'Pod', metadata: { name: 'solo', namespace: 'default', labels: { app: 'solo' } } }));
      addService(cluster, 'solo', 'default', { app: 'solo' }, ['solo']);
      for (const store of cluster.allStores()) store.markSynced();
      return cluster;
    }
    const barePod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'solo', namespace: 'default', labels: { app: 'solo' } }, spec: { containers: [{ name: 'app', image: 'app:1' }] } };
    const podRequest = (operation: 'DELETE' | 'UPDATE', username = 'alice', labels?: Record<string, string>) =>
      admissionRequest({ kind: GVK.pod, resource: GVR.pods, operation, name: 'solo', oldObject: barePod, object: labels ? { ...barePod, metadata: { ...barePod.metadata, labels } } : null, username });

    it("describes a bare Pod's delete as its Service's backend going to 0", () => {
      const context = contextFor(podRequest('DELETE'), barePodCluster());
      assert.deepEqual(context, {
        target: { kind: 'Pod', namespace: 'default', name: 'solo' },
        change: 'delete',
        replicasBefore: 1,
        replicasAfter: 0,
        services: [{ name: 'solo', readyEndpoints: 1, ownReadyEndpoints: 1, otherReadyEndpoints: 0, otherBackends: [] }],
      });
    });

    it('describes relabelling a bare Pod out of its Service as a relabel of it', () => {
      const context = contextFor(podRequest('UPDATE', 'alice', { app: 'quarantined' }), barePodCluster());
      assert.equal(context?.change, 'relabel');
      assert.deepEqual(context?.services.map((svc) => svc.name), ['solo']);
      assert.equal(contextFor(podRequest('UPDATE', 'alice', { app: 'solo' }), barePodCluster()), undefined, 'same labels: no relabel');
    });

    it('describes relabelling a bare Pod through pods/status as a relabel of it (the API server keeps a status update\'s new labels)', () => {
      const statusUpdate = (labels: Record<string, string>) => ({ ...podRequest('UPDATE', 'alice', labels), subResource: 'status' });
      const context = contextFor(statusUpdate({ app: 'quarantined' }), barePodCluster());
      assert.deepEqual([context?.change, context?.target.kind, context?.services.map((svc) => svc.name)], ['relabel', 'Pod', ['solo']]);
      assert.equal(contextFor(statusUpdate({ app: 'solo' }), barePodCluster()), undefined, 'a status update that keeps the labels: nothing to judge');
      // Other subresources of a pod carry no labels of its own.
      for (const subResource of ['ephemeralcontainers', 'resize', 'binding', 'eviction']) {
        assert.equal(contextFor({ ...podRequest('UPDATE', 'alice', { app: 'quarantined' }), subResource }, barePodCluster()), undefined, subResource);
      }
    });

    const eviction = (pod: string, username = 'alice') =>
      admissionRequest({
        kind: { group: 'policy', version: 'v1', kind: 'Eviction' },
        resource: GVR.pods,
        subResource: 'eviction',
        operation: 'CREATE',
        name: pod,
        object: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: pod, namespace: 'default' } },
        username,
      });

    it("describes evicting a bare Pod (kubectl drain) as its Service's backend going to 0, its Services read from the endpoints", () => {
      const cluster = barePodCluster();
      // A second Service the pod is an endpoint of, with another bare pod behind it too.
      cluster.pods.upsert('default/other', toPodView({ kind: 'Pod', metadata: { name: 'other', namespace: 'default' } }));
      addEndpointSlice(cluster, 'shared', 'default', 'shared-abcde', [{ pod: 'solo' }, { pod: 'other' }]);
      cluster.services.upsert('default/shared', toServiceView({ kind: 'Service', metadata: { name: 'shared', namespace: 'default' }, spec: { selector: { tier: 'web' } } }));
      const context = contextFor(eviction('solo'), cluster);
      assert.deepEqual(context, {
        target: { kind: 'Pod', namespace: 'default', name: 'solo' },
        change: 'evict',
        replicasBefore: 1,
        replicasAfter: 0,
        services: [
          { name: 'shared', readyEndpoints: 2, ownReadyEndpoints: 1, otherReadyEndpoints: 1, otherBackends: ['Pod/other'] },
          { name: 'solo', readyEndpoints: 1, ownReadyEndpoints: 1, otherReadyEndpoints: 0, otherBackends: [] },
        ],
      });
    });

    it('describes evictions by autoscalers outside kube-system and by people as a bare pod\'s, whatever the Eviction\'s version or where its dry run is written', () => {
      for (const username of ['system:serviceaccount:karpenter:karpenter', 'system:serviceaccount:cluster-autoscaler:cluster-autoscaler', 'system:admin']) {
        assert.equal(contextFor(eviction('solo', username), barePodCluster())?.change, 'evict', username);
      }
      const spelled = eviction('solo');
      spelled.kind = { group: 'policy', version: 'v1beta1', kind: 'Eviction' };
      spelled.object = { apiVersion: 'policy/v1beta1', kind: 'Eviction', metadata: { name: 'solo', namespace: 'default' }, deleteOptions: { dryRun: ['All'] } } as typeof spelled.object;
      assert.equal(contextFor(spelled, barePodCluster())?.change, 'evict');
    });

    it("leaves evictions of a controller's pod, of a pod levee does not hold, and the machinery's evictions alone", () => {
      const cluster = clusterWithBackedService();
      assert.equal(contextFor(eviction('web-rs-0'), cluster), undefined, "a ReplicaSet's pod: its controller replaces it");
      assert.equal(contextFor(eviction('ghost'), barePodCluster()), undefined, 'not in the cache');
      for (const username of MACHINERY) assert.equal(contextFor(eviction('solo', username), barePodCluster()), undefined, username);
    });

    it('judges the eviction of a pod whose controller reference levee cannot vouch for as a bare pod\'s', () => {
      const cluster = barePodCluster();
      cluster.pods.upsert('default/solo', toPodView({ kind: 'Pod', metadata: { name: 'solo', namespace: 'default', ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'x', uid: 'uid-x', controller: true }] } }));
      assert.equal(contextFor(eviction('solo'), cluster)?.change, 'evict', 'a ConfigMap makes no pods');
      cluster.pods.upsert('default/solo', toPodView({ kind: 'Pod', metadata: { name: 'solo', namespace: 'default', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'invented', uid: 'uid-invented', controller: true }] } }));
      assert.equal(contextFor(eviction('solo'), cluster)?.change, 'evict', 'a ReplicaSet levee does not hold');
    });

    it("leaves the cluster's own machinery's pod deletes alone", () => {
      for (const username of MACHINERY) assert.equal(contextFor(podRequest('DELETE', username), barePodCluster()), undefined, username);
    });

    it('describes deleting a DaemonSet, with the pods it scheduled', () => {
      const cluster = barePodCluster();
      const daemonSet = { apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'agent', namespace: 'default' }, spec: { template: { metadata: { labels: { app: 'solo' } }, spec: { containers: [{ name: 'agent', image: 'agent:1' }] } } }, status: { desiredNumberScheduled: 4 } };
      const context = contextFor(admissionRequest({ kind: GVK.daemonSet, resource: GVR.daemonSets, operation: 'DELETE', name: 'agent', oldObject: daemonSet }), cluster);
      assert.equal(context?.change, 'delete');
      assert.equal(context?.replicasBefore, 4);
      assert.deepEqual(context?.target, { kind: 'DaemonSet', namespace: 'default', name: 'agent' });
    });
  });

  describe('autoscalers', () => {
    function hpaRequest(minReplicas?: number, target = 'web'): AdmissionRequest {
      return admissionRequest({ kind: GVK.hpa, resource: GVR.hpas, operation: 'CREATE', name: 'web-hpa', object: hpaObject('web-hpa', 'default', target, minReplicas) });
    }

    it('describes an HPA with minReplicas 0 as an autoscaler that can reach zero', () => {
      assert.deepEqual(contextFor(hpaRequest(0)), {
        target: { kind: 'Deployment', namespace: 'default', name: 'web' },
        change: 'autoscaler',
        replicasBefore: 3,
        replicasAfter: 0,
        autoscaler: { kind: 'HorizontalPodAutoscaler', name: 'web-hpa' },
        services: [webService],
      });
    });

    it('has nothing to judge for an HPA with minReplicas 1 or the default', () => {
      assert.equal(contextFor(hpaRequest(1)), undefined);
      assert.equal(contextFor(hpaRequest()), undefined);
    });

    it('has nothing to judge for an HPA whose target is not in the cluster state', () => {
      assert.equal(contextFor(hpaRequest(0, 'missing')), undefined);
    });

    function kedaRequest(options: Parameters<typeof scaledObject>[3]): AdmissionRequest {
      return admissionRequest({
        kind: GVK.scaledObject,
        resource: GVR.scaledObjects,
        operation: 'UPDATE',
        name: 'web-so',
        object: scaledObject('web-so', 'default', 'web', options),
        oldObject: scaledObject('web-so', 'default', 'web'),
      });
    }

    it('describes a KEDA ScaledObject as able to reach zero, its default minReplicaCount', () => {
      const context = contextFor(kedaRequest({}));
      assert.equal(context?.change, 'autoscaler');
      assert.deepEqual(context?.autoscaler, { kind: 'ScaledObject', name: 'web-so' });
      assert.deepEqual(context?.target, { kind: 'Deployment', namespace: 'default', name: 'web' });
    });

    it('has nothing to judge for a ScaledObject with minReplicaCount 1', () => {
      assert.equal(contextFor(kedaRequest({ minReplicaCount: 1 })), undefined);
    });

    it('describes paused-replicas "0" as pausing the target at zero, whatever minReplicaCount says', () => {
      const context = contextFor(kedaRequest({ minReplicaCount: 2, annotations: { 'autoscaling.keda.sh/paused-replicas': '0' } }));
      assert.deepEqual(context, {
        target: { kind: 'Deployment', namespace: 'default', name: 'web' },
        change: 'paused',
        replicasBefore: 3,
        replicasAfter: 0,
        autoscaler: { kind: 'ScaledObject', name: 'web-so' },
        services: [webService],
      });
    });

    it('does not treat paused-replicas above zero as a pause at zero', () => {
      assert.equal(contextFor(kedaRequest({ minReplicaCount: 1, annotations: { 'autoscaling.keda.sh/paused-replicas': '2' } })), undefined);
    });

    it('does not treat an empty paused-replicas as a pause at zero', () => {
      for (const value of ['', ' ']) {
        assert.equal(contextFor(kedaRequest({ minReplicaCount: 1, annotations: { 'autoscaling.keda.sh/paused-replicas': value } })), undefined);
      }
    });
  });

  describe('requests it has nothing to judge', () => {
    it('gives undefined for unrelated kinds', () => {
      const configMap = admissionRequest({ kind: GVK.configMap, resource: GVR.configMaps, operation: 'UPDATE', name: 'cfg', object: { kind: 'ConfigMap', data: { replicas: '0' } } });
      assert.equal(contextFor(configMap), undefined);
    });

    it('gives undefined for an HPA-shaped object outside the autoscaling group', () => {
      const request = admissionRequest({
        kind: { group: 'example.com', version: 'v1', kind: 'HorizontalPodAutoscaler' },
        resource: { group: 'example.com', version: 'v1', resource: 'horizontalpodautoscalers' },
        operation: 'CREATE',
        object: hpaObject('web-hpa', 'default', 'web', 0),
      });
      assert.equal(contextFor(request), undefined);
    });

    it('gives undefined for other subresources of a workload', () => {
      const request = { ...requestOf(deploymentReview({ replicas: 0 })), subResource: 'status' };
      assert.equal(contextFor(request), undefined);
    });

    it('gives undefined for CONNECT', () => {
      const request = { ...requestOf(deploymentReview({ replicas: 0 })), operation: 'CONNECT' as const };
      assert.equal(contextFor(request), undefined);
    });
  });
});
