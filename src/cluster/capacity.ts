import type { CapacityLabelRule } from '../kube/capacity-labels.js';
import { requiredNodeTerms, type NodeSelectorRequirement, type PodSpecShape } from '../kube/pod-template.js';

/**
 * Which capacity a node is, read from the labels providers put on nodes (k8s-reference.md
 * section 2), and which capacity a set of node constraints can reach. A node that no rule
 * calls spot is on-demand: unlabelled nodes are the ordinary, non-preemptible kind.
 */

export type CapacityType = 'on-demand' | 'spot';

export interface Taint {
  key: string;
  value?: string;
  effect: string;
}

export function isSpotValue(rule: CapacityLabelRule, value: string): boolean {
  if (rule.spotValues) return rule.spotValues.includes(value);
  return !(rule.onDemandValues ?? []).includes(value);
}

export function capacityTypeOf(labels: Readonly<Record<string, string>>, rules: readonly CapacityLabelRule[]): CapacityType {
  for (const rule of rules) {
    const value = labels[rule.label];
    if (value !== undefined && isSpotValue(rule, value)) return 'spot';
  }
  return 'on-demand';
}

/** The node's pool: the value of the first pool label it carries, or '' for none. */
export function poolOf(labels: Readonly<Record<string, string>>, poolLabels: readonly string[]): string {
  for (const label of poolLabels) {
    const value = labels[label];
    if (value) return value;
  }
  return '';
}

/** Taints that keep new pods off a node (NoSchedule) or push them off (NoExecute). */
export function blockingTaints(taints: readonly Taint[]): Taint[] {
  return taints.filter((taint) => taint.effect === 'NoSchedule' || taint.effect === 'NoExecute');
}

export function isSchedulable(unschedulable: boolean, taints: readonly Taint[]): boolean {
  return !unschedulable && blockingTaints(taints).length === 0;
}


/**
 * Whether one requirement confines a pod (or a pool) to spot nodes by a capacity label:
 * `In` only spot values, `NotIn` every on-demand value, or `Exists` on a label that only
 * spot nodes carry.
 */
export function requirementForcesSpot(requirement: NodeSelectorRequirement, rules: readonly CapacityLabelRule[]): boolean {
  const values = requirement.values ?? [];
  return rules.some((rule) => {
    if (rule.label !== requirement.key) return false;
    switch (requirement.operator) {
      case 'In':
        return values.length > 0 && values.every((value) => isSpotValue(rule, value));
      case 'NotIn':
        return (rule.onDemandValues ?? []).length > 0 && (rule.onDemandValues ?? []).every((value) => values.includes(value));
      case 'Exists':
        return !rule.onDemandValues || rule.onDemandValues.length === 0;
      default:
        return false;
    }
  });
}

/** The capacity labels among a set of requirement keys, to tell whether someone already chose placement by capacity. */
export function mentionsCapacity(keys: Iterable<string>, rules: readonly CapacityLabelRule[], extra: readonly string[] = []): boolean {
  const capacityKeys = new Set([...rules.map((rule) => rule.label), ...extra]);
  for (const key of keys) if (capacityKeys.has(key)) return true;
  return false;
}

function describe(requirement: NodeSelectorRequirement): string {
  const values = requirement.values ?? [];
  return values.length > 0 ? `${requirement.key} ${requirement.operator} [${values.join(', ')}]` : `${requirement.key} ${requirement.operator}`;
}

/**
 * Whether a pod with this spec could land on an on-demand node, judged by capacity labels
 * only: its nodeSelector, and its required node affinity (terms are alternatives; the
 * requirements inside one term all apply). `pinnedBy` says what confines it to spot.
 */
export function podPlacement(spec: PodSpecShape, rules: readonly CapacityLabelRule[]): { canRunOnDemand: boolean; pinnedBy: string } {
  for (const [key, value] of Object.entries(spec.nodeSelector ?? {})) {
    if (requirementForcesSpot({ key, operator: 'In', values: [value] }, rules)) return { canRunOnDemand: false, pinnedBy: `nodeSelector ${key}=${value}` };
  }
  const terms = requiredNodeTerms(spec);
  if (terms.length === 0) return { canRunOnDemand: true, pinnedBy: '' };
  const pins: string[] = [];
  for (const term of terms) {
    const pin = (term.matchExpressions ?? []).find((requirement) => requirementForcesSpot(requirement, rules));
    if (!pin) return { canRunOnDemand: true, pinnedBy: '' };
    pins.push(describe(pin));
  }
  return { canRunOnDemand: false, pinnedBy: `required node affinity ${[...new Set(pins)].join(' or ')}` };
}
