import type { AdmissionRequest } from '../kube/types.js';
import { isPodTemplateKind, type PodTemplateKind } from '../kube/pod-template.js';
import { changesRolloutTemplate, rolloutTemplateOf } from '../kube/template-hash.js';
import { replicasOf, scaleTarget } from '../kube/workload.js';
import type { ClusterState } from '../cluster/state.js';
import type { LeveeConfig } from '../config.js';
import { madeByItsController } from './controllers.js';
import { PROBE_LABEL, type Verdict, type VerdictDocument } from '../probe-verdict.js';
import { PODS, DEPLOYMENTS, STATEFULSETS, DAEMONSETS, REPLICASETS, REPLICATIONCONTROLLERS, JOBS, CRONJOBS } from './judged-kinds.js';
import type { ContextInput, PolicyDefinition } from './types.js';

/**
 * probe-gate's context: what this request does to pods (a rollout, or something people need
 * to recover), and the probe verdict with its age. Times and ages are computed here; Rego
 * gets strings and numbers.
 */

export type GateChange =
  | 'create'
  | 'template'
  | 'rollback'
  | 'scale'
  | 'no-template-change'
  | 'delete'
  | 'controlled'
  | 'probe-workload';

export interface FailingProbe {
  probe: string;
  message: string;
  hint: string;
  since: string;
}

export interface ProbeGateContext {
  change: GateChange;
  target: { kind: string; namespace: string; name: string };
  verdict: Verdict | 'Unknown';
  /** Why the verdict is Unknown: `missing` (never read) or `stale` (older than maxVerdictAgeSeconds). */
  unknownReason: '' | 'missing' | 'stale';
  /** -1 when there is no verdict. */
  verdictAgeSeconds: number;
  maxVerdictAgeSeconds: number;
  verdictFile: string;
  since: string;
  failing: FailingProbe[];
}

const SHOWN_FAILING = 4;
/** The kinds that have rollbacks: a previous template they ran, kept as a ReplicaSet or a ControllerRevision. */
const ROLLBACK_KINDS: ReadonlySet<PodTemplateKind> = new Set(['Deployment', 'DaemonSet', 'StatefulSet']);

export const probeGate: PolicyDefinition = {
  id: 'probe-gate',
  summary: 'rollouts (new workloads, changed pod templates) while the probes say the cluster is Unhealthy',
  kinds: [
    DEPLOYMENTS,
    STATEFULSETS,
    DAEMONSETS,
    REPLICASETS,
    REPLICATIONCONTROLLERS,
    JOBS,
    CRONJOBS,
    PODS,
  ],
  buildContext: ({ request, cluster, config, now, verdict: current }: ContextInput): ProbeGateContext | undefined => {
    // Only `serve` has a verdict to go by; `levee audit` judges manifests, not the moment they are applied.
    if (!current) return undefined;
    // While the cluster is Healthy or Degraded the gate is open whatever the change, so the
    // costly part, comparing pod templates, is left out of almost every request.
    const verdict = observeVerdict(current.document, now, config, current.file);
    if (verdict.verdict === 'Healthy' || verdict.verdict === 'Degraded') return undefined;
    const described = describeChange(request, cluster, config);
    if (!described) return undefined;
    return { ...described, ...verdict };
  },
};

function describeChange(request: AdmissionRequest, cluster: ClusterState, config: LeveeConfig): Pick<ProbeGateContext, 'change' | 'target'> | undefined {
  const namespace = request.namespace ?? '';
  if (request.subResource === 'scale') {
    const target = scaleTarget(request);
    return target ? { change: 'scale', target } : undefined;
  }
  if (request.subResource) return undefined;
  const kind = request.kind.kind;
  if (!isPodTemplateKind(request.kind.group, kind)) return undefined;
  const object = request.object ?? request.oldObject;
  const target = { kind, namespace, name: object?.metadata?.name || object?.metadata?.generateName || request.name || '' };

  if (request.operation === 'DELETE') return { change: 'delete', target };
  if (request.operation !== 'CREATE' && request.operation !== 'UPDATE') return undefined;
  // The probe's own workloads live in levee's namespace; the label counts nowhere else.
  if (namespace === config.leveeNamespace && request.object?.metadata?.labels?.[PROBE_LABEL] === 'true') return { change: 'probe-workload', target };
  // Pods of a ReplicaSet, ReplicaSets of a Deployment, Jobs of a CronJob: a controller carrying
  // out what was already judged at its owner, not a person rolling out. An ownerReference is
  // believed only for an owner levee caches with that uid, from a controller identity
  // (policies/controllers.ts); anything else is judged as written. (A Deployment owned by an
  // operator is judged too: the operator's template change is a rollout.)
  const user = request.userInfo;
  if (madeByItsController({ kind, namespace, object: request.object, user }, cluster, config.policies['probe-gate'].controllers)) {
    return { change: 'controlled', target };
  }
  if (request.operation === 'CREATE') return { change: 'create', target };

  if (!changesRolloutTemplate(kind, request.oldObject, request.object)) {
    const scaled = kind !== 'Pod' && replicasOf(request.object) !== replicasOf(request.oldObject);
    return { change: scaled ? 'scale' : 'no-template-change', target };
  }
  return { change: isRollback(kind, request.oldObject?.metadata?.uid, rolloutTemplateOf(kind, request.object), cluster) ? 'rollback' : 'template', target };
}

/**
 * Going back to a template this very object (by uid) ran before: `kubectl rollout undo` of a
 * Deployment (to one of its ReplicaSets' templates), a DaemonSet or a StatefulSet (to one of
 * its ControllerRevisions'). An index lookup.
 */
// The uid is the request's oldObject's, which the API server writes, and the index keys each
// ReplicaSet or ControllerRevision by the uid its controller reference names, so an object
// naming a Deployment or DaemonSet by name with another uid never counts. One created by hand
// with the very uid is, as for the controller: it adopts such a ReplicaSet as a revision of its own.
function isRollback(kind: PodTemplateKind, uid: string | undefined, template: unknown, cluster: ClusterState): boolean {
  if (!ROLLBACK_KINDS.has(kind) || !uid || template === undefined) return false;
  return cluster.ranTemplate(uid, template);
}

type VerdictPart = Omit<ProbeGateContext, 'change' | 'target'>;

/** The verdict as the gate sees it: Unknown when missing or older than the configured maximum. */
export function observeVerdict(document: VerdictDocument | undefined, now: Date, config: LeveeConfig, verdictFile: string): VerdictPart {
  const maxVerdictAgeSeconds = config.policies['probe-gate'].maxVerdictAgeSeconds;
  const base = { maxVerdictAgeSeconds, verdictFile };
  if (!document) return { ...base, verdict: 'Unknown', unknownReason: 'missing', verdictAgeSeconds: -1, since: '', failing: [] };
  const verdictAgeSeconds = Math.max(0, Math.round((now.getTime() - Date.parse(document.generatedAt)) / 1000));
  if (verdictAgeSeconds > maxVerdictAgeSeconds) {
    return { ...base, verdict: 'Unknown', unknownReason: 'stale', verdictAgeSeconds, since: document.generatedAt, failing: [] };
  }
  const failing = document.failing.slice(0, SHOWN_FAILING).map((id): FailingProbe => {
    const result = document.probes.find((probe) => probe.probe === id);
    return { probe: id, message: result?.message ?? '', hint: result?.hint ?? '', since: result?.failingSince ?? document.since };
  });
  return { ...base, verdict: document.verdict, unknownReason: '', verdictAgeSeconds, since: document.since, failing };
}
