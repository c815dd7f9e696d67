import type { AdmissionRequest, KubeObject } from '../kube/types.js';
import {
  isScalableKind,
  replicasOf,
  scaleTarget,
  workloadFromObject,
  type ScalableKind,
  type WorkloadRef,
  type WorkloadView,
} from '../kube/workload.js';
import type { ClusterState } from '../cluster/state.js';
import { hasController } from '../kube/owners.js';
import { DEPLOYMENTS, STATEFULSETS, REPLICASETS } from './judged-kinds.js';
import type { ContextInput, PolicyDefinition } from './types.js';

export type ScaleChange = 'replicas' | 'paused' | 'delete' | 'autoscaler';

export interface ScaleToZeroContext {
  target: WorkloadRef;
  change: ScaleChange;
  replicasBefore: number | null;
  replicasAfter: number;
  autoscaler?: { kind: string; name: string };
  services: Array<{ name: string; readyEndpoints: number; otherReadyEndpoints: number; otherBackends: string[] }>;
}

const KEDA_PAUSED_REPLICAS = 'autoscaling.keda.sh/paused-replicas';

export const scaleToZero: PolicyDefinition = {
  id: 'scale-to-zero',
  summary: 'a workload scaled to zero while a Service still selects it and nothing else backs that Service',
  kinds: [
    DEPLOYMENTS,
    STATEFULSETS,
    REPLICASETS,
    { group: 'autoscaling', version: 'v2', kind: 'HorizontalPodAutoscaler', resource: 'horizontalpodautoscalers', namespaced: true },
    { group: 'keda.sh', version: 'v1alpha1', kind: 'ScaledObject', resource: 'scaledobjects', namespaced: true },
  ],
  buildContext: ({ request, cluster }: ContextInput): ScaleToZeroContext | undefined => {
    const change = describeChange(request, cluster);
    if (!change) return undefined;
    const services = cluster.servicesSelecting(change.workload.ref.namespace, change.workload.podLabels).map((service) => {
      const backing = cluster.backingOf(service, change.workload.ref);
      return {
        name: service.name,
        readyEndpoints: backing.readyEndpoints,
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
};

interface Change {
  kind: ScaleChange;
  workload: WorkloadView;
  before: number | null;
  after: number;
  autoscaler?: { kind: string; name: string };
}

/** Turns the request into "this workload goes from N to M replicas", or undefined when it does not touch replicas. */
function describeChange(request: AdmissionRequest, cluster: ClusterState): Change | undefined {
  const scaled = scaleTarget(request);
  if (scaled) {
    const workload = cluster.workload(scaled);
    const after = replicasOf(request.object);
    if (!workload || after === undefined || managedByController(workload, cluster)) return undefined;
    return { kind: 'replicas', workload, before: replicasOf(request.oldObject) ?? null, after };
  }
  if (request.subResource) return undefined;

  const kind = request.kind.kind;
  if (isScalableKind(kind)) {
    if (request.operation === 'DELETE') {
      const workload = workloadFromObject(request.oldObject, request.namespace) ?? cluster.workload(refOf(kind, request));
      if (!workload || hasController(request.oldObject)) return undefined;
      return { kind: 'delete', workload, before: workload.replicas, after: 0 };
    }
    if (request.operation !== 'CREATE' && request.operation !== 'UPDATE') return undefined;
    // ReplicaSets a Deployment controls are scaled by the Deployment controller during
    // rollouts; the Deployment is what levee judges.
    if (hasController(request.object)) return undefined;
    const workload = workloadFromObject(request.object, request.namespace);
    if (!workload) return undefined;
    return { kind: 'replicas', workload, before: replicasOf(request.oldObject) ?? null, after: workload.replicas };
  }

  if (request.operation !== 'CREATE' && request.operation !== 'UPDATE') return undefined;
  if (kind === 'HorizontalPodAutoscaler' && request.kind.group === 'autoscaling') return autoscalerChange(request, cluster, 'minReplicas', 1);
  if (kind === 'ScaledObject' && request.kind.group === 'keda.sh') return kedaChange(request, cluster);
  return undefined;
}

function autoscalerChange(request: AdmissionRequest, cluster: ClusterState, minField: string, minDefault: number): Change | undefined {
  const spec = specOf(request.object);
  const min = typeof spec[minField] === 'number' ? (spec[minField] as number) : minDefault;
  if (min !== 0) return undefined;
  const workload = targetWorkload(request, cluster, spec);
  if (!workload) return undefined;
  return {
    kind: 'autoscaler',
    workload,
    before: workload.replicas,
    after: 0,
    autoscaler: { kind: request.kind.kind, name: request.object?.metadata?.name ?? request.name ?? '' },
  };
}

/** KEDA: minReplicaCount defaults to 0; `paused-replicas: "0"` pins the target at zero. */
function kedaChange(request: AdmissionRequest, cluster: ClusterState): Change | undefined {
  const paused = request.object?.metadata?.annotations?.[KEDA_PAUSED_REPLICAS];
  // KEDA reads the annotation as an integer; an empty value pauses nothing.
  if (paused !== undefined && /^\s*0+\s*$/.test(paused)) {
    const workload = targetWorkload(request, cluster, specOf(request.object));
    if (!workload) return undefined;
    return {
      kind: 'paused',
      workload,
      before: workload.replicas,
      after: 0,
      autoscaler: { kind: 'ScaledObject', name: request.object?.metadata?.name ?? request.name ?? '' },
    };
  }
  return autoscalerChange(request, cluster, 'minReplicaCount', 0);
}

function targetWorkload(request: AdmissionRequest, cluster: ClusterState, spec: Record<string, unknown>): WorkloadView | undefined {
  const ref = spec.scaleTargetRef as { kind?: string; name?: string } | undefined;
  const kind = ref?.kind ?? 'Deployment';
  if (!ref?.name || !isScalableKind(kind)) return undefined;
  return cluster.workload({ kind, namespace: request.namespace ?? 'default', name: ref.name });
}

function refOf(kind: ScalableKind, request: AdmissionRequest): WorkloadRef {
  return { kind, namespace: request.namespace ?? 'default', name: request.name ?? '' };
}

function specOf(object: KubeObject | null): Record<string, unknown> {
  const spec = object?.spec;
  return typeof spec === 'object' && spec !== null ? (spec as Record<string, unknown>) : {};
}

function managedByController(workload: WorkloadView, cluster: ClusterState): boolean {
  return workload.ref.kind === 'ReplicaSet' && cluster.replicaSetOwner(workload.ref.namespace, workload.ref.name) !== undefined;
}
