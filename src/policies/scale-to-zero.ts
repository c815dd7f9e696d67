import type { AdmissionRequest } from '../kube/types.js';
import {
  isScalableGroupKind,
  isScalableKind,
  replicasOf,
  scaleTarget,
  workloadFromObject,
  workloadKey,
  type WorkloadRef,
  type WorkloadView,
} from '../kube/workload.js';
import { autoscalerOf, AUTOSCALER_KINDS, type AutoscalerView } from '../cluster/autoscalers.js';
import type { PendingChange } from '../cluster/recent-decisions.js';
import type { ClusterState } from '../cluster/state.js';
import type { LeveeConfig } from '../config.js';
import { isControllerIdentity, madeByItsController } from './controllers.js';
import { DEPLOYMENTS, STATEFULSETS, REPLICASETS, REPLICATIONCONTROLLERS } from './judged-kinds.js';
import type { ContextInput, JudgedKind, PolicyDefinition } from './types.js';

/**
 * - `replicas`: the workload's replicas change (spec.replicas, or its `scale` subresource);
 * - `autoscaled`: the same, to zero, under an autoscaler object that lets the workload reach
 *   zero: sent by the autoscaler itself, or the workload created at zero (the KEDA HTTP add-on);
 * - `paused`: a KEDA ScaledObject pins its workload at `paused-replicas: "0"`;
 * - `autoscaler`: an HPA, ScaledObject or HTTPScaledObject written so that it can reach zero;
 * - `delete`: the workload is deleted.
 */
export type ScaleChange = 'replicas' | 'autoscaled' | 'paused' | 'delete' | 'autoscaler';

export interface ScaleToZeroContext {
  target: WorkloadRef;
  change: ScaleChange;
  /** null when the workload is created. */
  replicasBefore: number | null;
  replicasAfter: number;
  autoscaler?: { kind: string; name: string };
  services: Array<{ name: string; readyEndpoints: number; ownReadyEndpoints: number; otherReadyEndpoints: number; otherBackends: string[] }>;
}

const AUTOSCALER_JUDGED_KINDS: JudgedKind[] = AUTOSCALER_KINDS.map(({ group, kind, versions }) => ({
  group,
  version: versions[0]!,
  kind,
  resource: `${kind.toLowerCase()}s`,
  namespaced: true,
}));

export const scaleToZero: PolicyDefinition<ScaleToZeroContext> = {
  id: 'scale-to-zero',
  summary: 'a workload scaled to zero while a Service still selects it and nothing else backs that Service',
  kinds: [DEPLOYMENTS, STATEFULSETS, REPLICASETS, REPLICATIONCONTROLLERS, ...AUTOSCALER_JUDGED_KINDS],
  buildContext: ({ request, cluster, config }: ContextInput): ScaleToZeroContext | undefined => {
    const change = describeChange(request, cluster, config);
    if (!change) return undefined;
    const services = cluster.servicesSelecting(change.workload.ref.namespace, change.workload.podLabels).map((service) => {
      const backing = cluster.backingOf(service, change.workload.ref);
      return {
        name: service.name,
        readyEndpoints: backing.readyEndpoints,
        ownReadyEndpoints: backing.ownReadyEndpoints,
        otherReadyEndpoints: backing.otherReadyEndpoints,
        otherBackends: backing.otherBackends,
      };
    });
    return {
      target: change.workload.ref,
      change: change.kind,
      replicasBefore: change.before,
      replicasAfter: change.after,
      ...(change.autoscaler ? { autoscaler: change.autoscaler } : {}),
      services,
    };
  },
  // A workload allowed to zero (or deleted) stops backing its Services before the watch shows
  // it: the next decision about another backend of the same Service must count that.
  pendingChanges: (input: ContextInput, context = scaleToZero.buildContext(input)): PendingChange[] => {
    if (!context || context.replicasAfter !== 0 || context.replicasBefore === 0 || context.change === 'autoscaler') return [];
    const store = input.cluster.workloads.name;
    if (context.change === 'delete') return [{ store, key: workloadKey(context.target), after: null }];
    // A workload created at zero backs nothing yet: nothing to count.
    if (context.replicasBefore === null) return [];
    return [{ store, key: workloadKey(context.target), after: { replicas: 0 } }];
  },
};

interface Change {
  kind: ScaleChange;
  workload: WorkloadView;
  before: number | null;
  after: number;
  autoscaler?: { kind: string; name: string };
}

/** Turns the request into "this workload goes from N to M replicas", or undefined when it does not touch replicas. */
function describeChange(request: AdmissionRequest, cluster: ClusterState, config: LeveeConfig): Change | undefined {
  const scaled = scaleTarget(request);
  if (scaled) {
    const workload = cluster.workload(scaled);
    const after = replicasOf(request.object);
    if (!workload || after === undefined || isCachedRolloutStep(scaled, request, cluster, config)) return undefined;
    return underAutoscaler({ kind: 'replicas', workload, before: replicasOf(request.oldObject) ?? null, after }, request, cluster, config);
  }
  if (request.subResource) return undefined;

  const { group, kind } = request.kind;
  const namespace = request.namespace ?? 'default';
  if (isScalableGroupKind(group, kind)) {
    if (request.operation === 'DELETE') {
      const workload = workloadFromObject(request.oldObject, request.namespace) ?? cluster.workload({ kind, namespace, name: request.name ?? '' });
      if (!workload || isRolloutStep(kind, namespace, request.oldObject, request, cluster, config)) return undefined;
      return { kind: 'delete', workload, before: workload.replicas, after: 0 };
    }
    if (request.operation !== 'CREATE' && request.operation !== 'UPDATE') return undefined;
    if (isRolloutStep(kind, namespace, request.object, request, cluster, config)) return undefined;
    const workload = workloadFromObject(request.object, request.namespace);
    if (!workload) return undefined;
    const before = request.operation === 'CREATE' ? null : (replicasOf(request.oldObject) ?? null);
    return underAutoscaler({ kind: 'replicas', workload, before, after: workload.replicas }, request, cluster, config);
  }

  if (request.operation !== 'CREATE' && request.operation !== 'UPDATE') return undefined;
  const autoscaler = autoscalerOf(request.object, group);
  return autoscaler ? autoscalerChange(autoscaler, namespace, cluster) : undefined;
}

/**
 * ReplicaSets a Deployment controls are scaled by the Deployment controller on every rollout;
 * the Deployment is what levee judges. Only a ReplicaSet whose controller is a Deployment
 * levee caches with that very uid, scaled by a controller identity, is such a step: a
 * reference to anything else (a ConfigMap, an invented uid), or a person scaling the
 * ReplicaSet by hand, leaves the workload judged like any other.
 */
function isRolloutStep(kind: string, namespace: string, object: AdmissionRequest['object'], request: AdmissionRequest, cluster: ClusterState, config: LeveeConfig): boolean {
  // A ReplicaSet's only believed controller is a Deployment (policies/controllers.ts).
  return kind === 'ReplicaSet' && madeByItsController({ kind, namespace, object, user: request.userInfo }, cluster, config.policies['scale-to-zero'].controllers);
}

/** The same for a `replicasets/scale` request, whose Scale object names no owner: the cached ReplicaSet's. */
function isCachedRolloutStep(ref: WorkloadRef, request: AdmissionRequest, cluster: ClusterState, config: LeveeConfig): boolean {
  return ref.kind === 'ReplicaSet' && isControllerIdentity(request.userInfo, config.policies['scale-to-zero'].controllers) && cluster.deploymentOf(ref.namespace, ref.name) !== undefined;
}

/**
 * A scale to zero that an autoscaler object in levee's caches allows (an HPA with
 * `minReplicas: 0`, a ScaledObject or HTTPScaledObject at minimum or idle 0) is the owner's
 * choice, judged when that object was written: `autoscaled` when the autoscaler itself sends
 * it, or when the workload is created at zero (the KEDA HTTP add-on ships apps that way). A
 * person scaling a running workload to zero is judged as ever.
 */
function underAutoscaler(change: Change, request: AdmissionRequest, cluster: ClusterState, config: LeveeConfig): Change {
  if (change.after !== 0) return change;
  const byAutoscaler = config.policies['scale-to-zero'].autoscalers.includes(request.userInfo.username);
  if (!byAutoscaler && request.operation !== 'CREATE') return change;
  const [autoscaler] = cluster.autoscalersAllowingZero(change.workload.ref);
  return autoscaler ? { ...change, kind: 'autoscaled', autoscaler: { kind: autoscaler.kind, name: autoscaler.name } } : change;
}

/** An autoscaler written so that its workload can reach zero (or KEDA pinning it there). */
function autoscalerChange(autoscaler: AutoscalerView, namespace: string, cluster: ClusterState): Change | undefined {
  if (autoscaler.floor !== 0 || !autoscaler.target.name || !isScalableKind(autoscaler.target.kind)) return undefined;
  const workload = cluster.workload({ kind: autoscaler.target.kind, namespace, name: autoscaler.target.name });
  if (!workload) return undefined;
  return {
    kind: autoscaler.pausedAtZero ? 'paused' : 'autoscaler',
    workload,
    before: workload.replicas,
    after: 0,
    autoscaler: { kind: autoscaler.kind, name: autoscaler.name },
  };
}
