import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { AdmissionRequest } from '../kube/types.js';
import { scaleTarget } from '../kube/workload.js';
import { apiClientWithDeadline } from '../kube/deadline.js';
import type { Logger } from '../logger.js';

export interface AdmissionEvent {
  request: AdmissionRequest;
  reason: 'LeveeDenied' | 'LeveeOverride';
  type: 'Warning' | 'Normal';
  message: string;
}

export interface EventRecorder {
  record(event: AdmissionEvent): void;
}

export const noEvents: EventRecorder = { record: () => undefined };

// Events are best-effort: past this many in flight, levee drops them rather than queue without bound.
const MAX_IN_FLIGHT = 32;

/**
 * Posts Kubernetes Events off the admission path; a failed post is logged, never retried
 * inline. Each post has a deadline, so posts to an API server that stopped answering end
 * and free their place instead of filling MAX_IN_FLIGHT for good.
 */
export function kubeEventRecorder(kubeconfig: KubeConfig, logger: Logger, timeoutMs = 10_000): EventRecorder {
  const core = apiClientWithDeadline(kubeconfig, CoreV1Api, timeoutMs);
  let inFlight = 0;
  return {
    record({ request, reason, type, message }) {
      if (inFlight >= MAX_IN_FLIGHT) return;
      const namespace = request.namespace || 'default';
      const now = new Date();
      inFlight++;
      core
        .createNamespacedEvent({
          namespace,
          body: {
            metadata: { generateName: 'levee-', namespace },
            involvedObject: {
              apiVersion: request.kind.group ? `${request.kind.group}/${request.kind.version}` : request.kind.version,
              kind: scaleTarget(request)?.kind ?? request.kind.kind,
              name: request.name ?? request.object?.metadata?.name ?? '',
              namespace,
            },
            reason,
            type,
            message: message.slice(0, 1024),
            source: { component: 'levee' },
            firstTimestamp: now,
            lastTimestamp: now,
            count: 1,
            reportingComponent: 'levee.dev/admission',
            reportingInstance: 'levee',
          },
        })
        .catch((err: unknown) => logger.warn({ err: String((err as Error)?.message ?? err), reason }, 'event not recorded'))
        .finally(() => inFlight--);
    },
  };
}
