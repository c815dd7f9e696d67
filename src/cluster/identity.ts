import { AuthenticationV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { UserInfo } from '../kube/types.js';
import { LeveeError } from '../errors.js';

/**
 * Who this kubeconfig authenticates as (a SelfSubjectReview). Bounded in time: it runs at
 * start-up, where an unreachable API server must not hang levee.
 */
export async function whoAmI(kubeconfig: KubeConfig, timeoutMs = 5000): Promise<UserInfo> {
  const review = kubeconfig.makeApiClient(AuthenticationV1Api).createSelfSubjectReview({
    body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
  });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs / 1000} s`)), timeoutMs);
    timer.unref();
  });
  try {
    const info = (await Promise.race([review, timeout])).status?.userInfo;
    return { username: info?.username ?? '', groups: info?.groups ?? [], ...(info?.uid ? { uid: info.uid } : {}) };
  } catch (err) {
    throw new LeveeError('KUBECONFIG_MISSING', `cannot tell who this kubeconfig authenticates as: ${(err as Error)?.message ?? String(err)}`);
  } finally {
    clearTimeout(timer);
  }
}
