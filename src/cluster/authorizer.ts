import { AuthorizationV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { UserInfo } from '../kube/types.js';
import type { PolicyId } from '../config.js';
import type { Authorization, OverrideAuthorizer } from '../engine/overrides.js';
import { apiClientWithDeadline } from '../kube/deadline.js';
import { userKey } from '../kube/identities.js';

const CACHE_MS = 10_000;
// The API server gives a webhook 5 s (webhooks.yaml); an authorization check that has not
// answered in 2 s counts as failed (the override is ignored, saying why), so the review is
// still answered in time when the API server has stopped answering levee.
const AUTHORIZATION_TIMEOUT_MS = 2000;

/** The right an override needs (contract): verb `override` on `levee.dev/policies/<policy id>`. */
function overrideAttributes(policy: PolicyId): { verb: string; group: string; resource: string; name: string } {
  return { verb: 'override', group: 'levee.dev', resource: 'policies', name: policy };
}

function authorizationOf(status: { allowed: boolean; reason?: string } | undefined): Authorization {
  return { allowed: status?.allowed === true, ...(status?.reason ? { reason: status.reason } : {}) };
}

/** The cache key of an answer: the whole userInfo the API server vouched for (userKey) and the policy. */
export function authorizationKey(user: UserInfo, policy: PolicyId): string {
  return JSON.stringify([userKey(user), policy]);
}

/**
 * SubjectAccessReview for verb `override`, group `levee.dev`, resource `policies`,
 * name = policy id, on behalf of the user who set the override. Answers are cached briefly
 * per whole userInfo and policy, so a burst of retries costs one call.
 */
export function subjectAccessReviewAuthorizer(kubeconfig: KubeConfig, now: () => number = Date.now): OverrideAuthorizer {
  const api = apiClientWithDeadline(kubeconfig, AuthorizationV1Api, AUTHORIZATION_TIMEOUT_MS);
  const cache = new Map<string, { at: number; answer: Promise<Authorization> }>();
  return {
    mayOverride(user: UserInfo, policy: PolicyId): Promise<Authorization> {
      const key = authorizationKey(user, policy);
      const hit = cache.get(key);
      if (hit && now() - hit.at < CACHE_MS) return hit.answer;
      const answer = api
        .createSubjectAccessReview({
          body: {
            apiVersion: 'authorization.k8s.io/v1',
            kind: 'SubjectAccessReview',
            spec: {
              user: user.username,
              groups: user.groups,
              ...(user.uid ? { uid: user.uid } : {}),
              ...(user.extra ? { extra: user.extra } : {}),
              resourceAttributes: overrideAttributes(policy),
            },
          },
        })
        .then((review) => authorizationOf(review.status))
        .catch((err: unknown): Authorization => {
          cache.delete(key);
          return { allowed: false, reason: `authorization check failed: ${String((err as Error)?.message ?? err)}` };
        });
      cache.set(key, { at: now(), answer });
      if (cache.size > 10_000) cache.clear();
      return answer;
    },
  };
}

export { offlineAuthorizer } from '../engine/overrides.js';

/** In `levee audit --cluster`, overrides count for the person running it: a SelfSubjectAccessReview. */
export function selfSubjectAccessReviewAuthorizer(kubeconfig: KubeConfig, timeoutMs = 10_000): OverrideAuthorizer {
  const api = apiClientWithDeadline(kubeconfig, AuthorizationV1Api, timeoutMs);
  return {
    mayOverride: async (_user, policy) => {
      const review = await api.createSelfSubjectAccessReview({
        body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes: overrideAttributes(policy) } },
      });
      return authorizationOf(review.status);
    },
  };
}
