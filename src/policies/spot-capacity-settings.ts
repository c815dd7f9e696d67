import { z } from 'zod';
import { DEFAULT_CAPACITY_LABELS, DEFAULT_POOL_LABELS } from '../kube/capacity-labels.js';
import { labelKey, labelValue, namespaceName } from '../kube/name-syntax.js';
import { enforcementAction } from './action.js';

/**
 * The `policies.spot-capacity` settings beyond action and exemptions (merged, validated and
 * frozen by src/config.ts with the rest of the configuration).
 */

const capacityLabel = z.strictObject({
  label: labelKey,
  spotValues: z.array(labelValue).optional(),
  onDemandValues: z.array(labelValue).optional(),
});

/** The cluster's own recovery: these may always remove capacity (`{node}` is the node in question). */
export const DEFAULT_FAILURE_HANDLERS = [
  'system:serviceaccount:kube-system:node-controller',
  'system:kube-controller-manager',
  'system:serviceaccount:kube-system:cloud-node-lifecycle-controller',
  'system:node:{node}',
  'system:serviceaccount:kube-system:cluster-autoscaler',
  'system:serviceaccount:karpenter:karpenter',
  'system:serviceaccount:kube-system:karpenter',
  'system:serviceaccount:kube-system:aws-node-termination-handler',
  // Worker pools of Cluster API workload clusters: Cluster API's manager deletes them with their
  // cluster and keeps topology-owned ones in step; the garbage collector and the namespace
  // controller delete them with their owner or namespace.
  'system:serviceaccount:capi-system:capi-manager',
  'system:serviceaccount:kube-system:generic-garbage-collector',
  'system:serviceaccount:kube-system:namespace-controller',
];

/**
 * Failure handlers that only follow an owner: they take capacity down for the owner's sake
 * (a Cluster being deleted, an owner that is gone), and write whatever else they are asked to
 * (Cluster API's topology controller) or pointed at (the garbage collector follows the
 * ownerReferences the object's writer set). Exempt only where levee's caches show the owning
 * Cluster being deleted or gone; judged like anyone else otherwise, and when they delete Nodes.
 * kube-controller-manager without service account credentials runs the garbage collector and
 * the namespace controller as itself (its node lifecycle controller's taints stay exempt).
 */
export const DEFAULT_OWNER_FOLLOWERS = [
  'system:kube-controller-manager',
  'system:serviceaccount:capi-system:capi-manager',
  'system:serviceaccount:kube-system:generic-garbage-collector',
  'system:serviceaccount:kube-system:namespace-controller',
];

/**
 * Cluster API provider kinds (infrastructure.cluster.x-k8s.io) whose machines cannot be spot:
 * Cluster API's own Docker and in-memory providers, and ROSA machine pools (no spot option in
 * their API). A pool made from one counts as on-demand without levee reading it.
 */
export const DEFAULT_ON_DEMAND_MACHINE_KINDS = [
  'DockerMachineTemplate',
  'DockerMachinePool',
  'DockerMachinePoolTemplate',
  'DevMachineTemplate',
  'DevMachinePool',
  'DevMachinePoolTemplate',
  'ROSAMachinePool',
];

export const DEFAULT_CRITICAL_PRIORITY_CLASSES = ['system-cluster-critical', 'system-node-critical'];


export const spotCapacitySettings = {
  rules: z
    .strictObject({
      'on-demand-floor': enforcementAction.optional(),
      // levee must never block the cluster's own recovery from a lost node: never deny.
      'on-demand-floor-by-failure-handler': z.enum(['warn', 'audit']).default('audit'),
      'all-pools-spot': enforcementAction.optional(),
      // The same for a workload cluster's pools changed by Cluster API itself: never deny either.
      'all-pools-spot-by-failure-handler': z.enum(['warn', 'audit']).default('audit'),
      // A worker pool whose machines levee cannot tell counts as on-demand: say so.
      'unknown-capacity': enforcementAction.default('warn'),
      'critical-pinned-to-spot': enforcementAction.optional(),
    })
    .default({ 'on-demand-floor-by-failure-handler': 'audit', 'all-pools-spot-by-failure-handler': 'audit', 'unknown-capacity': 'warn' }),
  /** Fewest schedulable on-demand nodes a delete, cordon or taint may leave. */
  minOnDemandNodes: z.number().int().min(0).default(2),
  /** Smallest share (0..1) of schedulable nodes that must stay on-demand; 0 turns it off. */
  minOnDemandShare: z.number().min(0).max(1).default(0),
  capacityLabels: z.array(capacityLabel).default(() => structuredClone(DEFAULT_CAPACITY_LABELS) as Array<z.infer<typeof capacityLabel>>),
  poolLabels: z.array(labelKey).default(() => [...DEFAULT_POOL_LABELS]),
  failureHandlers: z.array(z.string().min(1)).default(() => [...DEFAULT_FAILURE_HANDLERS]),
  ownerFollowers: z.array(z.string().min(1)).default(() => [...DEFAULT_OWNER_FOLLOWERS]),
  /** Provider kinds whose machines are never spot; any other kind levee does not read is unknown, and warned about. */
  onDemandMachineKinds: z.array(z.string().min(1)).default(() => [...DEFAULT_ON_DEMAND_MACHINE_KINDS]),
  critical: z
    .strictObject({
      labels: z.record(labelKey, labelValue).default({ 'levee.dev/critical': 'true' }),
      namespaces: z.array(namespaceName).default([]),
      priorityClassNames: z.array(z.string()).default(() => [...DEFAULT_CRITICAL_PRIORITY_CLASSES]),
    })
    .default(() => ({ labels: { 'levee.dev/critical': 'true' }, namespaces: [], priorityClassNames: [...DEFAULT_CRITICAL_PRIORITY_CLASSES] })),
  /** `/mutate` adds a spread across this capacity label to critical workloads that have none. */
  spread: z
    .strictObject({
      enabled: z.boolean().default(true),
      topologyKey: labelKey.default('karpenter.sh/capacity-type'),
    })
    .default({ enabled: true, topologyKey: 'karpenter.sh/capacity-type' }),
};
