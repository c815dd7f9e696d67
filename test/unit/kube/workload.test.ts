import assert from 'node:assert/strict';
import type { KubeObject } from '../../../src/kube/types.js';
import { isScalableKind, replicasOf, scaleTarget, workloadFromObject, workloadKey } from '../../../src/kube/workload.js';
import { admissionRequest, GVK, GVR, requestOf, statefulSetObject } from '../../support/requests.js';
import { deploymentObject, scaleReview } from '../../support/reviews.js';

describe('kube/workload', () => {
  describe('workloadKey', () => {
    it('tells apart kinds that share a name and namespace', () => {
      const deployment = workloadKey({ kind: 'Deployment', namespace: 'default', name: 'web' });
      const statefulSet = workloadKey({ kind: 'StatefulSet', namespace: 'default', name: 'web' });
      assert.equal(deployment, 'Deployment/default/web');
      assert.notEqual(deployment, statefulSet);
    });
  });

  describe('isScalableKind', () => {
    it('accepts Deployment, StatefulSet and ReplicaSet only', () => {
      assert.deepEqual(
        ['Deployment', 'StatefulSet', 'ReplicaSet', 'DaemonSet', 'Job', 'deployment', '', undefined].map(isScalableKind),
        [true, true, true, false, false, false, false, false],
      );
    });
  });

  describe('scaleTarget', () => {
    it('names the Deployment behind a deployments/scale request', () => {
      assert.deepEqual(scaleTarget(requestOf(scaleReview({ name: 'api', namespace: 'shop', replicas: 0 }))), {
        kind: 'Deployment',
        namespace: 'shop',
        name: 'api',
      });
    });

    it('names the StatefulSet behind a statefulsets/scale request', () => {
      const request = admissionRequest({ kind: GVK.scale, resource: GVR.statefulsets, subResource: 'scale', operation: 'UPDATE', name: 'db', namespace: 'data' });
      assert.deepEqual(scaleTarget(request), { kind: 'StatefulSet', namespace: 'data', name: 'db' });
    });

    it('ignores requests that are not on the scale subresource', () => {
      const plain = admissionRequest({ kind: GVK.deployment, resource: GVR.deployments, operation: 'UPDATE', name: 'web' });
      const status = admissionRequest({ kind: GVK.deployment, resource: GVR.deployments, subResource: 'status', operation: 'UPDATE', name: 'web' });
      assert.equal(scaleTarget(plain), undefined);
      assert.equal(scaleTarget(status), undefined);
    });

    it('ignores the scale subresource of resources outside the apps group', () => {
      const custom = admissionRequest({
        kind: GVK.scale,
        resource: { group: 'example.com', version: 'v1', resource: 'deployments' },
        subResource: 'scale',
        operation: 'UPDATE',
        name: 'web',
      });
      const rollout = admissionRequest({
        kind: GVK.scale,
        resource: { group: 'apps', version: 'v1', resource: 'daemonsets' },
        subResource: 'scale',
        operation: 'UPDATE',
        name: 'web',
      });
      assert.equal(scaleTarget(custom), undefined);
      assert.equal(scaleTarget(rollout), undefined);
    });

    it('ignores a scale request without a name', () => {
      const request = admissionRequest({ kind: GVK.scale, resource: GVR.deployments, subResource: 'scale', operation: 'UPDATE' });
      assert.equal(scaleTarget(request), undefined);
    });
  });

  describe('replicasOf', () => {
    it('reads spec.replicas, including zero', () => {
      assert.equal(replicasOf(deploymentObject('web', 'default', 0, { app: 'web' })), 0);
      assert.equal(replicasOf(deploymentObject('web', 'default', 7, { app: 'web' })), 7);
    });

    it('reads a Scale object', () => {
      assert.equal(replicasOf({ kind: 'Scale', spec: { replicas: 4 } }), 4);
    });

    it('reads a Scale to zero, whose replicas the API server omits (omitempty), as 0', () => {
      assert.equal(replicasOf({ kind: 'Scale', apiVersion: 'autoscaling/v1', spec: {} }), 0);
    });

    it('defaults an absent spec or spec.replicas to 1, as the API server does', () => {
      assert.equal(replicasOf({ kind: 'Deployment' }), 1);
      assert.equal(replicasOf({ kind: 'Deployment', spec: {} }), 1);
      assert.equal(replicasOf({ kind: 'Deployment', spec: { replicas: '0' } }), 1);
    });

    it('is undefined without an object', () => {
      assert.equal(replicasOf(null), undefined);
    });
  });

  describe('workloadFromObject', () => {
    it('views a Deployment: ref, replicas, pod template labels and levee\'s own annotations only', () => {
      const object = deploymentObject('web', 'shop', 2, { app: 'web', tier: 'front' }, {
        team: 'payments',
        'kubectl.kubernetes.io/last-applied-configuration': '{"apiVersion":"apps/v1"}',
        'levee.dev/override': 'scale-to-zero',
        'levee.dev/override-reason': 'INC-1',
      });
      assert.deepEqual(workloadFromObject(object), {
        ref: { kind: 'Deployment', namespace: 'shop', name: 'web' },
        uid: 'uid-web',
        replicas: 2,
        podLabels: { app: 'web', tier: 'front' },
        annotations: { 'levee.dev/override': 'scale-to-zero', 'levee.dev/override-reason': 'INC-1' },
      });
      assert.deepEqual(workloadFromObject(deploymentObject('api', 'shop', 1, { app: 'api' }, { team: 'payments' }))?.annotations, {});
    });

    it('views a StatefulSet', () => {
      const view = workloadFromObject(statefulSetObject('db', 'data', 0, { app: 'db' }));
      assert.deepEqual(view?.ref, { kind: 'StatefulSet', namespace: 'data', name: 'db' });
      assert.equal(view?.replicas, 0);
    });

    it('uses the request namespace when the object has none, then default', () => {
      const object: KubeObject = { kind: 'Deployment', metadata: { name: 'web' }, spec: { replicas: 1 } };
      assert.equal(workloadFromObject(object, 'shop')?.ref.namespace, 'shop');
      assert.equal(workloadFromObject(object)?.ref.namespace, 'default');
    });

    it('uses the pod template labels, not the workload labels', () => {
      const object: KubeObject = {
        kind: 'Deployment',
        metadata: { name: 'web', namespace: 'default', labels: { owner: 'team-a' } },
        spec: { template: { metadata: { labels: { app: 'web' } } } },
      };
      assert.deepEqual(workloadFromObject(object)?.podLabels, { app: 'web' });
    });

    it('keeps only string label values and tolerates a missing template', () => {
      const object: KubeObject = {
        kind: 'ReplicaSet',
        metadata: { name: 'rs', namespace: 'default' },
        spec: { template: { metadata: { labels: { app: 'rs', broken: 3 } } } },
      };
      assert.deepEqual(workloadFromObject(object)?.podLabels, { app: 'rs' });
      assert.deepEqual(workloadFromObject({ kind: 'ReplicaSet', metadata: { name: 'bare' } })?.podLabels, {});
    });

    it('is undefined for other kinds and for no object', () => {
      assert.equal(workloadFromObject({ kind: 'DaemonSet', metadata: { name: 'agent' } }), undefined);
      assert.equal(workloadFromObject({ kind: 'Service', metadata: { name: 'web' } }), undefined);
      assert.equal(workloadFromObject(null), undefined);
    });
  });
});
