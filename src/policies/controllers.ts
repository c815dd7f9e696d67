import type { ClusterState } from '../cluster/state.js';
import { controllerOf, makes, type ControllerRef } from '../kube/owners.js';
import type { KubeObject, UserInfo } from '../kube/types.js';

/**
 * When levee believes an ownerReference. Anyone who may write an object may write
 * `controller: true` on it, naming any owner (a ConfigMap will do), so the reference alone
 * proves nothing. An object is its owner's work, judged already at the owner, only when:
 * - the owner is a kind whose controller makes objects of this kind (a Pod's ReplicaSet,
 *   StatefulSet, DaemonSet, Job or ReplicationController; a ReplicaSet's Deployment; a Job's
 *   CronJob),
 * - that owner exists in levee's caches with the uid the reference names, and
 * - (for requests) the request comes from a controller identity.
 * A cached pod's controller is confirmed the same way (ClusterState.podController); the apiVersion
 * of the reference is not compared, as kube-controller-manager's own controllers compare only kind
 * and uid when they claim a pod, so levee believes what they believe.
 */

/** The object's controller, when it is an owner of the right kind that exists in the cache with that uid. */
export function cachedController(kind: string, namespace: string, object: KubeObject | null, cluster: ClusterState): ControllerRef | undefined {
  const owner = object ? controllerOf(object) : undefined;
  return owner && makes(owner.kind, kind) && cluster.holds(namespace, owner) ? owner : undefined;
}

/** Whether the requester is one of the configured controller identities (by username). */
export function isControllerIdentity(user: UserInfo, controllers: readonly string[]): boolean {
  return controllers.includes(user.username);
}

/** Whether a request writes an object on its cached owner's behalf, sent by a controller identity. */
export function madeByItsController(
  input: { kind: string; namespace: string; object: KubeObject | null; user: UserInfo },
  cluster: ClusterState,
  controllers: readonly string[],
): boolean {
  return isControllerIdentity(input.user, controllers) && cachedController(input.kind, input.namespace, input.object, cluster) !== undefined;
}
