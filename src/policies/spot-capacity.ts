import { podTemplateOf, type PodTemplate } from '../kube/pod-template.js';
import type { AdmissionRequest, KubeObject } from '../kube/types.js';
import { sameLabels } from '../kube/fields.js';
import { podPlacement, type CapacityType } from '../cluster/capacity.js';
import { INFRASTRUCTURE_GROUP, INFRASTRUCTURE_KINDS } from '../cluster/infrastructure-capacity.js';
import { CLUSTER_API_GROUP } from '../cluster/worker-pools.js';
import { canGiveOnDemand, NODEPOOL_GROUP, NODEPOOL_KIND, nodePoolCapacityTypes, type PoolCapacityType } from '../cluster/nodepools.js';
import { toNodeView, type NodeView } from '../cluster/nodes.js';
import type { ExpectedView, PendingChange } from '../cluster/recent-decisions.js';
import type { ClusterState } from '../cluster/state.js';
import type { LeveeConfig } from '../config.js';
import { NODES, DEPLOYMENTS, STATEFULSETS, DAEMONSETS, REPLICATIONCONTROLLERS } from './judged-kinds.js';
import { isWorkloadClusterRequest, workloadClusterChange, workloadClusterPending, type WorkloadClusterContext } from './spot-capacity-workers.js';

export type { WorkloadClusterContext };
import type { ContextInput, JudgedKind, PolicyDefinition } from './types.js';
import { cachedController } from './controllers.js';

type Settings = LeveeConfig['policies']['spot-capacity'];

/**
 * Counts are as they will be once the changes levee allowed moments ago land (the ledger of
 * recent decisions), so that parallel requests count each other.
 */
export interface NodeLossContext {
  subject: 'node';
  change: 'delete' | 'cordon' | 'taint' | 'relabel';
  node: { name: string; capacityType: CapacityType; pool: string };
  onDemand: { schedulable: number; after: number };
  spot: { schedulable: number; nodes: number };
  /** NodePools that can launch spot: spot capacity the cluster can get at any moment. */
  spotNodePools: string[];
  schedulableAfter: number;
  pool: { name: string; onDemandAfter: number };
}

export interface NodePoolContext {
  subject: 'nodepool';
  pool: { name: string; capacityTypes: PoolCapacityType[]; previousCapacityTypes?: PoolCapacityType[] };
  others: { count: number; onDemandCapable: string[] };
  /** Schedulable on-demand nodes Karpenter did not launch (a managed node group): capacity no NodePool change takes away. */
  onDemandOutsideNodePools: number;
}

export interface CriticalWorkloadContext {
  subject: 'workload';
  workload: { kind: string; namespace: string; name: string };
  critical: boolean;
  criticalBecause: string;
  canRunOnDemand: boolean;
  pinnedBy: string;
  before?: { critical: boolean; canRunOnDemand: boolean };
}

export type SpotCapacityContext = NodeLossContext | NodePoolContext | WorkloadClusterContext | CriticalWorkloadContext;

const capi = (group: string, kind: string, resource: string): JudgedKind => ({ group, version: 'v1beta2', kind, resource, namespaced: true });

export const spotCapacity: PolicyDefinition<SpotCapacityContext> = {
  id: 'spot-capacity',
  summary: 'a change that leaves the cluster, or a critical workload, with spot capacity only',
  kinds: [
    NODES,
    { group: NODEPOOL_GROUP, version: 'v1', kind: NODEPOOL_KIND, resource: 'nodepools', namespaced: false },
    capi(CLUSTER_API_GROUP, 'MachineDeployment', 'machinedeployments'),
    capi(CLUSTER_API_GROUP, 'MachinePool', 'machinepools'),
    capi(CLUSTER_API_GROUP, 'Cluster', 'clusters'),
    capi(CLUSTER_API_GROUP, 'ClusterClass', 'clusterclasses'),
    ...INFRASTRUCTURE_KINDS.map((kind) => ({ ...capi(INFRASTRUCTURE_GROUP, kind.kind, `${kind.kind.toLowerCase()}s`), version: kind.versions[0]! })),
    DEPLOYMENTS,
    STATEFULSETS,
    DAEMONSETS,
    REPLICATIONCONTROLLERS,
  ],
  buildContext: ({ request, cluster, config }: ContextInput): SpotCapacityContext | undefined => {
    const settings = config.policies['spot-capacity'];
    if (request.kind.group === '' && request.kind.kind === 'Node') return nodeLoss(request, cluster);
    if (request.kind.group === NODEPOOL_GROUP && request.kind.kind === NODEPOOL_KIND) return nodePoolChange(request, cluster);
    if (isWorkloadClusterRequest(request)) return workloadClusterChange(request, cluster, settings.onDemandMachineKinds);
    return criticalWorkload(request, settings, cluster);
  },
  pendingChanges: (input: ContextInput, context = spotCapacity.buildContext(input)): PendingChange[] => {
    const { request, cluster } = input;
    switch (context?.subject) {
      case 'node':
        return [{ store: cluster.nodes.name, key: context.node.name, after: afterLoss(context.change) }];
      case 'nodepool':
        return nodePoolLoss(request, context, cluster);
      case 'workload-cluster':
        return workloadClusterPending(request, cluster, context);
      default:
        return [];
    }
  },
};

/** An on-demand node's view once it stops taking pods, as the ledger of recent decisions records it. */
function afterLoss(change: NodeLossContext['change']): ExpectedView {
  if (change === 'delete') return null;
  // Relabelled as spot, it leaves the on-demand count as surely as cordoned: levee knows capacity by its labels.
  return change === 'relabel' ? { capacityType: 'spot' } : { schedulable: false };
}

/** A node that takes pods now and would not after the request, and how. */
function nodeLossChange(request: AdmissionRequest, cluster: ClusterState): { name: string; change: NodeLossContext['change']; before: NodeView } | undefined {
  if (!request.oldObject || !judgedNodeWrite(request)) return undefined;
  const classification = cluster.nodes.classification;
  const before = toNodeView(request.oldObject, classification);
  if (!before.schedulable || before.capacityType !== 'on-demand') return undefined;
  if (request.operation === 'DELETE') return { name: before.name, change: 'delete', before };
  if (request.operation !== 'UPDATE' || !request.object) return undefined;
  const after = toNodeView(request.object, classification);
  if (after.schedulable && after.capacityType === 'spot') return { name: before.name, change: 'relabel', before };
  if (after.schedulable) return undefined;
  const change = (request.object.spec as { unschedulable?: boolean } | undefined)?.unschedulable === true ? 'cordon' : 'taint';
  return { name: before.name, change, before };
}

/**
 * The main resource, and nodes/status when it changes labels: the API server keeps label
 * changes sent through nodes/status (only spec is reset there). The kubelet's ordinary status
 * updates leave labels alone and stop here, before any node view is built.
 */
function judgedNodeWrite(request: AdmissionRequest): boolean {
  if (!request.subResource) return true;
  if (request.subResource !== 'status' || request.operation !== 'UPDATE') return false;
  return !sameLabels(request.oldObject?.metadata?.labels, request.object?.metadata?.labels);
}

/** An on-demand node that takes pods now and would not after the request: deleted, cordoned, tainted, or relabelled as spot. */
function nodeLoss(request: AdmissionRequest, cluster: ClusterState): NodeLossContext | undefined {
  const loss = nodeLossChange(request, cluster);
  if (!loss) return undefined;
  const { before } = loss;
  const now = cluster.nodeOutlook(before.pool);
  const after = cluster.nodeOutlook(before.pool, { name: loss.name, after: afterLoss(loss.change) });
  return {
    subject: 'node',
    change: loss.change,
    node: { name: before.name, capacityType: before.capacityType, pool: before.pool },
    onDemand: { schedulable: now.onDemand.schedulable, after: after.onDemand.schedulable },
    spot: { schedulable: after.spot.schedulable, nodes: after.spot.nodes },
    spotNodePools: cluster.nodePools.spotCapable().map((pool) => pool.name).sort(),
    schedulableAfter: after.onDemand.schedulable + after.spot.schedulable,
    pool: { name: before.pool, onDemandAfter: after.pool.onDemandSchedulable },
  };
}

function nodePoolChange(request: AdmissionRequest, cluster: ClusterState): NodePoolContext | undefined {
  if (request.subResource) return undefined;
  const name = nodePoolName(request);
  const capacityTypes = request.operation === 'DELETE' ? [] : nodePoolCapacityTypes(request.object);
  const others = cluster.nodePools.size - (cluster.nodePools.get(name) ? 1 : 0);
  return {
    subject: 'nodepool',
    pool: { name, capacityTypes, ...(request.oldObject ? { previousCapacityTypes: nodePoolCapacityTypes(request.oldObject) } : {}) },
    others: {
      count: others,
      onDemandCapable: cluster
        .onDemandCapableNodePools()
        .map((pool) => pool.name)
        .filter((pool) => pool !== name)
        .sort(),
    },
    onDemandOutsideNodePools: cluster.nodeOutlook('').outsideNodePools.onDemandSchedulable,
  };
}

function nodePoolName(request: AdmissionRequest): string {
  return request.name || request.object?.metadata?.name || request.oldObject?.metadata?.name || '';
}

/** A NodePool that could launch on-demand capacity and would not after the request (changed to spot only, or deleted). */
function nodePoolLoss(request: AdmissionRequest, { pool }: NodePoolContext, cluster: ClusterState): PendingChange[] {
  if (!pool.previousCapacityTypes || !canGiveOnDemand(pool.previousCapacityTypes)) return [];
  if (request.operation === 'DELETE') return [{ store: cluster.nodePools.name, key: pool.name, after: null }];
  if (request.operation !== 'UPDATE' || canGiveOnDemand(pool.capacityTypes)) return [];
  return [{ store: cluster.nodePools.name, key: pool.name, after: { capacityTypes: pool.capacityTypes } }];
}

function criticalWorkload(request: AdmissionRequest, settings: Settings, cluster: ClusterState): CriticalWorkloadContext | undefined {
  if (request.subResource || (request.operation !== 'CREATE' && request.operation !== 'UPDATE')) return undefined;
  const object = request.object;
  if (!object) return undefined;
  const template = podTemplateOf(object);
  if (!template) return undefined;
  const namespace = object.metadata?.namespace ?? request.namespace ?? '';
  // Pods and ReplicaSets made by their controller were judged as that owner; a controller
  // reference counts only to an owner of the kind that makes this kind, cached with that very
  // uid (policies/controllers.ts). Deployments, StatefulSets, DaemonSets and
  // ReplicationControllers are made by no controller levee judges: whatever their
  // ownerReferences name (an operator's object, a ConfigMap), they are judged themselves.
  if (cachedController(object.kind ?? request.kind.kind, namespace, object, cluster)) return undefined;
  const now = judgeWorkload(object, template, namespace, settings);
  if (!now.critical) return undefined;
  const oldTemplate = podTemplateOf(request.oldObject);
  const before = request.oldObject && oldTemplate ? judgeWorkload(request.oldObject, oldTemplate, namespace, settings) : undefined;
  return {
    subject: 'workload',
    workload: { kind: object.kind ?? request.kind.kind, namespace, name: object.metadata?.name ?? request.name ?? '' },
    ...now,
    ...(before ? { before: { critical: before.critical, canRunOnDemand: before.canRunOnDemand } } : {}),
  };
}

interface WorkloadJudgement {
  critical: boolean;
  criticalBecause: string;
  canRunOnDemand: boolean;
  pinnedBy: string;
}

export function judgeWorkload(object: KubeObject, template: PodTemplate, namespace: string, settings: Settings): WorkloadJudgement {
  const because = criticalBecause(object, template, namespace, settings.critical);
  return { critical: because !== undefined, criticalBecause: because ?? '', ...podPlacement(template.spec, settings.capacityLabels) };
}

/** Why a workload counts as critical (label, namespace or priority class), or undefined. */
export function criticalBecause(object: KubeObject, template: PodTemplate, namespace: string, critical: Settings['critical']): string | undefined {
  for (const [key, value] of Object.entries(critical.labels)) {
    if (object.metadata?.labels?.[key] === value || template.labels[key] === value) return `label ${key}=${value}`;
  }
  if (critical.namespaces.includes(namespace)) return `namespace ${namespace}`;
  const priorityClass = template.spec.priorityClassName;
  if (priorityClass && critical.priorityClassNames.includes(priorityClass)) return `priorityClassName ${priorityClass}`;
  return undefined;
}
