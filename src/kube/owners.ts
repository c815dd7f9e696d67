import { isRecord, textOf } from './fields.js';
import type { KubeObject } from './types.js';

/** Who owns an object, read from its ownerReferences: the one marked `controller` manages it. */

export interface OwnerRef {
  kind: string;
  name: string;
}

/** A controller reference as written on the object: the uid says which object of that name. */
export interface ControllerRef extends OwnerRef {
  uid: string;
  apiVersion: string;
}

/**
 * The owner reference marked `controller: true` (not simply the first one), or undefined.
 * Written by whoever sent the object, so forgeable: it names an owner, it does not prove one
 * (see policies/controllers.ts for when levee believes it).
 */
export function controllerOf(object: KubeObject): ControllerRef | undefined {
  const refs: unknown = object.metadata?.ownerReferences;
  if (!Array.isArray(refs)) return undefined;
  for (const ref of refs) {
    if (!isRecord(ref) || ref.controller !== true) continue;
    return { kind: textOf(ref.kind), name: textOf(ref.name), uid: textOf(ref.uid), apiVersion: textOf(ref.apiVersion) };
  }
  return undefined;
}

/** Whether the object names a controller: what it carries, never what the caches know. */
export function hasController(object: KubeObject | null | undefined): boolean {
  return object !== null && object !== undefined && controllerOf(object) !== undefined;
}

