import { groupOf, recordOf, textOf } from '../kube/fields.js';
import type { KubeObject } from '../kube/types.js';
import { IndexedStore } from './store.js';

/**
 * The autoscaler objects that decide how low a workload may go: HorizontalPodAutoscalers,
 * KEDA ScaledObjects and the KEDA HTTP add-on's HTTPScaledObjects, in one view. Whether an
 * autoscaler lets its workload reach zero comes from here (levee's caches, or the manifests in
 * `levee audit`), never from the request that scales the workload.
 */

export const KEDA_GROUP = 'keda.sh';
export const KEDA_HTTP_GROUP = 'http.keda.sh';
export const KEDA_PAUSED_REPLICAS = 'autoscaling.keda.sh/paused-replicas';

export type AutoscalerKind = 'HorizontalPodAutoscaler' | 'ScaledObject' | 'HTTPScaledObject';

/** Each autoscaler kind with its API group and the versions levee reads (all share the fields read here). */
export const AUTOSCALER_KINDS: ReadonlyArray<{ group: string; kind: AutoscalerKind; versions: readonly string[] }> = [
  { group: 'autoscaling', kind: 'HorizontalPodAutoscaler', versions: ['v2', 'v1'] },
  { group: KEDA_GROUP, kind: 'ScaledObject', versions: ['v1alpha1'] },
  { group: KEDA_HTTP_GROUP, kind: 'HTTPScaledObject', versions: ['v1alpha1'] },
];

export interface AutoscalerView {
  kind: AutoscalerKind;
  namespace: string;
  name: string;
  /** The workload it scales (`scaleTargetRef`); a ScaledObject's or HTTPScaledObject's kind defaults to Deployment. */
  target: { kind: string; name: string };
  /** The fewest replicas it scales the workload to: 0 when it can reach zero (minimum, idle count or paused at 0). */
  floor: number;
  /** KEDA's `paused-replicas: "0"`: the ScaledObject pins its workload at zero. */
  pausedAtZero: boolean;
}

/** Whether group and kind are an autoscaler levee reads. */
export function isAutoscaler(group: string, kind: string | undefined): kind is AutoscalerKind {
  return AUTOSCALER_KINDS.some((entry) => entry.group === group && entry.kind === kind);
}

/** The view of an autoscaler object (its group taken from apiVersion, or `group`); undefined for anything else. */
export function autoscalerOf(object: KubeObject | null, group = groupOf(object?.apiVersion)): AutoscalerView | undefined {
  if (!object || !isAutoscaler(group, object.kind)) return undefined;
  const spec = recordOf(object.spec) ?? {};
  const ref = recordOf(spec.scaleTargetRef) ?? {};
  // The HTTP add-on before v0.8 named its Deployment in `scaleTargetRef.deployment`.
  const name = textOf(ref.name) || (object.kind === 'HTTPScaledObject' ? textOf(ref.deployment) : '');
  const targetKind = textOf(ref.kind) || (object.kind === 'HorizontalPodAutoscaler' ? '' : 'Deployment');
  const pausedAtZero = object.kind === 'ScaledObject' && isZero(object.metadata?.annotations?.[KEDA_PAUSED_REPLICAS]);
  return {
    kind: object.kind,
    namespace: object.metadata?.namespace ?? '',
    name: object.metadata?.name ?? '',
    target: { kind: targetKind, name },
    floor: pausedAtZero ? 0 : floorOf(object.kind, spec),
    pausedAtZero,
  };
}

/** The lowest count each kind scales to, with each API's default for an absent minimum. */
function floorOf(kind: AutoscalerKind, spec: Record<string, unknown>): number {
  switch (kind) {
    case 'HorizontalPodAutoscaler':
      // minReplicas defaults to 1; 0 needs the HPAScaleToZero feature gate.
      return count(spec.minReplicas, 1);
    case 'ScaledObject': {
      // minReplicaCount defaults to 0; idleReplicaCount (below the minimum) is where KEDA
      // scales an inactive workload.
      const minimum = count(spec.minReplicaCount, 0);
      const idle = typeof spec.idleReplicaCount === 'number' ? spec.idleReplicaCount : minimum;
      return Math.min(minimum, idle);
    }
    case 'HTTPScaledObject':
      return count(recordOf(spec.replicas)?.min, 0);
  }
}

function count(value: unknown, absent: number): number {
  return typeof value === 'number' ? value : absent;
}

/** KEDA reads the annotation as an integer; an empty value pauses nothing. */
function isZero(value: unknown): boolean {
  return typeof value === 'string' && /^\s*0+\s*$/.test(value);
}

export function autoscalerKey(view: Pick<AutoscalerView, 'kind' | 'namespace' | 'name'>): string {
  return `${view.kind}/${view.namespace}/${view.name}`;
}

function targetKey(namespace: string, kind: string, name: string): string {
  return `${namespace}/${kind}/${name}`;
}

/**
 * Autoscalers, indexed by the workload they scale. Built-in HPAs and KEDA's CRD-backed kinds
 * are kept in two stores, since each is ready (synced) on its own.
 */
export class AutoscalerStore extends IndexedStore<AutoscalerView> {
  constructor(name: string) {
    super(name, {
      target: (view) => (view.target.name ? [targetKey(view.namespace, view.target.kind, view.target.name)] : []),
      kind: (view) => [view.kind],
    });
  }

  /** `[key, view]` for an object of `group`, or undefined when it is no autoscaler levee reads. */
  project(object: KubeObject, group?: string): [string, AutoscalerView] | undefined {
    const view = autoscalerOf(object, group);
    return view ? [autoscalerKey(view), view] : undefined;
  }

  /** The autoscalers of one workload that let it reach zero, by kind and name. */
  allowingZero(namespace: string, kind: string, name: string): AutoscalerView[] {
    return this.byIndex('target', targetKey(namespace, kind, name))
      .filter((view) => view.floor === 0)
      .sort((a, b) => autoscalerKey(a).localeCompare(autoscalerKey(b)));
  }

  /** Forgets every object of one kind, as when its CRD is deleted. */
  removeKind(kind: AutoscalerKind): void {
    this.removeByIndex('kind', kind);
  }
}
