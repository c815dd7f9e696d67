import fastJsonPatch from 'fast-json-patch';
import { LeveeError } from '../errors.js';
import type { AdmissionRequest, KubeObject } from '../kube/types.js';
import { copyAlong, sliceAlong } from './mutable-paths.js';
import { stampedAnnotations, type StampWrites } from './stamps.js';

const { compare, validate } = fastJsonPatch;
export type JsonPatch = ReturnType<typeof compare>;

/**
 * Mutation by copy and diff: a mutator edits a copy, and the JSON Patch is the diff of the two,
 * checked against the original before it is sent so the API server never gets a patch that fails.
 */
export function patchBetween(original: KubeObject, modified: KubeObject): JsonPatch {
  const patch = compare(original, modified);
  const problem = validate(patch, original);
  if (problem) throw new LeveeError('PATCH_INVALID', `generated patch does not apply: ${describePatchProblem(problem)}`);
  return patch;
}

/**
 * What went wrong, by code, operation number and path only. fast-json-patch's own message
 * appends the operation's value and the whole document, so the object under review (and any
 * secret in it) would reach the log line and the API server's error message.
 */
export function describePatchProblem(problem: { name?: string; index?: number; operation?: { op?: string; path?: string } }): string {
  const where = problem.operation ? ` (${problem.operation.op ?? '?'} ${problem.operation.path ?? '?'})` : '';
  return `${problem.name ?? 'PATCH_ERROR'} at operation ${problem.index ?? '?'}${where}`;
}

/**
 * Mutation by copy and diff: levee's stamps as stored, put back where this request changed
 * them by itself, then levee's own (engine/stamps.ts), then each policy's mutator.
 */
export function mutationPatch(request: AdmissionRequest, stamps: StampWrites, mutate: (copy: KubeObject) => void = () => undefined): JsonPatch | undefined {
  const object = request.object;
  if (!object || request.subResource || request.operation === 'DELETE') return undefined;
  const annotations = stampedAnnotations(request, stamps);
  const copy = copyAlong(object);
  if (annotations) copy.metadata = { ...(copy.metadata ?? {}), annotations };
  mutate(copy);
  const patch = patchBetween(sliceAlong(object) as KubeObject, sliceAlong(copy) as KubeObject);
  return patch.length > 0 ? patch : undefined;
}
