import { patchBetween, type JsonPatch } from '../admission/patch.js';
import { refusal, responseFor } from '../admission/response.js';
import type { AdmissionRequest, AdmissionResponse, KubeObject } from '../admission/types.js';
import type { ClusterState } from '../cluster/state.js';
import type { LeveeConfig, PolicyId } from '../config.js';
import { toError, type LeveeError } from '../errors.js';
import { POLICIES } from '../policies/registry.js';
import { decide, exemptPolicies, type Decision } from './decide.js';
import type { PolicyEvaluator } from './evaluator.js';

export interface PipelineDeps {
  evaluator: PolicyEvaluator;
  cluster: ClusterState;
  config: LeveeConfig;
  now: () => Date;
}

export type Route = 'validate' | 'mutate';

export interface Judgement {
  response: AdmissionResponse;
  decision?: Decision;
  /** Policies that had something to judge in this request. */
  judged: PolicyId[];
  error?: LeveeError;
}

/**
 * decode has happened; this is context -> evaluate -> decide (and, for /mutate, the patch).
 * Pure apart from reading the caches and the clock: no I/O, no side effects, so dry-run and
 * real requests get the same answer by construction.
 */
export function judge(deps: PipelineDeps, request: AdmissionRequest, route: Route): Judgement {
  const judged: PolicyId[] = [];
  try {
    const exempt = exemptPolicies(deps.config, request);
    const now = deps.now();
    const context: Record<string, unknown> = {};
    for (const policy of POLICIES) {
      if (exempt.has(policy.id)) continue;
      const policyContext = policy.buildContext({ request, cluster: deps.cluster, config: deps.config, now });
      if (policyContext === undefined) continue;
      context[policy.id] = policyContext;
      judged.push(policy.id);
    }
    const violations =
      judged.length === 0 ? [] : deps.evaluator.evaluate({ request: policyView(request), context, now: now.getTime() / 1000 }).violations;
    const decision = decide(deps.config, violations.filter((violation) => !exempt.has(violation.policy as PolicyId)));
    const patch = route === 'mutate' ? mutationPatch(request) : undefined;
    return { response: responseFor(request.uid, decision, patch), decision, judged };
  } catch (thrown) {
    const error = toError(thrown);
    return {
      response: refusal(request.uid, `levee could not judge this request (${error.code}): ${error.message}`, 500),
      judged,
      error,
    };
  }
}

/** What Rego sees of the request itself; objects reach policies only through their context. */
function policyView(request: AdmissionRequest): Record<string, unknown> {
  return {
    uid: request.uid,
    operation: request.operation,
    kind: request.kind,
    resource: request.resource,
    subResource: request.subResource ?? '',
    namespace: request.namespace ?? '',
    name: request.name ?? '',
    dryRun: request.dryRun,
    userInfo: { username: request.userInfo.username, groups: request.userInfo.groups },
  };
}

const STAMP_PREFIX = 'levee.dev/overridden-';

/** Drops `levee.dev/overridden-*` annotations that this request sets by itself, so stamps cannot be forged. */
function mutationPatch(request: AdmissionRequest): JsonPatch | undefined {
  const object = request.object;
  const annotations = object?.metadata?.annotations;
  if (!object || !annotations || request.subResource) return undefined;
  const previous = request.oldObject?.metadata?.annotations ?? {};
  const forged = Object.keys(annotations).filter((key) => key.startsWith(STAMP_PREFIX) && previous[key] !== annotations[key]);
  if (forged.length === 0) return undefined;
  const copy = structuredClone(object) as KubeObject;
  const copiedAnnotations = copy.metadata!.annotations!;
  for (const key of forged) delete copiedAnnotations[key];
  return patchBetween(object, copy);
}
