import { KubernetesObjectApi, PatchStrategy, type KubeConfig } from '@kubernetes/client-node';
import type { AdmissionRequest } from '../kube/types.js';
import { scaleTarget } from '../kube/workload.js';
import { overrideStamps } from '../engine/overrides.js';
import { apiClientWithDeadline } from '../kube/deadline.js';
import type { Logger } from '../logger.js';

/**
 * A `scale` request's Scale object cannot carry annotations, so after an honoured
 * override levee stamps the parent workload itself. Best-effort and off the admission
 * path; never on dry-run (the caller checks).
 */
export function parentStamper(kubeconfig: KubeConfig, logger: Logger, timeoutMs = 10_000): (request: AdmissionRequest, username: string, at: Date) => void {
  const api = apiClientWithDeadline(kubeconfig, KubernetesObjectApi, timeoutMs);
  return (request, username, at) => {
    const parent = scaleTarget(request);
    if (!parent) return;
    const stamp = {
      apiVersion: 'apps/v1',
      kind: parent.kind,
      metadata: {
        name: parent.name,
        namespace: parent.namespace,
        annotations: overrideStamps(username, at),
      },
    };
    api
      .patch(stamp, undefined, undefined, 'levee', undefined, PatchStrategy.MergePatch)
      .catch((err: unknown) => logger.warn({ err: String((err as Error)?.message ?? err), parent }, 'could not stamp the parent workload'));
  };
}
