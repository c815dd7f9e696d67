import type { AdmissionRequest, KubeObject } from '../kube/types.js';
import { scaleTarget } from '../kube/workload.js';
import type { PendingChange } from '../cluster/recent-decisions.js';
import type { ClusterState } from '../cluster/state.js';
import { workerPoolScaleTarget } from '../cluster/worker-pools.js';
import type { LeveeConfig, PolicyId } from '../config.js';
import type { CurrentVerdict } from '../probe-verdict.js';
import { toError, type LeveeError } from '../errors.js';
import { MUTATORS, POLICIES } from '../policies/registry.js';
import type { ChangeRunView } from '../policies/types.js';
import { decide, deniedPolicies, exemptPolicies, findingsOf, type Decision } from './decide.js';
import type { BundleDecision } from './evaluator.js';
import { authorOf, recordAuthor, type Annotations } from './authorship.js';
import { automationOf } from './automation.js';
import { mutationPatch, type JsonPatch } from './mutation.js';
import { resolveOverrides, type OverrideAuthorizer } from './overrides.js';
import { forgedStamps } from './stamps.js';

/**
 * Where the bundle's decision comes from: levee's in-process wasm module (PolicyEvaluator), or
 * anything else that answers the same input, such as the bench's `opa run --server` sidecar.
 */
export interface Evaluator {
  evaluate(input: PolicyInput['input']): BundleDecision | Promise<BundleDecision>;
}

export interface PipelineDeps {
  evaluator: Evaluator;
  cluster: ClusterState;
  config: LeveeConfig;
  authorizer: OverrideAuthorizer;
  now: () => Date;
  /** The probe verdict as `serve` last read it, for probe-gate; absent in `levee audit`. */
  verdict?: () => CurrentVerdict;
  /** The probe run after the last platform change `serve` admitted, for probe-on-change; absent in `levee audit`. */
  changeRun?: () => ChangeRunView;
}

export type Route = 'validate' | 'mutate';

/**
 * What levee decided, as plain data: admission/response.ts turns it into the AdmissionResponse.
 * `error` (and no decision) when the request could not be judged.
 */
export interface Judgement {
  decision?: Decision;
  /** For /mutate: the JSON Patch operations, absent when nothing is changed. */
  patch?: JsonPatch;
  /** Policies that had something to judge in this request. */
  judged: PolicyId[];
  /** What the request changes in counts policies protect (/validate only); remembered only once it is allowed for real (engine/remember.ts). */
  changes?: PendingChange[];
  /** For /mutate: what levee recorded about the override this request writes, for the requester to read. */
  notes?: string[];
  error?: LeveeError;
}

/**
 * decode has happened; this is context -> evaluate -> decide (and, for /mutate, the patch).
 * It reads the caches and the clock and, only when an override would change the answer,
 * asks the authorizer; it has no side effects, so dry-run and real requests get the same answer.
 */
export async function judge(deps: PipelineDeps, request: AdmissionRequest, route: Route): Promise<Judgement> {
  const judged: PolicyId[] = [];
  const changes: PendingChange[] = [];
  try {
    const exempt = exemptPolicies(deps.config, request);
    const now = deps.now();
    // Only /validate remembers what a request changes (engine/remember.ts): /mutate does not ask.
    const input = policyInput(deps, request, exempt, now, route === 'validate');
    judged.push(...input.judged);
    changes.push(...input.changes);
    const violations = judged.length === 0 ? [] : (await deps.evaluator.evaluate(input.input)).violations;
    const findings = findingsOf(deps.config, violations.filter((violation) => !exempt.has(violation.policy as PolicyId)));
    const automation = automationOf(deps.config);
    const annotations = overrideAnnotations(request, deps.cluster);
    const overrides = await resolveOverrides({
      annotations,
      deniedPolicies: deniedPolicies(findings),
      author: authorOf(request, annotations, storedAnnotations(request, annotations)),
      requester: request.userInfo,
      automation,
      now,
      maxHours: deps.config.overrides.maxHours,
      authorizer: deps.authorizer,
    });
    if (route === 'validate') {
      const forged = forgedStamps(request, overrides.honoured, (user) => automation(user) !== undefined, now);
      return { decision: decide(findings, overrides, forged), judged, changes };
    }
    const decision = decide(findings, overrides);
    const recording = await recordAuthor({ request, automation, authorizer: deps.authorizer, now, maxHours: deps.config.overrides.maxHours });
    const stamps = { honoured: overrides.honoured, now, ...(recording.record !== undefined ? { record: recording.record } : {}) };
    const patch = mutationPatch(request, stamps, (copy) => runMutators(deps, request, exempt, now, copy));
    const notes = recording.notes.length > 0 ? { notes: recording.notes } : {};
    return patch ? { decision, patch, judged, changes, ...notes } : { decision, judged, changes, ...notes };
  } catch (thrown) {
    return { judged, error: toError(thrown) };
  }
}

export interface PolicyInput {
  input: { request: Record<string, unknown>; context: Record<string, unknown>; now: number };
  /** The policies that had something to judge: those with a context. */
  judged: PolicyId[];
  /** What the request changes in the counts those policies protect. */
  changes: PendingChange[];
}

/**
 * What the bundle is asked: the request as Rego sees it, each non-exempt policy's context, and the
 * time; with `withChanges`, also what the request changes in the counts those policies protect.
 */
export function policyInput(deps: Pick<PipelineDeps, 'cluster' | 'config' | 'verdict' | 'changeRun'>, request: AdmissionRequest, exempt: ReadonlySet<PolicyId>, now: Date, withChanges = true): PolicyInput {
  const context: Record<string, unknown> = {};
  const judged: PolicyId[] = [];
  const changes: PendingChange[] = [];
  const verdict = deps.verdict?.();
  const changeRun = deps.changeRun?.();
  for (const policy of POLICIES) {
    if (exempt.has(policy.id)) continue;
    const contextInput = { request, cluster: deps.cluster, config: deps.config, now, verdict, changeRun };
    const policyContext = policy.buildContext(contextInput);
    if (policyContext === undefined) continue;
    context[policy.id] = policyContext;
    judged.push(policy.id);
    if (withChanges && policy.pendingChanges) changes.push(...policy.pendingChanges(contextInput, policyContext));
  }
  return { input: { request: policyView(request), context, now: now.getTime() / 1000 }, judged, changes };
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

/** Where an override is read from: the object, the deleted object, or for `scale` the parent workload. */
export function overrideAnnotations(request: AdmissionRequest, cluster: ClusterState): Readonly<Record<string, string>> | undefined {
  const parent = scaleTarget(request);
  if (parent) return cluster.workload(parent)?.annotations;
  const pool = workerPoolScaleTarget(request);
  if (pool) return cluster.workerPools.get(pool)?.annotations ?? {};
  const object = request.operation === 'DELETE' ? request.oldObject : request.object;
  return object?.metadata?.annotations;
}

/** The stored object's annotations, where levee's record of who set the override is read: the old object, or for `scale` the parent's. */
function storedAnnotations(request: AdmissionRequest, overrideSource: Annotations | undefined): Annotations | undefined {
  return request.subResource === 'scale' ? overrideSource : request.oldObject?.metadata?.annotations;
}

/** Each policy's /mutate step, in registry order, on the same copy; exempt policies do not mutate. */
function runMutators(deps: PipelineDeps, request: AdmissionRequest, exempt: ReadonlySet<PolicyId>, now: Date, copy: KubeObject): void {
  for (const mutator of MUTATORS) {
    if (!exempt.has(mutator.policy)) mutator.mutate({ request, cluster: deps.cluster, config: deps.config, now, copy });
  }
}
