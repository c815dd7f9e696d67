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

/**
 * The owner kinds whose controllers make each kind: a Pod's ReplicaSet, StatefulSet, DaemonSet,
 * Job or ReplicationController; a ReplicaSet's Deployment; a Job's CronJob. levee caches the uid
 * of each of them; anything else named as a controller (a ConfigMap, an operator's object) makes
 * nothing levee can vouch for.
 */
const CONTROLLER_KINDS_OF: Readonly<Record<string, readonly string[]>> = {
  Pod: ['ReplicaSet', 'StatefulSet', 'DaemonSet', 'Job', 'ReplicationController'],
  ReplicaSet: ['Deployment'],
  Job: ['CronJob'],
};

/** Whether `owner` is a kind whose controller makes objects of `kind`. */
export function makes(owner: string, kind: string): boolean {
  return CONTROLLER_KINDS_OF[kind]?.includes(owner) ?? false;
}

/** Whether the object names a controller: what it carries, never what the caches know. */
export function hasController(object: KubeObject | null | undefined): boolean {
  return object !== null && object !== undefined && controllerOf(object) !== undefined;
}

