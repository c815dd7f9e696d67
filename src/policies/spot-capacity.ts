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
import { NODEPOOL_GROUP, NODEPOOL_KIND, nodePoolCapacityTypes, type PoolCapacityType } from '../cluster/nodepools.js';
import { toNodeView } from '../cluster/nodes.js';
import type { ClusterState } from '../cluster/state.js';
import type { LeveeConfig } from '../config.js';
import { NODES, DEPLOYMENTS, STATEFULSETS, DAEMONSETS } from './judged-kinds.js';
import type { ContextInput, PolicyDefinition } from './types.js';

type Settings = LeveeConfig['policies']['spot-capacity'];

export interface NodeLossContext {
  subject: 'node';
  change: 'delete' | 'cordon' | 'taint';
  node: { name: string; capacityType: CapacityType; pool: string };
  onDemand: { schedulable: number; after: number };
  spot: { schedulable: number };
  schedulableAfter: number;
  pool: { name: string; onDemandAfter: number };
}

export interface NodePoolContext {
  subject: 'nodepool';
  pool: { name: string; capacityTypes: PoolCapacityType[]; previousCapacityTypes?: PoolCapacityType[] };
  others: { count: number; onDemandCapable: string[] };
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
};

/** A node that takes pods now and would not after the request: deleted, cordoned or tainted. */
function nodeLoss(request: AdmissionRequest, cluster: ClusterState): NodeLossContext | undefined {
  if (request.subResource || !request.oldObject) return undefined;
  const classification = cluster.nodes.classification;
  const before = toNodeView(request.oldObject, classification);
  if (!before.schedulable || before.capacityType !== 'on-demand') return undefined;
  let change: NodeLossContext['change'];
  if (request.operation === 'DELETE') change = 'delete';
  else if (request.operation === 'UPDATE' && request.object) {
    const after = toNodeView(request.object, classification);
    if (after.schedulable) return undefined;
    change = (request.object.spec as { unschedulable?: boolean } | undefined)?.unschedulable === true ? 'cordon' : 'taint';
  } else return undefined;

  // The aggregates count the node as the cache last saw it; it leaves the count only if counted.
  const cached = cluster.nodes.get(before.name);
  const counted = cached?.schedulable === true && cached.capacityType === 'on-demand' ? 1 : 0;
  const capacity = cluster.nodes.capacity();
  const pool = cluster.nodes.poolCapacity(before.pool);
  const onDemandAfter = capacity['on-demand'].schedulable - counted;
  return {
    subject: 'node',
    change,
    node: { name: before.name, capacityType: before.capacityType, pool: before.pool },
    onDemand: { schedulable: capacity['on-demand'].schedulable, after: onDemandAfter },
    spot: { schedulable: capacity.spot.schedulable },
    schedulableAfter: onDemandAfter + capacity.spot.schedulable,
    pool: { name: before.pool, onDemandAfter: pool['on-demand'].schedulable - (cached?.pool === before.pool ? counted : 0) },
  };
}

function nodePoolChange(request: AdmissionRequest, cluster: ClusterState): NodePoolContext | undefined {
  if (request.subResource) return undefined;
  const name = request.name || request.object?.metadata?.name || request.oldObject?.metadata?.name || '';
  const capacityTypes = request.operation === 'DELETE' ? [] : nodePoolCapacityTypes(request.object);
  const others = cluster.nodePools.size - (cluster.nodePools.get(name) ? 1 : 0);
  return {
    subject: 'nodepool',
    pool: { name, capacityTypes, ...(request.oldObject ? { previousCapacityTypes: nodePoolCapacityTypes(request.oldObject) } : {}) },
    others: {
      count: others,
      onDemandCapable: cluster.nodePools
        .onDemandCapable()
        .map((pool) => pool.name)
        .filter((pool) => pool !== name)
        .sort(),
    },
  };
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
