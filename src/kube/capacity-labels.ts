/**
 * The labels providers put on nodes that say whether a node is spot (or preemptible)
 * capacity, and which pool it belongs to. Which labels levee reads is configuration
 * (`policies.spot-capacity.capacityLabels`, `poolLabels`); these are its defaults.
 */

export interface CapacityLabelRule {
  label: string;
  /** Values meaning spot. When absent, any value other than `onDemandValues` means spot. */
  spotValues?: readonly string[];
  /** Values meaning not spot. When a rule has none, the label appears on spot nodes only. */
  onDemandValues?: readonly string[];
}

/** Providers' node labels for spot and preemptible capacity (k8s-reference.md section 2). */
export const DEFAULT_CAPACITY_LABELS: readonly CapacityLabelRule[] = [
  { label: 'karpenter.sh/capacity-type', spotValues: ['spot'], onDemandValues: ['on-demand', 'reserved'] },
  { label: 'eks.amazonaws.com/capacityType', spotValues: ['SPOT'], onDemandValues: ['ON_DEMAND'] },
  { label: 'cloud.google.com/gke-spot', spotValues: ['true'] },
  { label: 'cloud.google.com/gke-preemptible', spotValues: ['true'] },
  { label: 'kubernetes.azure.com/scalesetpriority', spotValues: ['spot'] },
  { label: 'node.alibabacloud.com/spot-strategy', onDemandValues: ['NoSpot'] },
  { label: 'oci.oraclecloud.com/oke-is-preemptible', spotValues: ['true'] },
];

/** Labels naming the node pool a node belongs to (Karpenter, EKS, GKE, AKS). */
export const DEFAULT_POOL_LABELS: readonly string[] = [
  'karpenter.sh/nodepool',
  'eks.amazonaws.com/nodegroup',
  'cloud.google.com/gke-nodepool',
  'kubernetes.azure.com/agentpool',
];

