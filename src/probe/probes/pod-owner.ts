import type { PodView } from '../cache-views.js';

/**
 * The workload a pod belongs to, from its controller reference: what restart-burst counts by.
 * "Deployment shop/api" for a pod of a Deployment's ReplicaSet (the ReplicaSet's name is the
 * Deployment's plus the pod-template-hash), "StatefulSet shop/db", "Job ops/backup-2901", or
 * "Pod shop/debug" for a pod no controller owns. A ReplicaSet whose name does not end in the
 * pod's hash stays a ReplicaSet.
 */
export function workloadOf(pod: Pick<PodView, 'namespace' | 'name' | 'owner' | 'templateHash'>): string {
  const slash = pod.owner.indexOf('/');
  const kind = slash > 0 ? pod.owner.slice(0, slash) : '';
  const name = slash > 0 ? pod.owner.slice(slash + 1) : '';
  if (!kind || !name) return `Pod ${pod.namespace}/${pod.name}`;
  const hash = pod.templateHash;
  if (kind === 'ReplicaSet' && hash && name.endsWith(`-${hash}`) && name.length > hash.length + 1) {
    return `Deployment ${pod.namespace}/${name.slice(0, -(hash.length + 1))}`;
  }
  return `${kind} ${pod.namespace}/${name}`;
}
