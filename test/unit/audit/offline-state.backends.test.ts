import assert from 'node:assert/strict';
import { stateFromManifests } from '../../../src/audit/offline-state.js';
import type { KubeObject } from '../../../src/kube/types.js';
import { deploymentObject } from '../../support/reviews.js';

/** Issue 12 item 7 in `levee audit -f`: whatever the manifests run behind a Service backs it. */

const labels = { app: 'web' };
const service = (spec: Record<string, unknown>): KubeObject => ({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' }, spec });
const template = { metadata: { labels }, spec: { containers: [{ name: 'app', image: 'web:1' }] } };

function backingOfWeb(objects: KubeObject[]) {
  const cluster = stateFromManifests([deploymentObject('web', '', 0, labels), ...objects], 'shop');
  const [svc] = cluster.servicesSelecting('shop', labels);
  return svc ? cluster.backingOf(svc, { kind: 'Deployment', namespace: 'shop', name: 'web' }) : undefined;
}

describe('audit/offline-state: other backends in the manifests', () => {
  it('imagines a DaemonSet ready behind the Services that select its pods', () => {
    const backing = backingOfWeb([service({ selector: labels }), { apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'web-node' }, spec: { template } }]);
    assert.deepEqual(backing?.otherBackends, ['DaemonSet/web-node']);
  });

  it('imagines a ReplicationController with replicas, but not one at zero', () => {
    const rc = (replicas: number): KubeObject => ({ apiVersion: 'v1', kind: 'ReplicationController', metadata: { name: 'web-rc' }, spec: { replicas, selector: labels, template } });
    assert.deepEqual(backingOfWeb([service({ selector: labels }), rc(2)])?.otherBackends, ['ReplicationController/web-rc']);
    assert.equal(backingOfWeb([service({ selector: labels }), rc(0)])?.otherReadyEndpoints, 0);
  });

  it('imagines a bare Pod as its own backend', () => {
    const pod: KubeObject = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-debug', labels }, spec: template.spec };
    assert.deepEqual(backingOfWeb([service({ selector: labels }), pod])?.otherBackends, ['Pod/web-debug']);
  });

  it('never counts a Job as a backend: its pods end', () => {
    const job: KubeObject = { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'migrate' }, spec: { template } };
    assert.equal(backingOfWeb([service({ selector: labels }), job])?.otherReadyEndpoints, 0);
  });

  it('finds no Service in an ExternalName Service with a leftover selector', () => {
    assert.equal(backingOfWeb([service({ type: 'ExternalName', externalName: 'web.example.com', selector: labels })]), undefined);
  });

  it('reads the autoscalers in the manifests', () => {
    const cluster = stateFromManifests(
      [
        { apiVersion: 'keda.sh/v1alpha1', kind: 'ScaledObject', metadata: { name: 'web' }, spec: { scaleTargetRef: { name: 'web' } } },
        { apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata: { name: 'api' }, spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'api' }, maxReplicas: 3 } },
      ],
      'shop',
    );
    assert.deepEqual(cluster.autoscalersAllowingZero({ kind: 'Deployment', namespace: 'shop', name: 'web' }).map((view) => view.name), ['web']);
    assert.deepEqual(cluster.autoscalersAllowingZero({ kind: 'Deployment', namespace: 'shop', name: 'api' }), []);
    assert.equal(cluster.hpas.size, 1);
  });
});
