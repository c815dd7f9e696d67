import { AuthenticationV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { UserInfo } from '../kube/types.js';
import { LeveeError } from '../errors.js';
import { apiClientWithDeadline } from '../kube/deadline.js';

/**
 * Who this kubeconfig authenticates as (a SelfSubjectReview). Bounded in time: it runs at
 * start-up, where an unreachable API server must not hang levee.
 */
export async function whoAmI(kubeconfig: KubeConfig, timeoutMs = 5000): Promise<UserInfo> {
  try {
    const review = await apiClientWithDeadline(kubeconfig, AuthenticationV1Api, timeoutMs).createSelfSubjectReview({
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
    });
    const info = review.status?.userInfo;
    return { username: info?.username ?? '', groups: info?.groups ?? [], ...(info?.uid ? { uid: info.uid } : {}) };
  } catch (err) {
    throw new LeveeError('KUBECONFIG_MISSING', `cannot tell who this kubeconfig authenticates as: ${(err as Error)?.message ?? String(err)}`);
  }
}
