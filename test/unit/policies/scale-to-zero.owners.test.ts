import assert from 'node:assert/strict';
import type { AdmissionRequest, KubeObject, OwnerReference } from '../../../src/kube/types.js';
import type { ClusterState } from '../../../src/cluster/state.js';
import { buildConfig } from '../../../src/config.js';
import { scaleToZero, type ScaleToZeroContext } from '../../../src/policies/scale-to-zero.js';
import { addPod, addReplicaSet, addService, addWorkload, clusterWithBackedService } from '../../support/cluster.js';
import { admissionRequest, GVK, GVR, replicaSetObject, scaleRequest } from '../../support/requests.js';
import { deploymentObject } from '../../support/reviews.js';
import { contextOf } from '../../support/review-corpus.js';

/**
 * Issue 12 item 1: a controller ownerReference no longer switches scale-to-zero off. Only a
 * ReplicaSet controlled by a Deployment that levee caches with that very uid is a rollout step.
 */

const config = buildConfig();
const now = new Date('2025-01-01T00:00:00Z');

function contextFor(request: AdmissionRequest, cluster: ClusterState = clusterWithBackedService()): ScaleToZeroContext | undefined {
  return contextOf(scaleToZero, { request, cluster, config, now }) as ScaleToZeroContext | undefined;
}

const forgedToConfigMap: OwnerReference = { apiVersion: 'v1', kind: 'ConfigMap', name: 'x', uid: 'uid-of-a-real-configmap', controller: true };

function withOwner(object: KubeObject, owner: OwnerReference): KubeObject {
  return { ...object, metadata: { ...object.metadata, ownerReferences: [owner] } };
}

function update(kind: keyof typeof KINDS, object: KubeObject, oldObject: KubeObject, username = 'alice'): AdmissionRequest {
  const { gvk, gvr } = KINDS[kind];
  return admissionRequest({ kind: gvk, resource: gvr, operation: 'UPDATE', name: object.metadata?.name ?? '', object, oldObject, username });
}

const KINDS = {
  deployment: { gvk: GVK.deployment, gvr: GVR.deployments },
  replicaSet: { gvk: GVK.replicaSet, gvr: GVR.replicasets },
} as const;

describe('policies/scale-to-zero context: owners', () => {
  it('judges a Deployment whose controller reference names a ConfigMap (the forged reference of issue 12)', () => {
    const request = update('deployment', withOwner(deploymentObject('web', 'default', 0, { app: 'web' }), forgedToConfigMap), deploymentObject('web', 'default', 3, { app: 'web' }));
    const context = contextFor(request);
    assert.equal(context?.change, 'replicas');
    assert.equal(context?.replicasAfter, 0);
    assert.deepEqual(context?.services.map((service) => service.otherReadyEndpoints), [0]);
  });

  it('judges a Deployment or StatefulSet an operator controls: operators are exempted by configuration, not by a field', () => {
    const operator: OwnerReference = { apiVersion: 'example.com/v1', kind: 'App', name: 'web', uid: 'uid-app', controller: true };
    const request = update('deployment', withOwner(deploymentObject('web', 'default', 0, { app: 'web' }), operator), withOwner(deploymentObject('web', 'default', 3, { app: 'web' }), operator));
    assert.equal(contextFor(request)?.change, 'replicas');
  });

  it('judges a ReplicaSet whose controller reference names a ConfigMap, a Deployment with another uid, or one not cached', () => {
    for (const owner of [
      forgedToConfigMap,
      { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'uid-invented', controller: true },
      { apiVersion: 'apps/v1', kind: 'Deployment', name: 'gone', uid: 'uid-gone', controller: true },
      { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: '', controller: true },
      { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'web', uid: 'uid-web', controller: true },
    ]) {
      const request = update('replicaSet', replicaSetObject('web-rs', 'default', 0, { app: 'web' }, owner), replicaSetObject('web-rs', 'default', 3, { app: 'web' }, owner));
      assert.equal(contextFor(request)?.change, 'replicas', JSON.stringify(owner));
    }
  });

  it('leaves a ReplicaSet of a cached Deployment with the same uid to the Deployment when its controller sends it', () => {
    const owner: OwnerReference = { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'uid-web', controller: true };
    const request = update('replicaSet', replicaSetObject('web-rs', 'default', 0, { app: 'web' }, owner), replicaSetObject('web-rs', 'default', 3, { app: 'web' }, owner), 'system:serviceaccount:kube-system:deployment-controller');
    assert.equal(contextFor(request), undefined);
  });

  it('judges the same ReplicaSet scaled to 0 by a person: only the controller\'s step is a rollout', () => {
    const owner: OwnerReference = { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'uid-web', controller: true };
    const request = update('replicaSet', replicaSetObject('web-rs', 'default', 0, { app: 'web' }, owner), replicaSetObject('web-rs', 'default', 3, { app: 'web' }, owner));
    assert.equal(contextFor(request)?.change, 'replicas');
  });

  it('judges deleting a ReplicaSet whose controller reference is forged', () => {
    const request = admissionRequest({
      kind: GVK.replicaSet,
      resource: GVR.replicasets,
      operation: 'DELETE',
      name: 'web-rs',
      oldObject: replicaSetObject('web-rs', 'default', 3, { app: 'web' }, forgedToConfigMap),
    });
    assert.equal(contextFor(request)?.change, 'delete');
  });

  describe('replicasets/scale, whose Scale names no owner', () => {
    function scaleReplicaSet(cluster: ClusterState, owner: OwnerReference, username = 'alice'): ScaleToZeroContext | undefined {
      addReplicaSet(cluster, replicaSetObject('web-rs', 'default', 3, { app: 'web' }, owner));
      return contextFor(scaleRequest(GVR.replicasets, 'web-rs', 3, 0, { username }), cluster);
    }

    it('judges it when the cached ReplicaSet names a ConfigMap or a Deployment of another uid', () => {
      assert.equal(scaleReplicaSet(clusterWithBackedService(), forgedToConfigMap)?.change, 'replicas');
      assert.equal(scaleReplicaSet(clusterWithBackedService(), { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'uid-other', controller: true })?.change, 'replicas');
    });

    it('leaves it to the Deployment when the cached owner is that Deployment and its controller sends it', () => {
      assert.equal(scaleReplicaSet(clusterWithBackedService(), { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'uid-web', controller: true }, 'system:serviceaccount:kube-system:deployment-controller'), undefined);
    });

    it('judges it when a person sends it', () => {
      assert.notEqual(scaleReplicaSet(clusterWithBackedService(), { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'uid-web', controller: true }), undefined);
    });
  });

  describe('ReplicationControllers', () => {
    function replicationController(replicas: number): KubeObject {
      return {
        apiVersion: 'v1',
        kind: 'ReplicationController',
        metadata: { name: 'legacy', namespace: 'default', uid: 'uid-legacy' },
        spec: { replicas, selector: { app: 'legacy' }, template: { metadata: { labels: { app: 'legacy' } } } },
      };
    }
    const gvk = { group: '', version: 'v1', kind: 'ReplicationController' };
    const gvr = { group: '', version: 'v1', resource: 'replicationcontrollers' };

    it('judges a ReplicationController scaled to zero, through spec.replicas or its scale subresource', () => {
      const cluster = clusterWithBackedService();
      addWorkload(cluster, replicationController(2));
      addPod(cluster, 'legacy-a', 'default', { kind: 'ReplicationController', name: 'legacy' });
      addService(cluster, 'legacy', 'default', { app: 'legacy' }, ['legacy-a']);
      const patched = admissionRequest({ kind: gvk, resource: gvr, operation: 'UPDATE', name: 'legacy', object: replicationController(0), oldObject: replicationController(2) });
      assert.deepEqual(contextFor(patched, cluster)?.services, [{ name: 'legacy', readyEndpoints: 1, ownReadyEndpoints: 1, otherReadyEndpoints: 0, otherBackends: [] }]);
      const scaled = scaleRequest(gvr, 'legacy', 2, 0);
      assert.deepEqual(contextFor(scaled, cluster)?.target, { kind: 'ReplicationController', namespace: 'default', name: 'legacy' });
    });

    it('does not take a Deployment of another API group for one of apps', () => {
      const request = admissionRequest({
        kind: { group: 'example.com', version: 'v1', kind: 'Deployment' },
        resource: { group: 'example.com', version: 'v1', resource: 'deployments' },
        operation: 'UPDATE',
        name: 'web',
        object: deploymentObject('web', 'default', 0, { app: 'web' }),
        oldObject: deploymentObject('web', 'default', 3, { app: 'web' }),
      });
      assert.equal(contextFor(request), undefined);
    });
  });
});
