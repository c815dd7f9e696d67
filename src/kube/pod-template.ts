import { recordOf } from './fields.js';
import type { KubeObject } from './types.js';

/**
 * The pod a workload runs, whatever its kind: where its placement lives (nodeSelector, node
 * affinity, topology spread) and which labels and priority its pods get. One place for the
 * Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job and CronJob shapes.
 */

/** The kinds that run pods, each with its API group: Pods themselves, and every kind with a pod template. */
const GROUP_OF = { Pod: '', Deployment: 'apps', StatefulSet: 'apps', DaemonSet: 'apps', ReplicaSet: 'apps', ReplicationController: '', Job: 'batch', CronJob: 'batch' } as const;
export type PodTemplateKind = keyof typeof GROUP_OF;
export const POD_TEMPLATE_KINDS = Object.keys(GROUP_OF) as readonly PodTemplateKind[];

/** Whether `group`/`kind` is one of the kinds that run pods (a `Deployment` of another group is not). */
export function isPodTemplateKind(group: string, kind: string): kind is PodTemplateKind {
  return (POD_TEMPLATE_KINDS as readonly string[]).includes(kind) && GROUP_OF[kind as PodTemplateKind] === group;
}

export interface NodeSelectorRequirement {
  key: string;
  operator: string;
  values?: string[];
}

export interface NodeSelectorTerm {
  matchExpressions?: NodeSelectorRequirement[];
}

/** The parts of a PodSpec that placement and priority are read from. */
export interface PodSpecShape {
  nodeSelector?: Record<string, string>;
  affinity?: {
    nodeAffinity?: {
      requiredDuringSchedulingIgnoredDuringExecution?: { nodeSelectorTerms?: NodeSelectorTerm[] };
      preferredDuringSchedulingIgnoredDuringExecution?: Array<{ weight?: number; preference?: NodeSelectorTerm }>;
    };
  };
  topologySpreadConstraints?: Array<{ topologyKey: string; [key: string]: unknown }>;
  priorityClassName?: string;
  [key: string]: unknown;
}

export interface PodTemplate {
  labels: Record<string, string>;
  spec: PodSpecShape;
}

/** The object's pod template, or undefined for kinds that run no pods or objects without a spec. */
export function podTemplateOf(object: KubeObject | null): PodTemplate | undefined {
  if (!object || !(POD_TEMPLATE_KINDS as readonly string[]).includes(object.kind ?? '')) return undefined;
  if (object.kind === 'Pod') {
    const spec = recordOf(object.spec);
    return spec ? { labels: { ...(object.metadata?.labels ?? {}) }, spec: spec as PodSpecShape } : undefined;
  }
  let holder = recordOf(object.spec);
  if (object.kind === 'CronJob') holder = recordOf(recordOf(holder?.jobTemplate)?.spec);
  const template = recordOf(holder?.template);
  const spec = recordOf(template?.spec);
  if (!template || !spec) return undefined;
  const labels = recordOf(recordOf(template.metadata)?.labels) ?? {};
  return { labels: labels as Record<string, string>, spec: spec as PodSpecShape };
}

/** The label selector of a workload (`spec.selector.matchLabels`), or the pod labels. */
export function workloadSelector(object: KubeObject, template: PodTemplate): Record<string, string> {
  const matchLabels = recordOf(recordOf(recordOf(object.spec)?.selector)?.matchLabels);
  return { ...((matchLabels as Record<string, string> | undefined) ?? template.labels) };
}

export function requiredNodeTerms(spec: PodSpecShape): NodeSelectorTerm[] {
  return spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
}

/** Every node label key the pod's placement mentions: selector, required and preferred affinity, spread. */
export function placementKeys(spec: PodSpecShape): string[] {
  const keys = new Set<string>(Object.keys(spec.nodeSelector ?? {}));
  for (const term of requiredNodeTerms(spec)) for (const requirement of term.matchExpressions ?? []) keys.add(requirement.key);
  for (const preferred of spec.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? []) {
    for (const requirement of preferred.preference?.matchExpressions ?? []) keys.add(requirement.key);
  }
  for (const constraint of spec.topologySpreadConstraints ?? []) keys.add(constraint.topologyKey);
  return [...keys];
}
