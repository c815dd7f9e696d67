import assert from 'node:assert/strict';
import type { AdmissionRequest, KubeObject } from '../../../src/kube/types.js';
import type { ClusterState } from '../../../src/cluster/state.js';
import { buildConfig } from '../../../src/config.js';
import { scaleToZero, type ScaleToZeroContext } from '../../../src/policies/scale-to-zero.js';
import { clusterWithBackedService } from '../../support/cluster.js';
import { admissionRequest, GVK, GVR, hpaObject, scaledObject, scaleRequest } from '../../support/requests.js';
import { deploymentObject } from '../../support/reviews.js';
import { contextOf } from '../../support/review-corpus.js';

/**
 * Issue 12 item 6: an autoscaler's own scale to zero, of a workload an autoscaler object in
 * levee's caches lets reach zero, is the `autoscaler-to-zero` rule (`autoscaled`), not a
 * refusal; so is a workload created at zero under one (the KEDA HTTP add-on pattern).
 */

const config = buildConfig();
const now = new Date('2025-01-01T00:00:00Z');
const KEDA = 'system:serviceaccount:keda:keda-operator';
const HPA_CONTROLLER = 'system:serviceaccount:kube-system:horizontal-pod-autoscaler';

function contextFor(request: AdmissionRequest, cluster: ClusterState, cfg = config): ScaleToZeroContext | undefined {
  return contextOf(scaleToZero, { request, cluster, config: cfg, now }) as ScaleToZeroContext | undefined;
}

/** The web Deployment behind its Service, with `autoscalers` in the caches as informers would put them. */
function clusterWith(...autoscalers: KubeObject[]): ClusterState {
  const cluster = clusterWithBackedService();
  for (const object of autoscalers) {
    const store = object.kind === 'HorizontalPodAutoscaler' ? cluster.hpas : cluster.kedaScalers;
    store.upsert(...store.project(object)!);
  }
  return cluster;
}

function httpScaledObject(name: string, target: string, min?: number): KubeObject {
  return {
    apiVersion: 'http.keda.sh/v1alpha1',
    kind: 'HTTPScaledObject',
    metadata: { name, namespace: 'default' },
    spec: { hosts: ['web.example'], scaleTargetRef: { name: target, kind: 'Deployment', apiVersion: 'apps/v1', service: target, port: 80 }, ...(min !== undefined ? { replicas: { min, max: 10 } } : {}) },
  };
}

/** PUT deployments/web/scale with replicas 0, as KEDA's scale client and the HPA controller send it. */
function scaleToZeroBy(username: string, name = 'web'): AdmissionRequest {
  return scaleRequest(GVR.deployments, name, 1, 0, { username });
}

describe('policies/scale-to-zero context: autoscalers', () => {
  it("calls KEDA's scale to zero `autoscaled` when a ScaledObject in the caches lets the workload reach zero", () => {
    const context = contextFor(scaleToZeroBy(KEDA), clusterWith(scaledObject('web-so', 'default', 'web')));
    assert.equal(context?.change, 'autoscaled');
    assert.deepEqual(context?.autoscaler, { kind: 'ScaledObject', name: 'web-so' });
    assert.equal(context?.replicasAfter, 0);
  });

  it('reads idleReplicaCount 0, an HTTPScaledObject at minimum 0 (its default) and an HPA at minReplicas 0 as reaching zero', () => {
    const idle = scaledObject('web-so', 'default', 'web', { minReplicaCount: 1 });
    (idle.spec as Record<string, unknown>).idleReplicaCount = 0;
    assert.equal(contextFor(scaleToZeroBy(KEDA), clusterWith(idle))?.change, 'autoscaled');
    assert.equal(contextFor(scaleToZeroBy(KEDA), clusterWith(httpScaledObject('web-http', 'web')))?.autoscaler?.kind, 'HTTPScaledObject');
    assert.equal(contextFor(scaleToZeroBy(HPA_CONTROLLER), clusterWith(hpaObject('web-hpa', 'default', 'web', 0)))?.autoscaler?.kind, 'HorizontalPodAutoscaler');
    // The HPA controller of a kube-controller-manager without --use-service-account-credentials.
    assert.equal(contextFor(scaleToZeroBy('system:kube-controller-manager'), clusterWith(hpaObject('web-hpa', 'default', 'web', 0)))?.change, 'autoscaled');
  });

  it('judges the scale as ever when no cached autoscaler lets that workload reach zero', () => {
    for (const cluster of [
      clusterWith(),
      clusterWith(scaledObject('web-so', 'default', 'web', { minReplicaCount: 1 })),
      clusterWith(httpScaledObject('web-http', 'web', 1)),
      clusterWith(hpaObject('web-hpa', 'default', 'web')),
      clusterWith(scaledObject('api-so', 'default', 'api')),
    ]) {
      assert.equal(contextFor(scaleToZeroBy(KEDA), cluster)?.change, 'replicas');
    }
  });

  it('judges a person scaling a running workload to zero as ever, even under an autoscaler that allows zero', () => {
    const cluster = clusterWith(scaledObject('web-so', 'default', 'web'));
    assert.equal(contextFor(scaleToZeroBy('alice'), cluster)?.change, 'replicas');
    const patched = admissionRequest({ kind: GVK.deployment, resource: GVR.deployments, operation: 'UPDATE', name: 'web', object: deploymentObject('web', 'default', 0, { app: 'web' }), oldObject: deploymentObject('web', 'default', 1, { app: 'web' }) });
    assert.equal(contextFor(patched, cluster)?.change, 'replicas');
  });

  it('calls a workload created at zero under such an autoscaler `autoscaled`, whoever creates it', () => {
    const create = admissionRequest({ kind: GVK.deployment, resource: GVR.deployments, operation: 'CREATE', name: 'web', object: deploymentObject('web', 'default', 0, { app: 'web' }) });
    const context = contextFor(create, clusterWith(httpScaledObject('web-http', 'web')));
    assert.equal(context?.change, 'autoscaled');
    assert.equal(context?.replicasBefore, null);
  });

  it('follows the configured autoscaler identities', () => {
    const cluster = clusterWith(scaledObject('web-so', 'default', 'web'));
    const mine = buildConfig({ policies: { 'scale-to-zero': { autoscalers: ['system:serviceaccount:autoscale:my-scaler'] } } });
    assert.equal(contextFor(scaleToZeroBy('system:serviceaccount:autoscale:my-scaler'), cluster, mine)?.change, 'autoscaled');
    assert.equal(contextFor(scaleToZeroBy(KEDA), cluster, mine)?.change, 'replicas');
  });

  it('leaves a scale above zero by the autoscaler as a plain change of replicas', () => {
    const request = scaleToZeroBy(KEDA);
    request.object = { kind: 'Scale', spec: { replicas: 3 } };
    assert.equal(contextFor(request, clusterWith(scaledObject('web-so', 'default', 'web')))?.change, 'replicas');
  });

  it('describes an HTTPScaledObject written with minimum 0 (or none) as an autoscaler that can reach zero', () => {
    const gvk = { group: 'http.keda.sh', version: 'v1alpha1', kind: 'HTTPScaledObject' };
    const gvr = { group: 'http.keda.sh', version: 'v1alpha1', resource: 'httpscaledobjects' };
    const write = (object: KubeObject) => admissionRequest({ kind: gvk, resource: gvr, operation: 'CREATE', name: 'web-http', object });
    assert.equal(contextFor(write(httpScaledObject('web-http', 'web')), clusterWith())?.change, 'autoscaler');
    assert.equal(contextFor(write(httpScaledObject('web-http', 'web', 0)), clusterWith())?.autoscaler?.kind, 'HTTPScaledObject');
    assert.equal(contextFor(write(httpScaledObject('web-http', 'web', 1)), clusterWith()), undefined);
  });
});
