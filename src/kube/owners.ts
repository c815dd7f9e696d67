import type { KubeObject, OwnerReference } from './types.js';

/** Who owns an object, read from its ownerReferences: the one marked `controller` manages it. */

export interface OwnerRef {
  kind: string;
  name: string;
}

/** The owner reference marked `controller: true` (not simply the first one), or undefined. */
export function controllerOf(object: KubeObject): OwnerRef | undefined {
  const refs: OwnerReference[] = object.metadata?.ownerReferences ?? [];
  const controller = refs.find((ref) => ref.controller === true);
  return controller ? { kind: controller.kind, name: controller.name } : undefined;
}

/**
 * Whether a controller manages the object (a ReplicaSet its pods, a Deployment its
 * ReplicaSets, a CronJob its Jobs): what the object carries, never what the caches know.
 */
export function hasController(object: KubeObject | null | undefined): boolean {
  return object !== null && object !== undefined && controllerOf(object) !== undefined;
}
