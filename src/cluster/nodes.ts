import type { KubeObject } from '../kube/types.js';
import type { CapacityLabelRule } from '../kube/capacity-labels.js';
import { capacityTypeOf, isSchedulable, poolOf, type CapacityType, type Taint } from './capacity.js';
import { IndexedStore } from './store.js';
import { parseKubeVersion, VersionTally, type KubeVersion } from './versions.js';

/** Karpenter labels every node it launches with the NodePool it came from. */
export const NODEPOOL_LABEL = 'karpenter.sh/nodepool';

/** What levee keeps of a Node: its capacity type, pool, schedulability and kubelet version. */
export interface NodeView {
  name: string;
  capacityType: CapacityType;
  pool: string;
  /** Launched by Karpenter from a NodePool; other nodes come from managed node groups, MachineDeployments or by hand. */
  fromNodePool: boolean;
  schedulable: boolean;
  kubelet?: KubeVersion;
}

export interface NodeClassification {
  capacityLabels: readonly CapacityLabelRule[];
  poolLabels: readonly string[];
}

export interface CapacityCount {
  /** Nodes of this capacity type. */
  nodes: number;
  /** Of those, nodes that take new pods: not cordoned, no NoSchedule/NoExecute taint. */
  schedulable: number;
}

export interface CapacityCounts {
  'on-demand': CapacityCount;
  spot: CapacityCount;
}

interface NodeShape {
  metadata?: { name?: string; labels?: Record<string, string> };
  spec?: { unschedulable?: boolean; taints?: Taint[] | null };
  status?: { nodeInfo?: { kubeletVersion?: string } };
}

export function toNodeView(object: KubeObject, classification: NodeClassification): NodeView {
  const node = object as NodeShape;
  const labels = node.metadata?.labels ?? {};
  const kubelet = parseKubeVersion(node.status?.nodeInfo?.kubeletVersion);
  return {
    name: node.metadata?.name ?? '',
    capacityType: capacityTypeOf(labels, classification.capacityLabels),
    pool: poolOf(labels, classification.poolLabels),
    fromNodePool: labels[NODEPOOL_LABEL] !== undefined,
    schedulable: isSchedulable(node.spec?.unschedulable === true, node.spec?.taints ?? []),
    ...(kubelet ? { kubelet } : {}),
  };
}

function emptyCounts(): CapacityCounts {
  return { 'on-demand': { nodes: 0, schedulable: 0 }, spot: { nodes: 0, schedulable: 0 } };
}

/**
 * Nodes, with live aggregates kept on every add, update and delete (and rebuilt on a relist):
 * schedulable on-demand and spot counts overall, per pool and outside Karpenter's NodePools,
 * and the range of kubelet versions. Admission reads them in constant time, never by walking
 * the nodes.
 */
export class NodeStore extends IndexedStore<NodeView> {
  readonly classification: NodeClassification;
  private overall = emptyCounts();
  private outside = emptyCounts();
  private readonly pools = new Map<string, CapacityCounts>();
  private readonly kubelets = new VersionTally();

  constructor(classification: NodeClassification) {
    super('nodes');
    this.classification = classification;
  }

  /** The store key and view of a watched Node. */
  project(object: KubeObject): [string, NodeView] {
    const view = toNodeView(object, this.classification);
    return [view.name, view];
  }

  protected override added(view: NodeView): void {
    this.count(view, +1);
  }

  protected override removed(view: NodeView): void {
    this.count(view, -1);
  }

  override replaceAll(entries: Iterable<[string, NodeView]>): void {
    this.overall = emptyCounts();
    this.outside = emptyCounts();
    this.pools.clear();
    this.kubelets.clear();
    // IndexedStore.replaceAll clears and re-adds through upsert, which counts each node again.
    super.replaceAll(entries);
  }

  capacity(): CapacityCounts {
    return structuredClone(this.overall);
  }

  poolCapacity(pool: string): CapacityCounts {
    return structuredClone(this.pools.get(pool) ?? emptyCounts());
  }

  /** Nodes Karpenter did not launch (managed node groups, MachineDeployments, nodes added by hand). */
  capacityOutsideNodePools(): CapacityCounts {
    return structuredClone(this.outside);
  }

  /** Oldest and newest kubelet among the nodes, optionally leaving one node's version out. */
  kubeletRange(except?: KubeVersion): ReturnType<VersionTally['range']> {
    return this.kubelets.range(except);
  }

  private count(view: NodeView, delta: 1 | -1): void {
    let pool = this.pools.get(view.pool);
    if (!pool) this.pools.set(view.pool, (pool = emptyCounts()));
    for (const counts of view.fromNodePool ? [this.overall, pool] : [this.overall, pool, this.outside]) {
      counts[view.capacityType].nodes += delta;
      if (view.schedulable) counts[view.capacityType].schedulable += delta;
    }
    if (pool['on-demand'].nodes === 0 && pool.spot.nodes === 0) this.pools.delete(view.pool);
    if (view.kubelet) {
      if (delta > 0) this.kubelets.add(view.kubelet);
      else this.kubelets.remove(view.kubelet);
    }
  }
}
