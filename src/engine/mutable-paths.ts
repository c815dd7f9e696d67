import type { KubeObject } from '../kube/types.js';

/**
 * The only places levee's mutation writes: override stamps in the annotations, and the
 * capacity-type spread in a workload's pod template. Copying and diffing just these, rather
 * than the whole object, keeps /mutate as cheap for a 3 MiB object as for a small one (a full
 * structuredClone, diff and patch check of two such objects held the event loop for hundreds of
 * milliseconds). A mutator that writes anywhere else must add its path here; the mutation tests
 * compare this diff with a diff of the whole object.
 */
export const MUTABLE_PATHS: readonly (readonly string[])[] = [
  ['metadata', 'annotations'],
  ['spec', 'template', 'spec', 'topologySpreadConstraints'],
];

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * A copy of `object` that a mutator may edit along `paths`: every object on the way to a path,
 * and the value at its end, is copied; everything else is shared with the original, untouched.
 */
export function copyAlong(object: KubeObject, paths: readonly (readonly string[])[] = MUTABLE_PATHS): KubeObject {
  const copy: Json = { ...(object as Json) };
  for (const path of paths) {
    let from: unknown = object;
    let to: Json = copy;
    for (const [i, key] of path.entries()) {
      from = isObject(from) ? from[key] : undefined;
      if (from === undefined) break;
      const last = i === path.length - 1;
      // Already copied for an earlier path sharing this prefix.
      if (to[key] !== from) {
        to = to[key] as Json;
        continue;
      }
      const copied = last ? structuredClone(from) : isObject(from) ? { ...from } : from;
      to[key] = copied;
      if (!isObject(copied)) break;
      to = copied;
    }
  }
  return copy as KubeObject;
}

/**
 * What `object` holds along `paths`, with the objects on the way: the document the mutation's
 * JSON Patch is diffed on and checked against. A parent appears only where the object has it,
 * so a patch that applies here applies to the whole object.
 */
export function sliceAlong(object: KubeObject, paths: readonly (readonly string[])[] = MUTABLE_PATHS): Json {
  const slice: Json = {};
  for (const path of paths) {
    let from: unknown = object;
    let to = slice;
    for (const [i, key] of path.entries()) {
      if (!isObject(from) || !(key in from)) break;
      from = from[key];
      if (i === path.length - 1 || !isObject(from)) {
        to[key] = from;
        break;
      }
      to = (to[key] as Json | undefined) ?? (to[key] = {});
    }
  }
  return slice;
}
