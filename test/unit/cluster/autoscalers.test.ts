import assert from 'node:assert/strict';
import { autoscalerOf, AutoscalerStore } from '../../../src/cluster/autoscalers.js';
import type { KubeObject } from '../../../src/kube/types.js';

function object(apiVersion: string, kind: string, spec: Record<string, unknown>, annotations?: Record<string, string>): KubeObject {
  return { apiVersion, kind, metadata: { name: 'web', namespace: 'shop', ...(annotations ? { annotations } : {}) }, spec };
}

describe('cluster/autoscalers', () => {
  describe('autoscalerOf: how low each kind takes its workload', () => {
    it('an HPA: minReplicas, 1 when absent', () => {
      const hpa = (spec: Record<string, unknown>) => autoscalerOf(object('autoscaling/v2', 'HorizontalPodAutoscaler', { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' }, maxReplicas: 5, ...spec }));
      assert.equal(hpa({})?.floor, 1);
      assert.equal(hpa({ minReplicas: 0 })?.floor, 0);
      assert.deepEqual(hpa({})?.target, { kind: 'Deployment', name: 'web' });
      assert.equal(autoscalerOf(object('autoscaling/v1', 'HorizontalPodAutoscaler', { scaleTargetRef: { kind: 'StatefulSet', name: 'db' }, minReplicas: 0 }))?.target.kind, 'StatefulSet');
    });

    it('a ScaledObject: minReplicaCount, 0 when absent; idleReplicaCount below it; paused-replicas "0" pins it at zero', () => {
      const so = (spec: Record<string, unknown>, annotations?: Record<string, string>) => autoscalerOf(object('keda.sh/v1alpha1', 'ScaledObject', { scaleTargetRef: { name: 'web' }, ...spec }, annotations));
      assert.equal(so({})?.floor, 0);
      assert.deepEqual(so({})?.target, { kind: 'Deployment', name: 'web' }, 'KEDA defaults the target kind to Deployment');
      assert.equal(so({ minReplicaCount: 2 })?.floor, 2);
      assert.equal(so({ minReplicaCount: 2, idleReplicaCount: 0 })?.floor, 0);
      const paused = so({ minReplicaCount: 2 }, { 'autoscaling.keda.sh/paused-replicas': '0' });
      assert.deepEqual([paused?.floor, paused?.pausedAtZero], [0, true]);
      assert.equal(so({ minReplicaCount: 2 }, { 'autoscaling.keda.sh/paused-replicas': '3' })?.pausedAtZero, false);
    });

    it('an HTTPScaledObject: replicas.min, 0 when absent; the old scaleTargetRef.deployment spelling too', () => {
      const http = (spec: Record<string, unknown>) => autoscalerOf(object('http.keda.sh/v1alpha1', 'HTTPScaledObject', spec));
      assert.equal(http({ scaleTargetRef: { name: 'web', service: 'web', port: 80 } })?.floor, 0);
      assert.equal(http({ scaleTargetRef: { name: 'web', service: 'web', port: 80 }, replicas: { min: 1, max: 3 } })?.floor, 1);
      assert.deepEqual(http({ scaleTargetRef: { deployment: 'legacy', service: 'legacy', port: 80 } })?.target, { kind: 'Deployment', name: 'legacy' });
    });

    it('is undefined for other kinds, other groups, and survives odd shapes', () => {
      assert.equal(autoscalerOf(object('example.com/v1', 'ScaledObject', {})), undefined);
      assert.equal(autoscalerOf(object('v1', 'ConfigMap', {})), undefined);
      assert.equal(autoscalerOf(null), undefined);
      const odd = autoscalerOf({ apiVersion: 'keda.sh/v1alpha1', kind: 'ScaledObject', spec: 'not an object' });
      assert.deepEqual(odd?.target, { kind: 'Deployment', name: '' });
    });
  });

  describe('AutoscalerStore', () => {
    it('finds the autoscalers of a workload that let it reach zero, and forgets a kind', () => {
      const store = new AutoscalerStore('kedascalers');
      store.upsert(...store.project(object('keda.sh/v1alpha1', 'ScaledObject', { scaleTargetRef: { name: 'web' } }))!);
      store.upsert(...store.project({ ...object('http.keda.sh/v1alpha1', 'HTTPScaledObject', { scaleTargetRef: { name: 'web' }, replicas: { min: 2 } }), metadata: { name: 'web-http', namespace: 'shop' } })!);
      assert.deepEqual(store.allowingZero('shop', 'Deployment', 'web').map((view) => view.kind), ['ScaledObject']);
      assert.deepEqual(store.allowingZero('other', 'Deployment', 'web'), []);
      store.removeKind('ScaledObject');
      assert.equal(store.size, 1);
      assert.deepEqual(store.allowingZero('shop', 'Deployment', 'web'), []);
    });
  });
});
