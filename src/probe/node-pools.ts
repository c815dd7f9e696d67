import type { NodeView } from './cache-views.js';

/**
 * The node pools a canary is aimed at, from what levee already reads on nodes: a pool label
 * (Karpenter's NodePool, EKS, GKE, AKS node groups: `policies.spot-capacity.poolLabels`), else
 * Cluster API's MachineDeployment label, else the capacity-type label. A pool is one value of
 * the first of those labels a node carries; nodes with none form one pool of their own.
 */

/** Cluster API labels a Machine's node with its MachineDeployment when the label is propagated. */
export const MACHINE_DEPLOYMENT_LABEL = 'cluster.x-k8s.io/deployment-name';

export interface NodeAffinityTerm {
  key: string;
  operator: 'In' | 'DoesNotExist';
  values?: string[];
}

export interface Toleration {
  key: string;
  operator: 'Exists';
  effect: string;
}

export interface NodePool {
  /** `label=value`, or `(no pool label)`. */
  name: string;
  /** Pod node affinity that lands on this pool only: its label's value, and none of the labels tried before it. */
  affinity: NodeAffinityTerm[];
  /** The taints this pool's nodes carry that a workload meant for them tolerates (not the node lifecycle's). */
  tolerations: Toleration[];
  nodes: string[];
  ready: number;
}

/** Taints no canary should tolerate: they say a node is unwell or going away, which the canary is there to notice. */
const LIFECYCLE_TAINTS = [/^node\.kubernetes\.io\//, /^node\.cloudprovider\.kubernetes\.io\//, /^karpenter\.sh\/disrupted$/, /^ToBeDeletedByClusterAutoscaler$/, /^DeletionCandidateOfClusterAutoscaler$/];

/** The pools of these nodes, largest first. `labels` is the order in which a node's pool label is looked for. */
export function nodePools(nodes: readonly NodeView[], labels: readonly string[]): NodePool[] {
  const pools = new Map<string, NodePool>();
  for (const node of nodes) {
    const nodeLabels = node.labels;
    const index = labels.findIndex((label) => nodeLabels[label] !== undefined && nodeLabels[label] !== '');
    const label = labels[index];
    const name = label ? `${label}=${nodeLabels[label]}` : '(no pool label)';
    const before = label ? labels.slice(0, index) : labels;
    const pool = pools.get(name) ?? {
      name,
      affinity: [
        ...before.map((key): NodeAffinityTerm => ({ key, operator: 'DoesNotExist' })),
        ...(label ? [{ key: label, operator: 'In' as const, values: [nodeLabels[label]!] }] : []),
      ],
      tolerations: [],
      nodes: [],
      ready: 0,
    };
    pool.nodes.push(node.name);
    if (node.ready) pool.ready++;
    for (const taint of node.taints) {
      if (LIFECYCLE_TAINTS.some((pattern) => pattern.test(taint.key))) continue;
      if (!pool.tolerations.some((toleration) => toleration.key === taint.key && toleration.effect === taint.effect)) {
        pool.tolerations.push({ key: taint.key, operator: 'Exists', effect: taint.effect });
      }
    }
    pools.set(name, pool);
  }
  return [...pools.values()].sort((a, b) => b.nodes.length - a.nodes.length || a.name.localeCompare(b.name));
}
