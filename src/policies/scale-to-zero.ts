import type { AdmissionRequest } from '../kube/types.js';
import {
  isScalableGroupKind,
  isScalableKind,
  replicasOf,
  scaleTarget,
  workloadFromObject,
  workloadKey,
  type BackendRef,
  type WorkloadRef,
  type WorkloadView,
} from '../kube/workload.js';
import { podTemplateOf } from '../kube/pod-template.js';
import type { KubeObject } from '../kube/types.js';
import { sameLabels } from '../kube/fields.js';
import { isPodEviction } from '../kube/eviction.js';
import { isClusterMachinery } from '../kube/identities.js';
import { autoscalerOf, AUTOSCALER_KINDS, type AutoscalerView } from '../cluster/autoscalers.js';
import type { PendingChange } from '../cluster/recent-decisions.js';
import { selectorMatches, type ClusterState } from '../cluster/state.js';
import { objectKey, type ServiceView } from '../cluster/views.js';
import type { LeveeConfig } from '../config.js';
import { cachedController, isControllerIdentity, madeByItsController } from './controllers.js';
import { DEPLOYMENTS, STATEFULSETS, DAEMONSETS, REPLICASETS, REPLICATIONCONTROLLERS, PODS } from './judged-kinds.js';
import type { ContextInput, JudgedKind, PolicyDefinition } from './types.js';

/**
 * - `replicas`: the workload's replicas change (spec.replicas, or its `scale` subresource);
 * - `autoscaled`: the same, to zero, under an autoscaler object that lets the workload reach
 *   zero: sent by the autoscaler itself, or the workload created at zero (the KEDA HTTP add-on);
 * - `paused`: a KEDA ScaledObject pins its workload at `paused-replicas: "0"`;
 * - `autoscaler`: an HPA, ScaledObject or HTTPScaledObject written so that it can reach zero;
 * - `delete`: the workload is deleted (a DaemonSet, or a Pod no controller owns, too);
 * - `evict`: a Pod no controller owns is evicted (`pods/eviction`, as `kubectl drain` sends): deleted
 *   like any other, and nothing recreates it;
 * - `relabel`: new pod labels that the Services its pods back today no longer select (a
 *   Deployment's, StatefulSet's or DaemonSet's template, replacing every pod; a bare Pod's own).
 */
export type ScaleChange = 'replicas' | 'autoscaled' | 'paused' | 'delete' | 'evict' | 'autoscaler' | 'relabel';

export interface ScaleToZeroContext {
  target: BackendRef;
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
  kinds: [DEPLOYMENTS, STATEFULSETS, DAEMONSETS, REPLICASETS, REPLICATIONCONTROLLERS, PODS, ...AUTOSCALER_JUDGED_KINDS],
  buildContext: ({ request, cluster, config }: ContextInput): ScaleToZeroContext | undefined => {
    const change = describeChange(request, cluster, config);
    if (!change) return undefined;
    const services = servicesLosing(change, cluster).map((service) => {
      const backing = cluster.backingOf(service, change.target);
      return {
        name: service.name,
        readyEndpoints: backing.readyEndpoints,
        ownReadyEndpoints: backing.ownReadyEndpoints,
        otherReadyEndpoints: backing.otherReadyEndpoints,
        otherBackends: backing.otherBackends,
      };
    });
    return {
      target: change.target,
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
    // A bare pod deleted or evicted: `kubectl drain` evicts a node's pods all at once, and two
    // bare pods behind one Service must not each count the other as the backend that stays.
    if (context?.target.kind === 'Pod' && (context.change === 'delete' || context.change === 'evict')) {
      return [{ store: input.cluster.pods.name, key: objectKey(context.target.namespace, context.target.name), after: null }];
    }
    if (!context || !isScalableKind(context.target.kind) || context.replicasAfter !== 0 || context.replicasBefore === 0 || context.change === 'autoscaler') return [];
    const store = input.cluster.workloads.name;
    if (context.change === 'delete') return [{ store, key: workloadKey(context.target), after: null }];
    // A workload created at zero backs nothing yet: nothing to count.
    if (context.replicasBefore === null) return [];
    return [{ store, key: workloadKey(context.target), after: { replicas: 0 } }];
  },
};

interface Change {
  kind: ScaleChange;
  target: BackendRef;
  /** The labels of the pods it runs after the request (on a delete, before it). */
  podLabels: Readonly<Record<string, string>>;
  /** On an update, the labels of the pods it runs before the request. */
  previousLabels?: Readonly<Record<string, string>>;
  before: number | null;
  after: number;
  autoscaler?: { kind: string; name: string };
}

/** Kinds whose controllers replace every pod when the pod template changes. */
const ROLLING_KINDS: ReadonlySet<string> = new Set(['Deployment', 'StatefulSet', 'DaemonSet']);

/**
 * The Services that may lose this target's endpoints: those its pods match before or after the
 * request; for a relabel, those its pods match before and no longer after; for an eviction,
 * those the pod is an endpoint of.
 */
function servicesLosing(change: Change, cluster: ClusterState): ServiceView[] {
  const namespace = change.target.namespace;
  // The cache keeps no pod's labels: an evicted pod's Services are those it is an endpoint of.
  if (change.kind === 'evict') return cluster.servicesWithEndpointsOf(namespace, change.target.name);
  if (change.kind === 'relabel') {
    return cluster.servicesSelecting(namespace, change.previousLabels ?? {}).filter((service) => !selectorMatches(service.selector, change.podLabels));
  }
  const services = new Map(cluster.servicesSelecting(namespace, change.podLabels).map((service) => [service.name, service]));
  if (change.previousLabels) for (const service of cluster.servicesSelecting(namespace, change.previousLabels)) services.set(service.name, service);
  return [...services.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/** Turns the request into "this workload goes from N to M replicas", or undefined when it does not touch replicas. */
function describeChange(request: AdmissionRequest, cluster: ClusterState, config: LeveeConfig): Change | undefined {
  const scaled = scaleTarget(request);
  if (scaled) {
    const workload = cluster.workload(scaled);
    const after = replicasOf(request.object);
    if (!workload || after === undefined || isCachedRolloutStep(scaled, request, cluster, config)) return undefined;
    return underAutoscaler(workload, { ...scalableChange(workload), before: replicasOf(request.oldObject) ?? null, after }, request, cluster, config);
  }
  const { group, kind } = request.kind;
  // pods/status can change a pod's labels: the API server puts back only its spec,
  // deletionTimestamp and ownerReferences there (podStatusStrategy), so it is a relabel too.
  const podStatus = request.subResource === 'status' && group === '' && kind === 'Pod';
  const namespace = request.namespace ?? 'default';
  if (request.operation === 'CREATE' && isPodEviction(request.resource, request.subResource)) return isClusterMachinery(request.userInfo) ? undefined : evictionChange(request, namespace, cluster);
  if (request.subResource && !podStatus) return undefined;

  if ((group === 'apps' && kind === 'DaemonSet') || (group === '' && kind === 'Pod')) {
    // The machinery's deletes carry out what was decided elsewhere (a cascade, a teardown, a
    // scale-down): judging them would only refuse the cluster its own cleanup. Its relabels are
    // judged like anyone's: no controller relabels a DaemonSet's template or a bare pod.
    if (request.operation === 'DELETE' && isClusterMachinery(request.userInfo)) return undefined;
    return kind === 'DaemonSet' ? daemonSetChange(request, namespace) : barePodChange(request, namespace, cluster);
  }
  if (isScalableGroupKind(group, kind)) {
    if (request.operation === 'DELETE') {
      const workload = workloadFromObject(request.oldObject, request.namespace) ?? cluster.workload({ kind, namespace, name: request.name ?? '' });
      if (!workload || isRolloutStep(kind, namespace, request.oldObject, request, cluster, config)) return undefined;
      return { ...scalableChange(workload), kind: 'delete', before: workload.replicas, after: 0 };
    }
    if (request.operation !== 'CREATE' && request.operation !== 'UPDATE') return undefined;
    if (isRolloutStep(kind, namespace, request.object, request, cluster, config)) return undefined;
    const workload = workloadFromObject(request.object, request.namespace);
    if (!workload) return undefined;
    const previous = request.operation === 'UPDATE' ? workloadFromObject(request.oldObject, request.namespace) : undefined;
    const before = request.operation === 'CREATE' ? null : (replicasOf(request.oldObject) ?? null);
    const change: Change = { ...scalableChange(workload), ...(previous ? { previousLabels: previous.podLabels } : {}), before, after: workload.replicas };
    if (previous && ROLLING_KINDS.has(kind) && workload.replicas > 0 && before !== 0 && !sameLabels(previous.podLabels, workload.podLabels)) {
      return { ...change, kind: 'relabel' };
    }
    return underAutoscaler(workload, change, request, cluster, config);
  }

  if (request.operation !== 'CREATE' && request.operation !== 'UPDATE') return undefined;
  const autoscaler = autoscalerOf(request.object, group);
  return autoscaler ? autoscalerChange(autoscaler, namespace, cluster) : undefined;
}

function scalableChange(workload: WorkloadView): Omit<Change, 'before' | 'after'> {
  return { kind: 'replicas', target: workload.ref, podLabels: workload.podLabels };
}

/** A DaemonSet runs a pod per node: deleting it, or relabelling its pods, can empty a Service. */
function daemonSetChange(request: AdmissionRequest, namespace: string): Change | undefined {
  const name = request.name || request.oldObject?.metadata?.name || request.object?.metadata?.name || '';
  const target: BackendRef = { kind: 'DaemonSet', namespace, name };
  if (request.operation === 'DELETE') {
    const labels = podTemplateOf(request.oldObject)?.labels;
    return labels ? { kind: 'delete', target, podLabels: labels, before: scheduledPods(request.oldObject), after: 0 } : undefined;
  }
  if (request.operation !== 'UPDATE') return undefined;
  const previousLabels = podTemplateOf(request.oldObject)?.labels;
  const podLabels = podTemplateOf(request.object)?.labels;
  if (!previousLabels || !podLabels || sameLabels(previousLabels, podLabels)) return undefined;
  const pods = scheduledPods(request.oldObject);
  return { kind: 'relabel', target, podLabels, previousLabels, before: pods, after: pods };
}

/**
 * A Pod no controller levee believes in (policies/controllers.ts) is a backend of its own:
 * nothing replaces it once it is deleted or relabelled. A controller's pod is replaced by it.
 */
function barePodChange(request: AdmissionRequest, namespace: string, cluster: ClusterState): Change | undefined {
  const old = request.oldObject;
  if (!old || (request.operation !== 'DELETE' && request.operation !== 'UPDATE')) return undefined;
  const previousLabels = old.metadata?.labels ?? {};
  // Most pod updates keep their labels: that is settled before any cache lookup.
  const podLabels = request.operation === 'UPDATE' ? (request.object?.metadata?.labels ?? {}) : undefined;
  if (podLabels && sameLabels(previousLabels, podLabels)) return undefined;
  if (cachedController('Pod', namespace, old, cluster)) return undefined;
  const target: BackendRef = { kind: 'Pod', namespace, name: request.name || old.metadata?.name || '' };
  if (!podLabels) return { kind: 'delete', target, podLabels: previousLabels, before: 1, after: 0 };
  return { kind: 'relabel', target, podLabels, previousLabels, before: 1, after: 1 };
}

/**
 * An Eviction names the pod and carries nothing of it: the pod is read from the cache. A pod
 * levee does not hold is not judged; one whose controller levee holds is replaced by it (a
 * PodDisruptionBudget is what guards those).
 */
function evictionChange(request: AdmissionRequest, namespace: string, cluster: ClusterState): Change | undefined {
  const name = request.name || request.object?.metadata?.name || '';
  const pod = cluster.pods.get(objectKey(namespace, name));
  if (!pod || cluster.podController(pod).kind === 'confirmed') return undefined;
  return { kind: 'evict', target: { kind: 'Pod', namespace, name }, podLabels: {}, before: 1, after: 0 };
}

/** The pods a DaemonSet runs, as its status last said (1 before the controller has written it). */
function scheduledPods(object: KubeObject | null): number {
  const scheduled = (object?.status as { desiredNumberScheduled?: unknown } | undefined)?.desiredNumberScheduled;
  return typeof scheduled === 'number' ? scheduled : 1;
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
function underAutoscaler(workload: WorkloadView, change: Change, request: AdmissionRequest, cluster: ClusterState, config: LeveeConfig): Change {
  if (change.after !== 0) return change;
  const byAutoscaler = config.policies['scale-to-zero'].autoscalers.includes(request.userInfo.username);
  if (!byAutoscaler && request.operation !== 'CREATE') return change;
  const [autoscaler] = cluster.autoscalersAllowingZero(workload.ref);
  return autoscaler ? { ...change, kind: 'autoscaled', autoscaler: { kind: autoscaler.kind, name: autoscaler.name } } : change;
}

/** An autoscaler written so that its workload can reach zero (or KEDA pinning it there). */
function autoscalerChange(autoscaler: AutoscalerView, namespace: string, cluster: ClusterState): Change | undefined {
  if (autoscaler.floor !== 0 || !autoscaler.target.name || !isScalableKind(autoscaler.target.kind)) return undefined;
  const workload = cluster.workload({ kind: autoscaler.target.kind, namespace, name: autoscaler.target.name });
  if (!workload) return undefined;
  return {
    ...scalableChange(workload),
    kind: autoscaler.pausedAtZero ? 'paused' : 'autoscaler',
    before: workload.replicas,
    after: 0,
    autoscaler: { kind: autoscaler.kind, name: autoscaler.name },
  };
}
