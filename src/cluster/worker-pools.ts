import { CLUSTER_NAME_LABEL } from '../kube/cluster-api.js';
import { fieldAt, groupOf } from '../kube/fields.js';
import type { AdmissionRequest, KubeObject } from '../kube/types.js';
import { leveeAnnotations } from '../kube/workload.js';
import { infrastructureKey, type InfrastructureRef } from './infrastructure-capacity.js';
import { IndexedStore } from './store.js';
import { clusterKey } from './upgrade-intents.js';
import { objectKey } from './views.js';

/**
 * Cluster API worker pools: MachineDeployments and MachinePools, each the workers of the
 * workload cluster it names, with how many machines it asks for and the provider object its
 * machines are made from (a machine template, or an infrastructure machine pool).
 */

export const CLUSTER_API_GROUP = 'cluster.x-k8s.io';
export const CLUSTER_API_VERSIONS = ['v1beta2', 'v1beta1'] as const;
export const WORKER_POOL_KINDS = ['MachineDeployment', 'MachinePool'] as const;
export type WorkerPoolKind = (typeof WORKER_POOL_KINDS)[number];

/** Set by the topology controller on the MachineDeployments and MachinePools it makes from a Cluster's topology. */
export const TOPOLOGY_POOL_LABELS: Readonly<Record<WorkerPoolKind, string>> = {
  MachineDeployment: 'topology.cluster.x-k8s.io/deployment-name',
  MachinePool: 'topology.cluster.x-k8s.io/pool-name',
};
const AUTOSCALER_MIN = 'cluster.x-k8s.io/cluster-api-autoscaler-node-group-min-size';
const AUTOSCALER_MAX = 'cluster.x-k8s.io/cluster-api-autoscaler-node-group-max-size';

export function isWorkerPoolKind(group: string, kind: string | undefined): kind is WorkerPoolKind {
  return group === CLUSTER_API_GROUP && (WORKER_POOL_KINDS as readonly string[]).includes(kind ?? '');
}

export interface WorkerPoolView {
  kind: WorkerPoolKind;
  namespace: string;
  name: string;
  cluster: string;
  replicas: number;
  infrastructure?: InfrastructureRef;
  /** The topology entry (`spec.topology.workers...[].name`) this pool was made from, when the topology controller made it. */
  topologyName?: string;
  /** Its `levee.dev/` annotations, when it has any: an override for `kubectl scale`, whose Scale object carries none. */
  annotations?: Readonly<Record<string, string>>;
  /** Being deleted (a deletionTimestamp): its Machines are on their way out. */
  deleting?: true;
}

/** v1beta2 names the provider object by `apiGroup`; v1beta1 by `apiVersion` (and may name a namespace). */
export function referenceOf(raw: unknown): InfrastructureRef | undefined {
  const ref = raw as { apiGroup?: unknown; apiVersion?: unknown; kind?: unknown; name?: unknown; namespace?: unknown } | undefined;
  if (!ref || typeof ref.kind !== 'string' || !ref.kind || typeof ref.name !== 'string' || !ref.name) return undefined;
  const group = typeof ref.apiGroup === 'string' ? ref.apiGroup : groupOf(typeof ref.apiVersion === 'string' ? ref.apiVersion : undefined);
  return { group, kind: ref.kind, namespace: typeof ref.namespace === 'string' ? ref.namespace : '', name: ref.name };
}

function whole(value: unknown): number | undefined {
  const number = typeof value === 'string' && /^\s*-?\d+\s*$/.test(value) ? Number(value) : value;
  return typeof number === 'number' && Number.isFinite(number) ? Math.max(0, Math.trunc(number)) : undefined;
}

/**
 * The replicas a pool asks for, as Cluster API's defaulting webhook fills them in when
 * `spec.replicas` is absent or null: the autoscaler's minimum for a new pool with both
 * autoscaler annotations, the previous count kept within them for an existing one, else 1.
 */
export function poolReplicas(object: KubeObject, previous?: KubeObject | null): number {
  const set = whole(fieldAt(object, 'spec.replicas'));
  if (set !== undefined) return set;
  const annotations = object.metadata?.annotations ?? {};
  const min = whole(annotations[AUTOSCALER_MIN]);
  const max = whole(annotations[AUTOSCALER_MAX]);
  if (min === undefined || max === undefined) return 1;
  const before = previous ? whole(fieldAt(previous, 'spec.replicas')) : undefined;
  if (before === undefined) return min;
  return Math.min(Math.max(before, min), max);
}

export function toWorkerPoolView(object: KubeObject, previous?: KubeObject | null): WorkerPoolView {
  const kind = (object.kind === 'MachinePool' ? 'MachinePool' : 'MachineDeployment') as WorkerPoolKind;
  const namespace = object.metadata?.namespace ?? '';
  const labels = object.metadata?.labels ?? {};
  const clusterName = fieldAt(object, 'spec.clusterName');
  const cluster = labels[CLUSTER_NAME_LABEL] || (typeof clusterName === 'string' ? clusterName : '');
  const infrastructure = referenceOf(fieldAt(object, 'spec.template.spec.infrastructureRef'));
  const topologyName = labels[TOPOLOGY_POOL_LABELS[kind]];
  const annotations = leveeAnnotations(object.metadata?.annotations);
  return {
    kind,
    namespace,
    name: object.metadata?.name ?? '',
    cluster,
    replicas: poolReplicas(object, previous),
    ...(infrastructure ? { infrastructure: { ...infrastructure, namespace: infrastructure.namespace || namespace } } : {}),
    ...(topologyName ? { topologyName } : {}),
    ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
    ...(object.metadata?.deletionTimestamp ? { deleting: true as const } : {}),
  };
}

/** The MachineDeployment or MachinePool a `scale` request targets, as keyed in the store; undefined for other requests. */
export function workerPoolScaleTarget(request: AdmissionRequest): string | undefined {
  if (request.subResource !== 'scale' || request.resource.group !== CLUSTER_API_GROUP || !request.name || !request.namespace) return undefined;
  const kind = request.resource.resource === 'machinedeployments' ? 'MachineDeployment' : request.resource.resource === 'machinepools' ? 'MachinePool' : undefined;
  return kind ? workerPoolKey({ kind, namespace: request.namespace, name: request.name }) : undefined;
}

export function workerPoolKey(view: Pick<WorkerPoolView, 'kind' | 'namespace' | 'name'>): string {
  return `${view.kind}/${objectKey(view.namespace, view.name)}`;
}

export class WorkerPoolStore extends IndexedStore<WorkerPoolView> {
  constructor() {
    super('workerpools', {
      cluster: (view) => [clusterKey(view.namespace, view.cluster)],
      infrastructure: (view) => (view.infrastructure ? [infrastructureKey(view.infrastructure.kind, view.infrastructure.namespace, view.infrastructure.name)] : []),
      kind: (view) => [view.kind],
    });
  }

  project(object: KubeObject): [string, WorkerPoolView] {
    const view = toWorkerPoolView(object);
    return [workerPoolKey(view), view];
  }

  /** The MachineDeployments and MachinePools of one workload cluster. */
  ofCluster(namespace: string, cluster: string): WorkerPoolView[] {
    return this.byIndex('cluster', clusterKey(namespace, cluster));
  }

  /** The pools whose machines are made from one provider object. */
  madeFrom(kind: string, namespace: string, name: string): WorkerPoolView[] {
    return this.byIndex('infrastructure', infrastructureKey(kind, namespace, name));
  }

  /** Forgets every pool of one kind, as when its CRD is deleted. */
  removeKind(kind: WorkerPoolKind): void {
    this.removeByIndex('kind', kind);
  }
}
