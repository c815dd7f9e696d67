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

  describe('a Pod that names a controller (levee audit has only the uids the manifests carry)', () => {
    const claiming = (owner: { kind: string; name: string; uid: string; apiVersion?: string }): KubeObject => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'web-x', labels, ownerReferences: [{ apiVersion: 'apps/v1', controller: true, ...owner }] },
      spec: template.spec,
    });
    const statefulSet = (uid?: string): KubeObject => ({
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'db', ...(uid ? { uid } : {}) },
      spec: { replicas: 1, selector: { matchLabels: { app: 'db' } }, template: { ...template, metadata: { labels: { app: 'db' } } } },
    });

    it('runs as itself when it names a ConfigMap, or a controller the input does not hold', () => {
      for (const owner of [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'settings', uid: 'uid-settings' }, { kind: 'StatefulSet', name: 'ghost', uid: 'uid-ghost' }, { kind: 'Deployment', name: 'web', uid: 'uid-web' }]) {
        const backing = backingOfWeb([service({ selector: labels }), claiming(owner)]);
        assert.equal(backing?.readyEndpoints, 1, `${owner.kind}: imagined running`);
      }
      assert.deepEqual(backingOfWeb([service({ selector: labels }), claiming({ apiVersion: 'v1', kind: 'ConfigMap', name: 'settings', uid: 'uid-settings' })])?.otherBackends, ['Pod/web-x']);
    });

    it('never counts as another backend when it names a StatefulSet of the input with another uid (or one without a uid)', () => {
      for (const objects of [[statefulSet('uid-db')], [statefulSet()]]) {
        const backing = backingOfWeb([service({ selector: labels }), ...objects, claiming({ kind: 'StatefulSet', name: 'db', uid: 'uid-forged' })]);
        assert.deepEqual([backing?.readyEndpoints, backing?.otherReadyEndpoints], [1, 0]);
      }
    });

    it('is its StatefulSet\'s when the input holds it with that uid (manifests exported from a cluster): no backend of its own', () => {
      const backing = backingOfWeb([service({ selector: labels }), claiming({ kind: 'StatefulSet', name: 'db', uid: 'uid-db' }), statefulSet('uid-db')]);
      // The StatefulSet's pods are labelled app=db: nothing the input runs backs Service web.
      assert.deepEqual([backing?.readyEndpoints, backing?.otherReadyEndpoints], [0, 0]);
    });
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
