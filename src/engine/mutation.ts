import fastJsonPatch from 'fast-json-patch';
import { LeveeError } from '../errors.js';
import type { AdmissionRequest, KubeObject } from '../kube/types.js';
import type { Decision } from './decide.js';
import { copyAlong, sliceAlong } from './mutable-paths.js';
import { overrideStamps } from './overrides.js';

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

const STAMP_PREFIX = 'levee.dev/overridden-';

/**
 * Mutation by copy and diff: drop `levee.dev/overridden-*` values this request sets by
 * itself (so stamps cannot be forged), then stamp who overrode and when if an override was honoured.
 */
export function mutationPatch(
  request: AdmissionRequest,
  decision: Decision,
  now: Date,
  selfUsername: string | undefined,
  mutate: (copy: KubeObject) => void = () => undefined,
): JsonPatch | undefined {
  const object = request.object;
  if (!object || request.subResource || request.operation === 'DELETE') return undefined;
  const annotations = { ...(object.metadata?.annotations ?? {}) };
  const previous = request.oldObject?.metadata?.annotations ?? {};
  let changed = false;
  if (request.userInfo.username !== selfUsername) {
    for (const key of Object.keys(annotations)) {
      if (!key.startsWith(STAMP_PREFIX) || previous[key] === annotations[key]) continue;
      delete annotations[key];
      changed = true;
    }
  }
  if (decision.overrides.honoured.length > 0) {
    Object.assign(annotations, overrideStamps(request.userInfo.username, now));
    changed = true;
  }
  const copy = copyAlong(object);
  if (changed) copy.metadata = { ...(copy.metadata ?? {}), annotations };
  mutate(copy);
  const patch = patchBetween(sliceAlong(object) as KubeObject, sliceAlong(copy) as KubeObject);
  return patch.length > 0 ? patch : undefined;
}
