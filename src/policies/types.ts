import type { AdmissionRequest, KubeObject } from '../kube/types.js';
import type { PendingChange } from '../cluster/recent-decisions.js';
import type { ClusterState } from '../cluster/state.js';
import type { LeveeConfig, PolicyId } from '../config.js';
import type { CurrentVerdict, Verdict } from '../probe-verdict.js';

export interface ContextInput {
  request: AdmissionRequest;
  cluster: ClusterState;
  config: LeveeConfig;
  now: Date;
  /** The probe verdict `serve` follows; absent in `levee audit`, which judges manifests, not the moment they are applied. */
  verdict?: CurrentVerdict;
  /** The probe run `serve` asked for after the last platform change it admitted (probe-on-change); absent in `levee audit`. */
  changeRun?: ChangeRunView;
}

/**
 * The probe run after the last platform change levee admitted, as `serve` tracks it
 * (src/server/change-probe.ts): `none` before any, `pending` until the run has a verdict,
 * `done` with it, `unknown` when none came (the probe unreachable, or past maxHoldSeconds).
 */
export interface ChangeRunView {
  state: 'none' | 'pending' | 'done' | 'unknown';
  /** What was admitted: `changing the pod template of Deployment kube-system/coredns`. */
  change: string;
  admittedAt?: Date;
  finishedAt?: Date;
  verdict?: Verdict;
  /** Why there is no verdict (state `unknown`). */
  reason?: string;
  /** How long such a run took last time, for "retry in N s". */
  expectedSeconds: number;
}

/** A kind of object a policy judges, with what `levee audit --cluster` needs to list it. */
export interface JudgedKind {
  group: string;
  version: string;
  kind: string;
  /** The plural resource name, as in webhook rules. */
  resource: string;
  namespaced: boolean;
}

/**
 * A policy as TypeScript sees it: its id and the context builder that gathers, from the
 * caches, only what its Rego needs. `undefined` means the policy has nothing to judge here.
 */
export interface PolicyDefinition<Context = unknown> {
  id: PolicyId;
  summary: string;
  /** The kinds this policy judges; `levee audit` skips (and counts) every other kind. */
  kinds: readonly JudgedKind[];
  /** Kinds judged beyond `kinds`, found by their group and kind (control planes of any provider), or undefined. */
  judgedKindOf?(group: string, kind: string, config: LeveeConfig): JudgedKind | undefined;
  buildContext(input: ContextInput): Context | undefined;
  /**
   * What this request changes in a count the policy protects (a node leaving the schedulable
   * on-demand nodes, a backend going to zero), as the object's cached view will be once it
   * lands. Asked only when the policy judged the request; levee remembers the changes of an
   * allowed, real (not dry-run) request until its watch shows them, so that decisions made at
   * the same moment count each other (src/cluster/recent-decisions.ts). The pipeline hands over
   * the context it built for the request, so that the change is not worked out twice; without
   * one, the policy builds it.
   */
  pendingChanges?(input: ContextInput, context?: Context): PendingChange[];
}

/**
 * A /mutate step of a policy: edits `copy` (the request's object) in place; the patch is the
 * diff of all mutators' edits. A mutator adds what is missing and never overrides what the user wrote.
 */
export interface Mutator {
  policy: PolicyId;
  mutate(input: ContextInput & { copy: KubeObject }): void;
}
