import assert from 'node:assert/strict';
import type { KubeObject } from '../../../src/kube/types.js';
import {
  objectKey,
  selectorPairs,
  toEndpointSliceView,
  toPodView,
  toReplicaSetView,
  toServiceView,
  toWorkloadView,
} from '../../../src/cluster/views.js';
import { controllerRef, replicaSetObject } from '../../support/requests.js';
import { deploymentObject } from '../../support/reviews.js';

function slice(endpoints: unknown[] | null, labels: Record<string, string> = { 'kubernetes.io/service-name': 'web' }): KubeObject {
  return { kind: 'EndpointSlice', metadata: { name: 'web-abcde', namespace: 'default', labels }, addressType: 'IPv4', endpoints };
}

describe('cluster/views', () => {
  describe('objectKey', () => {
    it('is namespace/name, or the name alone for cluster-scoped objects', () => {
      assert.equal(objectKey('default', 'web'), 'default/web');
      assert.equal(objectKey(undefined, 'node-1'), 'node-1');
      assert.equal(objectKey('', 'node-1'), 'node-1');
    });
  });

  describe('toServiceView', () => {
    it('keeps namespace, name and selector', () => {
      assert.deepEqual(toServiceView({ kind: 'Service', metadata: { name: 'web', namespace: 'shop' }, spec: { selector: { app: 'web' }, ports: [{ port: 80 }] } }), {
        namespace: 'shop',
        name: 'web',
        selector: { app: 'web' },
      });
    });

    it('gives an empty selector for a Service without one', () => {
      assert.deepEqual(toServiceView({ kind: 'Service', metadata: { name: 'ext', namespace: 'shop' }, spec: { type: 'ExternalName' } }).selector, {});
      assert.deepEqual(toServiceView({ kind: 'Service', metadata: { name: 'ext', namespace: 'shop' }, spec: { selector: null } }).selector, {});
      assert.deepEqual(toServiceView({ kind: 'Service', metadata: { name: 'ext', namespace: 'shop' } }).selector, {});
    });
  });

  describe('toEndpointSliceView', () => {
    it('takes the Service name from the kubernetes.io/service-name label', () => {
      const view = toEndpointSliceView(slice([]));
      assert.equal(view.serviceName, 'web');
      assert.equal(view.namespace, 'default');
      assert.equal(view.name, 'web-abcde');
      assert.equal(toEndpointSliceView(slice([], {})).serviceName, '');
    });

    it('reads ready true, false, null and absent; only false is not ready', () => {
      const view = toEndpointSliceView(
        slice([
          { addresses: ['10.0.0.1'], conditions: { ready: true } },
          { addresses: ['10.0.0.2'], conditions: { ready: false } },
          { addresses: ['10.0.0.3'], conditions: { ready: null } },
          { addresses: ['10.0.0.4'], conditions: {} },
          { addresses: ['10.0.0.5'] },
        ]),
      );
      assert.deepEqual(view.endpoints.map((endpoint) => endpoint.ready), [true, false, true, true, true]);
    });

    it('names the pod only when the target is a Pod', () => {
      const view = toEndpointSliceView(
        slice([
          { addresses: ['10.0.0.1'], targetRef: { kind: 'Pod', name: 'web-1', namespace: 'default' } },
          { addresses: ['10.0.0.2'], targetRef: { kind: 'Node', name: 'node-1' } },
          { addresses: ['10.0.0.3'] },
        ]),
      );
      assert.deepEqual(view.endpoints, [{ ready: true, podName: 'web-1' }, { ready: true }, { ready: true }]);
    });

    it('treats a slice with null endpoints as empty', () => {
      assert.deepEqual(toEndpointSliceView(slice(null)).endpoints, []);
    });
  });

  describe('toPodView and toReplicaSetView', () => {
    it('keep the controlling owner', () => {
      const pod: KubeObject = { kind: 'Pod', metadata: { name: 'web-1', namespace: 'default', ownerReferences: [controllerRef('ReplicaSet', 'web-rs')] } };
      assert.deepEqual(toPodView(pod), { namespace: 'default', name: 'web-1', owner: { kind: 'ReplicaSet', name: 'web-rs', uid: 'uid-web-rs' } }, 'a pod keeps the uid its controller reference names, to tell its controller from a forged reference');
      const rs = toReplicaSetView(replicaSetObject('web-rs', 'default', 2, { app: 'web' }, controllerRef('Deployment', 'web')));
      assert.equal(rs.namespace, 'default');
      assert.equal(rs.name, 'web-rs');
      assert.deepEqual(rs.owner, { kind: 'Deployment', name: 'web', uid: 'uid-web' }, "a ReplicaSet keeps its Deployment's uid, to tell a rollout step from a forged reference");
    });

    it('give a ReplicaSet the hash of its pod template, the same across pod-template-hash labels', () => {
      const first = toReplicaSetView(replicaSetObject('web-aaa', 'default', 1, { app: 'web', 'pod-template-hash': 'aaa' }));
      const rolledBack = toReplicaSetView(replicaSetObject('web-bbb', 'default', 1, { app: 'web', 'pod-template-hash': 'bbb' }));
      const changed = toReplicaSetView(replicaSetObject('web-ccc', 'default', 1, { app: 'web', version: 'v2', 'pod-template-hash': 'ccc' }));
      assert.ok(first.templateHash);
      assert.equal(rolledBack.templateHash, first.templateHash);
      assert.notEqual(changed.templateHash, first.templateHash);
      assert.equal(toReplicaSetView({ kind: 'ReplicaSet', metadata: { name: 'bare', namespace: 'default' } }).templateHash, undefined);
    });

    it('have no owner key when nothing controls the object', () => {
      const pod = toPodView({ kind: 'Pod', metadata: { name: 'debug', namespace: 'default' } });
      assert.deepEqual(pod, { namespace: 'default', name: 'debug' });
      assert.equal('owner' in pod, false);
      assert.equal('owner' in toReplicaSetView(replicaSetObject('bare', 'default', 1, { app: 'bare' })), false);
    });
  });

  describe('toWorkloadView', () => {
    it('views scalable kinds and nothing else', () => {
      assert.deepEqual(toWorkloadView(deploymentObject('web', 'default', 2, { app: 'web' }))?.ref, { kind: 'Deployment', namespace: 'default', name: 'web' });
      assert.equal(toWorkloadView({ kind: 'DaemonSet', metadata: { name: 'agent', namespace: 'kube-system' } }), undefined);
      assert.equal(toWorkloadView({ metadata: { name: 'no-kind' } }), undefined);
    });
  });

  describe('selectorPairs', () => {
    it('makes one namespaced key=value entry per label', () => {
      assert.deepEqual(selectorPairs('shop', { app: 'web', tier: 'front' }).sort(), ['shop/app=web', 'shop/tier=front']);
      assert.deepEqual(selectorPairs('shop', {}), []);
    });

    it('keeps the same label apart in different namespaces', () => {
      assert.notDeepEqual(selectorPairs('a', { app: 'web' }), selectorPairs('b', { app: 'web' }));
    });
  });
});
