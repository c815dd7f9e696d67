import { hasController } from '../kube/owners.js';
import { podTemplateOf, type PodTemplate } from '../kube/pod-template.js';
import type { AdmissionRequest, KubeObject } from '../kube/types.js';
import { podPlacement, type CapacityType } from '../cluster/capacity.js';
import {
  MACHINE_DEPLOYMENT_GROUP,
  MACHINE_DEPLOYMENT_KIND,
  machineDeploymentCapacity,
  toMachineDeploymentView,
  type MachineCapacity,
  type MachineDeploymentView,
} from '../cluster/machine-deployments.js';
import { canGiveOnDemand, NODEPOOL_GROUP, NODEPOOL_KIND, nodePoolCapacityTypes, type PoolCapacityType } from '../cluster/nodepools.js';
import { toNodeView, type NodeView } from '../cluster/nodes.js';
import type { ExpectedView, PendingChange } from '../cluster/recent-decisions.js';
import type { ClusterState } from '../cluster/state.js';
import type { LeveeConfig } from '../config.js';
import { NODES, DEPLOYMENTS, STATEFULSETS, DAEMONSETS } from './judged-kinds.js';
import type { ContextInput, PolicyDefinition } from './types.js';

type Settings = LeveeConfig['policies']['spot-capacity'];

/**
 * Counts are as they will be once the changes levee allowed moments ago land (the ledger of
 * recent decisions), so that parallel requests count each other.
 */
export interface NodeLossContext {
  subject: 'node';
  change: 'delete' | 'cordon' | 'taint';
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

/** A Cluster API MachineDeployment as one worker pool of its workload cluster. */
export interface MachineDeploymentContext {
  subject: 'machinedeployment';
  pool: {
    namespace: string;
    name: string;
    cluster: string;
    /** One entry while the MachineDeployment exists, none once deleted; `unknown` is never held against it. */
    capacityTypes: MachineCapacity[];
    previousCapacityTypes?: MachineCapacity[];
    template: string;
    spotField: string;
  };
  others: { count: number; onDemandCapable: string[] };
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

export type SpotCapacityContext = NodeLossContext | NodePoolContext | MachineDeploymentContext | CriticalWorkloadContext;

export const spotCapacity: PolicyDefinition = {
  id: 'spot-capacity',
  summary: 'a change that leaves the cluster, or a critical workload, with spot capacity only',
  kinds: [
    NODES,
    { group: NODEPOOL_GROUP, version: 'v1', kind: NODEPOOL_KIND, resource: 'nodepools', namespaced: false },
    { group: MACHINE_DEPLOYMENT_GROUP, version: 'v1beta2', kind: MACHINE_DEPLOYMENT_KIND, resource: 'machinedeployments', namespaced: true },
    DEPLOYMENTS,
    STATEFULSETS,
    DAEMONSETS,
  ],
  buildContext: ({ request, cluster, config }: ContextInput): SpotCapacityContext | undefined => {
    const settings = config.policies['spot-capacity'];
    if (request.kind.group === '' && request.kind.kind === 'Node') return nodeLoss(request, cluster);
    if (request.kind.group === NODEPOOL_GROUP && request.kind.kind === NODEPOOL_KIND) return nodePoolChange(request, cluster);
    if (request.kind.group === MACHINE_DEPLOYMENT_GROUP && request.kind.kind === MACHINE_DEPLOYMENT_KIND) return machineDeploymentChange(request, cluster);
    return criticalWorkload(request, settings);
  },
  pendingChanges: ({ request, cluster }: ContextInput): PendingChange[] => {
    if (request.kind.group === '' && request.kind.kind === 'Node') {
      const loss = nodeLossChange(request, cluster);
      return loss ? [{ store: cluster.nodes.name, key: loss.name, after: loss.after }] : [];
    }
    if (request.kind.group === NODEPOOL_GROUP && request.kind.kind === NODEPOOL_KIND) return nodePoolLoss(request, cluster);
    return [];
  },
};

/** A node that takes pods now and would not after the request, as the ledger of recent decisions records it. */
function nodeLossChange(request: AdmissionRequest, cluster: ClusterState): { name: string; change: NodeLossContext['change']; before: NodeView; after: ExpectedView } | undefined {
  if (request.subResource || !request.oldObject) return undefined;
  const classification = cluster.nodes.classification;
  const before = toNodeView(request.oldObject, classification);
  if (!before.schedulable || before.capacityType !== 'on-demand') return undefined;
  if (request.operation === 'DELETE') return { name: before.name, change: 'delete', before, after: null };
  if (request.operation !== 'UPDATE' || !request.object) return undefined;
  if (toNodeView(request.object, classification).schedulable) return undefined;
  const change = (request.object.spec as { unschedulable?: boolean } | undefined)?.unschedulable === true ? 'cordon' : 'taint';
  return { name: before.name, change, before, after: { schedulable: false } };
}

/** A node that takes pods now and would not after the request: deleted, cordoned or tainted. */
function nodeLoss(request: AdmissionRequest, cluster: ClusterState): NodeLossContext | undefined {
  const loss = nodeLossChange(request, cluster);
  if (!loss) return undefined;
  const { before } = loss;
  const now = cluster.nodeOutlook(before.pool);
  const after = cluster.nodeOutlook(before.pool, { name: loss.name, after: loss.after });
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
function nodePoolLoss(request: AdmissionRequest, cluster: ClusterState): PendingChange[] {
  if (request.subResource || !request.oldObject || !canGiveOnDemand(nodePoolCapacityTypes(request.oldObject))) return [];
  const key = nodePoolName(request);
  if (request.operation === 'DELETE') return [{ store: cluster.nodePools.name, key, after: null }];
  const capacityTypes = nodePoolCapacityTypes(request.object);
  if (request.operation !== 'UPDATE' || canGiveOnDemand(capacityTypes)) return [];
  return [{ store: cluster.nodePools.name, key, after: { capacityTypes } }];
}

function machineDeploymentChange(request: AdmissionRequest, cluster: ClusterState): MachineDeploymentContext | undefined {
  if (request.subResource) return undefined;
  const viewOf = (object: KubeObject | null | undefined): MachineDeploymentView | undefined =>
    object ? { ...toMachineDeploymentView(object), namespace: object.metadata?.namespace || request.namespace || '' } : undefined;
  const current = request.operation === 'DELETE' ? undefined : viewOf(request.object);
  const previous = viewOf(request.oldObject);
  const subject = current ?? previous;
  if (!subject) return undefined;
  const now = current && machineDeploymentCapacity(current, cluster.machineTemplates);
  const before = previous && machineDeploymentCapacity(previous, cluster.machineTemplates);
  const shown = now ?? before;
  const others = cluster.machineDeployments.ofCluster(subject.namespace, subject.cluster).filter((other) => other.name !== subject.name);
  return {
    subject: 'machinedeployment',
    pool: {
      namespace: subject.namespace,
      name: subject.name,
      cluster: subject.cluster,
      capacityTypes: now ? [now.capacity] : [],
      ...(before ? { previousCapacityTypes: [before.capacity] } : {}),
      template: shown?.template ?? '',
      spotField: shown?.spotField ?? '',
    },
    others: {
      count: others.length,
      onDemandCapable: others
        .filter((other) => machineDeploymentCapacity(other, cluster.machineTemplates).capacity !== 'spot')
        .map((other) => other.name)
        .sort(),
    },
  };
}

function criticalWorkload(request: AdmissionRequest, settings: Settings): CriticalWorkloadContext | undefined {
  if (request.subResource || (request.operation !== 'CREATE' && request.operation !== 'UPDATE')) return undefined;
  const object = request.object;
  // Pods and ReplicaSets made by a controller were judged as their owner.
  if (!object || hasController(object)) return undefined;
  const template = podTemplateOf(object);
  if (!template) return undefined;
  const namespace = object.metadata?.namespace ?? request.namespace ?? '';
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
