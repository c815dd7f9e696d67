import assert from 'node:assert/strict';
import { ClusterState, ownerKey } from '../../../src/cluster/state.js';
import { toWorkloadView } from '../../../src/cluster/views.js';
import { DEFAULT_CONTROLLERS } from '../../../src/config.js';
import type { KubeObject } from '../../../src/kube/types.js';
import { cachedController, isControllerIdentity, madeByItsController } from '../../../src/policies/controllers.js';

function owned(kind: string, name: string, uid: string): KubeObject {
  return { metadata: { name: 'child', namespace: 'shop', ownerReferences: [{ apiVersion: 'apps/v1', kind, name, uid, controller: true }] } };
}

function cluster(): ClusterState {
  const state = new ClusterState();
  const rs = toWorkloadView({ apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: 'web-5d8', namespace: 'shop', uid: 'uid-rs' }, spec: {} })!;
  state.workloads.upsert('ReplicaSet/shop/web-5d8', rs);
  state.owners.upsert(ownerKey('Job', 'shop', 'migrate'), 'uid-job');
  return state;
}

describe('policies/controllers', () => {
  it('believes a controller reference only to an owner of a kind that makes this kind, cached with that uid', () => {
    const state = cluster();
    assert.equal(cachedController('Pod', 'shop', owned('ReplicaSet', 'web-5d8', 'uid-rs'), state)?.name, 'web-5d8');
    assert.equal(cachedController('Pod', 'shop', owned('Job', 'migrate', 'uid-job'), state)?.kind, 'Job');
    assert.equal(cachedController('Pod', 'shop', owned('ReplicaSet', 'web-5d8', 'uid-other'), state), undefined);
    assert.equal(cachedController('Pod', 'other', owned('ReplicaSet', 'web-5d8', 'uid-rs'), state), undefined);
    assert.equal(cachedController('Pod', 'shop', owned('ConfigMap', 'web-5d8', 'uid-rs'), state), undefined);
    assert.equal(cachedController('Job', 'shop', owned('ReplicaSet', 'web-5d8', 'uid-rs'), state), undefined, 'a ReplicaSet makes no Jobs');
    assert.equal(cachedController('Pod', 'shop', null, state), undefined);
  });

  it("knows kube-controller-manager's identities by default, by exact username", () => {
    assert.equal(isControllerIdentity({ username: 'system:serviceaccount:kube-system:replicaset-controller', groups: [] }, DEFAULT_CONTROLLERS), true);
    assert.equal(isControllerIdentity({ username: 'system:kube-controller-manager', groups: [] }, DEFAULT_CONTROLLERS), true);
    assert.equal(isControllerIdentity({ username: 'system:serviceaccount:kube-system:replicaset-controller-x', groups: [] }, DEFAULT_CONTROLLERS), false);
    assert.equal(isControllerIdentity({ username: 'alice', groups: ['system:serviceaccounts:kube-system'] }, DEFAULT_CONTROLLERS), false);
  });

  it('needs both: the owner cached with that uid and a controller identity', () => {
    const state = cluster();
    const input = (username: string, object: KubeObject) => ({ kind: 'Pod', namespace: 'shop', object, user: { username, groups: [] } });
    const controller = 'system:serviceaccount:kube-system:replicaset-controller';
    assert.equal(madeByItsController(input(controller, owned('ReplicaSet', 'web-5d8', 'uid-rs')), state, DEFAULT_CONTROLLERS), true);
    assert.equal(madeByItsController(input('alice', owned('ReplicaSet', 'web-5d8', 'uid-rs')), state, DEFAULT_CONTROLLERS), false);
    assert.equal(madeByItsController(input(controller, owned('ConfigMap', 'x', 'uid-cm')), state, DEFAULT_CONTROLLERS), false);
  });
});
