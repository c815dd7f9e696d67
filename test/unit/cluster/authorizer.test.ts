import assert from 'node:assert/strict';
import { authorizationKey } from '../../../src/cluster/authorizer.js';
import type { UserInfo } from '../../../src/kube/types.js';

describe('cluster/authorizer: the answer cache key', () => {
  const alice: UserInfo = { username: 'alice', uid: 'u-1', groups: ['b', 'a'], extra: { scopes: ['read'], 'authentication.kubernetes.io/credential-id': ['X509SHA256=1'] } };

  it('keeps apart two credentials of one user that differ in uid or extra (a scoped token does not reuse an allow)', () => {
    const base = authorizationKey(alice, 'scale-to-zero');
    assert.notEqual(authorizationKey({ ...alice, uid: 'u-2' }, 'scale-to-zero'), base);
    assert.notEqual(authorizationKey({ ...alice, extra: { scopes: ['read', 'write'] } }, 'scale-to-zero'), base);
    assert.notEqual(authorizationKey({ username: 'alice', groups: ['a', 'b'] }, 'scale-to-zero'), base);
  });

  it('keeps apart groups and policies, and reads groups and extra in any order as the same user', () => {
    const base = authorizationKey(alice, 'scale-to-zero');
    assert.notEqual(authorizationKey({ ...alice, groups: ['a'] }, 'scale-to-zero'), base);
    assert.notEqual(authorizationKey(alice, 'probe-gate'), base);
    const reordered: UserInfo = { ...alice, groups: ['a', 'b'], extra: { 'authentication.kubernetes.io/credential-id': ['X509SHA256=1'], scopes: ['read'] } };
    assert.equal(authorizationKey(reordered, 'scale-to-zero'), base);
  });
});
