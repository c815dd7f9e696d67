import assert from 'node:assert/strict';
import { controllerOf, hasController } from '../../../src/kube/owners.js';
import type { KubeObject } from '../../../src/kube/types.js';

describe('kube/owners', () => {
  describe('controllerOf', () => {
    it('takes the owner reference marked controller, not the first one', () => {
      const object: KubeObject = {
        metadata: {
          ownerReferences: [
            { apiVersion: 'v1', kind: 'ConfigMap', name: 'cm', uid: 'u1' },
            { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-rs', uid: 'u2', controller: false },
            { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-123', uid: 'u3', controller: true },
          ],
        },
      };
      assert.deepEqual(controllerOf(object), { kind: 'ReplicaSet', name: 'web-123', uid: 'u3', apiVersion: 'apps/v1' });
    });

    it('reads whatever the object carries without trusting its shape', () => {
      const odd = (ownerReferences: unknown): KubeObject => ({ metadata: { ownerReferences } as KubeObject['metadata'] });
      assert.equal(controllerOf(odd('ReplicaSet/web')), undefined);
      assert.equal(controllerOf(odd([null, 'x', 7])), undefined);
      assert.deepEqual(controllerOf(odd([{ kind: 'ReplicaSet', controller: true }])), { kind: 'ReplicaSet', name: '', uid: '', apiVersion: '' });
    });

    it('is undefined without a controller reference', () => {
      assert.equal(controllerOf({ metadata: { ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'cm', uid: 'u1' }] } }), undefined);
      assert.equal(controllerOf({ metadata: {} }), undefined);
      assert.equal(controllerOf({}), undefined);
    });
  });

  describe('hasController', () => {
    it('is true only for an object carrying a controller reference', () => {
      const owned: KubeObject = { metadata: { ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-123', uid: 'u3', controller: true }] } };
      assert.equal(hasController(owned), true);
      assert.equal(hasController({ metadata: { ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'cm', uid: 'u1' }] } }), false);
      assert.equal(hasController({}), false);
      assert.equal(hasController(null), false);
    });
  });
});
