import type { KubeObject } from '../kube/types.js';
import type { NodeSelectorRequirement } from '../kube/pod-template.js';
import { IndexedStore } from './store.js';

/**
 * Karpenter NodePools (karpenter.sh/v1) and the capacity types each can launch, read from
 * `spec.template.spec.requirements` on `karpenter.sh/capacity-type`.
 */

export const NODEPOOL_GROUP = 'karpenter.sh';
export const NODEPOOL_KIND = 'NodePool';
export const NODEPOOL_VERSIONS = ['v1'] as const;
export const CAPACITY_TYPE_LABEL = 'karpenter.sh/capacity-type';

export type PoolCapacityType = 'on-demand' | 'reserved' | 'spot';

// Reserved capacity needs a capacity reservation that levee cannot see, so a pool offers it
// only when a requirement names it; `NotIn [on-demand]` therefore means spot only.
const OPEN_DOMAIN: readonly PoolCapacityType[] = ['on-demand', 'spot'];
const ALL: readonly PoolCapacityType[] = ['on-demand', 'reserved', 'spot'];

export interface NodePoolView {
  name: string;
  capacityTypes: PoolCapacityType[];
}

export function canGiveOnDemand(capacityTypes: readonly PoolCapacityType[]): boolean {
  return capacityTypes.some((type) => type !== 'spot');
}

/**
 * The capacity types a NodePool's requirements allow, all requirements on the key intersected.
 * A NodePool that says nothing about capacity type gets on-demand (the AWS provider's default).
 */
export function nodePoolCapacityTypes(object: KubeObject | null): PoolCapacityType[] {
  if (launchesNothing(object)) return [];
  const requirements = (((object?.spec as { template?: { spec?: { requirements?: unknown } } } | undefined)?.template?.spec?.requirements ??
    []) as NodeSelectorRequirement[]).filter((requirement) => requirement?.key === CAPACITY_TYPE_LABEL);
  if (requirements.length === 0) return ['on-demand'];
  let included: Set<PoolCapacityType> | undefined;
  const excluded = new Set<string>();
  for (const requirement of requirements) {
    const values = requirement.values ?? [];
    switch (requirement.operator) {
      case 'In':
        included = new Set((included ? [...included] : ALL).filter((type) => values.includes(type)));
        break;
      case 'NotIn':
        for (const value of values) excluded.add(value);
        break;
      case 'DoesNotExist':
        // Karpenter labels every node it launches with its capacity type: nothing can match.
        return [];
      default:
        // Exists, or an operator that does not narrow capacity types.
        break;
    }
  }
  const allowed = included ?? new Set(OPEN_DOMAIN);
  return ALL.filter((type) => allowed.has(type) && !excluded.has(type));
}

/**
 * Karpenter launches nothing from a NodePool at its limits, and a limit of zero (or less) on any
 * resource is reached before the first node: such a pool gives no capacity of any type.
 */
function launchesNothing(object: KubeObject | null): boolean {
  const limits = (object?.spec as { limits?: unknown } | undefined)?.limits;
  if (!limits || typeof limits !== 'object') return false;
  return Object.values(limits as Record<string, unknown>).some(atMostZero);
}

const QUANTITY_NUMBER = /^\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+))/;

function atMostZero(quantity: unknown): boolean {
  if (typeof quantity === 'number') return Number.isFinite(quantity) && quantity <= 0;
  if (typeof quantity !== 'string') return false;
  const number = QUANTITY_NUMBER.exec(quantity)?.[1];
  return number !== undefined && Number(number) <= 0;
}

export function toNodePoolView(object: KubeObject): NodePoolView {
  return { name: object.metadata?.name ?? '', capacityTypes: nodePoolCapacityTypes(object) };
}

/** NodePools, indexed by whether they can launch anything but spot, and by each capacity type they can launch. */
export class NodePoolStore extends IndexedStore<NodePoolView> {
  constructor() {
    super('nodepools', {
      capability: (view) => [canGiveOnDemand(view.capacityTypes) ? 'on-demand' : 'spot-only'],
      launches: (view) => view.capacityTypes,
    });
  }

  project(object: KubeObject): [string, NodePoolView] {
    const view = toNodePoolView(object);
    return [view.name, view];
  }

  onDemandCapable(): NodePoolView[] {
    return this.byIndex('capability', 'on-demand');
  }

  /** NodePools that can launch spot nodes: spot capacity the cluster may get at any moment. */
  spotCapable(): NodePoolView[] {
    return this.byIndex('launches', 'spot');
  }
}
