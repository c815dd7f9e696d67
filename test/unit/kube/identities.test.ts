import assert from 'node:assert/strict';
import { identityMatcher } from '../../../src/kube/identities.js';
import type { UserInfo } from '../../../src/kube/types.js';

function user(username: string, groups: string[] = []): UserInfo {
  return { username, groups };
}

describe('kube/identities', () => {
  const matcher = identityMatcher({
    users: ['ci-bot', 'deploy-*'],
    groups: ['gitops'],
    serviceAccounts: ['*/argocd-application-controller', 'flux-system/kustomize-controller'],
  });

  it('matches a service account by namespace/name, in any namespace where the pattern says *', () => {
    assert.equal(matcher.match(user('system:serviceaccount:argocd:argocd-application-controller')), 'service account */argocd-application-controller');
    assert.equal(matcher.match(user('system:serviceaccount:team-a:argocd-application-controller')), 'service account */argocd-application-controller');
    assert.equal(matcher.match(user('system:serviceaccount:flux-system:kustomize-controller')), 'service account flux-system/kustomize-controller');
  });

  it('does not let a * reach across the namespace/name boundary, nor match another name', () => {
    assert.equal(matcher.match(user('system:serviceaccount:other:kustomize-controller')), undefined);
    assert.equal(matcher.match(user('system:serviceaccount:argocd:argocd-application-controller-2')), undefined);
    assert.equal(matcher.match(user('system:serviceaccount:a:b:argocd-application-controller')), undefined);
  });

  it('matches usernames exactly or by pattern, and groups exactly', () => {
    assert.equal(matcher.match(user('ci-bot')), 'user ci-bot');
    assert.equal(matcher.match(user('deploy-prod')), 'user deploy-*');
    assert.equal(matcher.match(user('ci-bot-2')), undefined);
    assert.equal(matcher.match(user('alice', ['system:authenticated', 'gitops'])), 'group gitops');
    assert.equal(matcher.match(user('alice', ['system:authenticated', 'gitops-admins'])), undefined);
  });

  it('treats regular expression characters in a pattern literally', () => {
    const dotted = identityMatcher({ users: ['a.b'], groups: [], serviceAccounts: [] });
    assert.equal(dotted.match(user('a.b')), 'user a.b');
    assert.equal(dotted.match(user('axb')), undefined);
  });
});
