import { findInfrastructureKind, infrastructureKey, type InfrastructureView } from '../cluster/infrastructure-capacity.js';
import type { PendingChange } from '../cluster/recent-decisions.js';
import type { ClusterState } from '../cluster/state.js';
import { clusterKey } from '../cluster/upgrade-intents.js';
import { objectKey } from '../cluster/views.js';
import { CapacityLens, type CapacityTally, type PoolCapacity, type Replacement, type WorkloadCapacity } from '../cluster/workload-capacity.js';
import { isWorkerPoolKind, toWorkerPoolView, workerPoolKey, workerPoolScaleTarget, type WorkerPoolView } from '../cluster/worker-pools.js';
import { toClusterClassView, toClusterView, type ClusterView } from '../cluster/workload-clusters.js';
import { replicasOf } from '../kube/workload.js';
import type { AdmissionRequest, KubeObject } from '../kube/types.js';

/**
 * spot-capacity for Cluster API workload clusters: a request to a MachineDeployment or
 * MachinePool (its `scale` subresource too), to a provider object their machines are made
 * from, to a Cluster's topology or to a ClusterClass, judged by the on-demand and spot
 * replicas of every workload cluster it touches, before and after.
 */

export interface WorkloadClusterCapacity {
  namespace: string;
  name: string;
  /** Being deleted: its pools go with it, and that is never refused. */
  deleting: boolean;
  /** Not in levee's cache of Clusters (deleted already): what follows its owner may take its pools. */
  gone: boolean;
  before: CapacityTally;
  after: CapacityTally;
  /** After the request: `MachineDeployment prod-md-spot (AWSMachineTemplate/workers-spot sets spotMarketOptions): 3 replica(s)`. */
  spotPools: string[];
  /** After the request, pools levee cannot tell and counts as on-demand, with why. */
  unknownPools: string[];
}

export interface WorkloadClusterContext {
  subject: 'workload-cluster';
  /** What the request does, for messages: `scaling MachineDeployment capi/prod-md-0 from 3 to 0 replicas`. */
  change: string;
  /**
   * The request creates worker pools (a MachineDeployment, a MachinePool, a Cluster's
   * topology): refused when the cluster is left with spot replicas only, even one that was
   * all spot already. `levee audit` judges every object as created, so this is what it reports.
   */
  createsPools: boolean;
  /** Pools the request itself makes or changes whose machines levee cannot tell. */
  unknownHere: string[];
  clusters: WorkloadClusterCapacity[];
}

/** The object a request changes, as levee caches it: its store, key and views before and after. */
interface Subject {
  store: string;
  key: string;
  before: Replacement | undefined;
  after: Replacement;
  /** For a partial change (a `scale`), what the ledger records; otherwise the whole view after. */
  expected?: Record<string, unknown>;
  clusters: Array<{ namespace: string; name: string }>;
  change: string;
  pool?: WorkerPoolView;
  /** A pool, or a Cluster whose topology asks for pools. */
  createsPools: boolean;
}

export function isWorkloadClusterRequest(request: AdmissionRequest): boolean {
  const { group, kind } = request.kind;
  if (request.subResource === 'scale') return isWorkerPoolKind(request.resource.group, kindOfResource(request.resource.resource));
  if (request.subResource) return false;
  return isWorkerPoolKind(group, kind) || findInfrastructureKind(group, kind) !== undefined || (group === 'cluster.x-k8s.io' && (kind === 'Cluster' || kind === 'ClusterClass'));
}

export function workloadClusterChange(request: AdmissionRequest, state: ClusterState, onDemandKinds: readonly string[]): WorkloadClusterContext | undefined {
  const subject = subjectOf(request, state);
  if (!subject || subject.clusters.length === 0) return undefined;
  const beforeLens = new CapacityLens(state, subject.before, onDemandKinds);
  const afterLens = new CapacityLens(state, subject.after, onDemandKinds);
  const seen = new Set<string>();
  const clusters: WorkloadClusterCapacity[] = [];
  const afters: WorkloadCapacity[] = [];
  for (const { namespace, name } of subject.clusters) {
    if (!name || seen.has(clusterKey(namespace, name))) continue;
    seen.add(clusterKey(namespace, name));
    const before = beforeLens.capacityOf(namespace, name);
    const after = afterLens.capacityOf(namespace, name);
    afters.push(after);
    clusters.push({
      namespace,
      name,
      deleting: after.deleting,
      gone: after.gone,
      before: before.tally,
      after: after.tally,
      spotPools: after.pools.filter((pool) => pool.capacity === 'spot' && pool.replicas > 0).map(describePool),
      unknownPools: after.pools.filter((pool) => pool.capacity === 'unknown' && pool.replicas > 0).map(describePool),
    });
  }
  if (clusters.length === 0) return undefined;
  const own = subject.pool ? afters.flatMap((capacity) => capacity.pools).find((pool) => !pool.fromTopology && pool.kind === subject.pool!.kind && pool.name === subject.pool!.name) : undefined;
  const unknownHere = ownUnknown(request, afters, own);
  const createsPools = request.operation === 'CREATE' && subject.createsPools;
  return { subject: 'workload-cluster', change: subject.change, createsPools, unknownHere, clusters };
}

/**
 * What the request changes, for the ledger of recent decisions, when it leaves any workload
 * cluster in `context` with fewer on-demand or more spot replicas: the changed object as it
 * will be cached. Its views alone, not the capacity of every cluster again.
 */
export function workloadClusterPending(request: AdmissionRequest, state: ClusterState, context: WorkloadClusterContext): PendingChange[] {
  const worse = context.clusters.some((capacity) => capacity.after.onDemand < capacity.before.onDemand || capacity.after.spot > capacity.before.spot);
  const subject = worse ? subjectOf(request, state) : undefined;
  return subject ? [{ store: subject.store, key: subject.key, after: subject.expected ?? (subject.after.view as Record<string, unknown> | null) }] : [];
}

function ownUnknown(request: AdmissionRequest, afters: readonly WorkloadCapacity[], own: PoolCapacity | undefined): string[] {
  if (own) return own.capacity === 'unknown' && own.replicas > 0 ? [describePool(own)] : [];
  if (request.kind.kind !== 'Cluster') return [];
  // A Cluster's topology asks for its pools: those levee cannot tell are the request's own.
  return afters.flatMap((capacity) => capacity.pools.filter((pool) => pool.fromTopology && pool.capacity === 'unknown' && pool.replicas > 0)).map(describePool);
}

export function describePool(pool: PoolCapacity): string {
  const what = pool.capacity === 'spot' ? `${pool.source} sets ${pool.spotField}` : pool.unknownBecause ?? pool.source;
  const name = pool.fromTopology ? `topology ${pool.kind} ${pool.name}` : `${pool.kind} ${pool.name}`;
  return `${name} (${what}): ${pool.replicas} replica(s)`;
}

function subjectOf(request: AdmissionRequest, state: ClusterState): Subject | undefined {
  const namespace = request.namespace ?? request.object?.metadata?.namespace ?? request.oldObject?.metadata?.namespace ?? '';
  const name = request.name || request.object?.metadata?.name || request.oldObject?.metadata?.name || '';
  const withNamespace = (object: KubeObject | null | undefined): KubeObject | null =>
    object ? { ...object, metadata: { ...(object.metadata ?? {}), namespace: object.metadata?.namespace || namespace } } : null;
  const object = request.operation === 'DELETE' ? null : withNamespace(request.object);
  const oldObject = withNamespace(request.oldObject);
  const { group, kind } = request.kind;

  if (request.subResource === 'scale') return scaleSubject(request, state, namespace, name);
  if (isWorkerPoolKind(group, kind)) {
    const typed = (o: KubeObject | null): KubeObject | null => (o ? { ...o, kind } : null);
    const after = object ? toWorkerPoolView(typed(object)!, typed(oldObject)) : undefined;
    const before = oldObject ? toWorkerPoolView(typed(oldObject)!) : undefined;
    const view = after ?? before!;
    const key = workerPoolKey(view);
    return {
      store: state.workerPools.name,
      key,
      // Before a create the pool is not there, whatever the cache holds (levee audit judges what is already listed).
      before: { store: state.workerPools.name, key, view: before ?? null },
      after: { store: state.workerPools.name, key, view: after ?? null },
      clusters: [before, after].flatMap((pool) => (pool ? [{ namespace: pool.namespace, name: pool.cluster }] : [])),
      change: poolChange(request.operation, view, before, after),
      pool: view,
      createsPools: true,
    };
  }
  // Deleting a provider object never adds spot capacity: the pools made from it can no longer be told.
  if (findInfrastructureKind(group, kind) && request.operation !== 'DELETE') {
    const project = (o: KubeObject | null): InfrastructureView | undefined => (o ? state.infrastructure.project({ ...o, kind }, group)?.[1] : undefined);
    const after = project(object);
    const before = project(oldObject);
    const key = infrastructureKey(kind, namespace, name);
    const users = state.workerPools.madeFrom(kind, namespace, name).map((pool) => ({ namespace: pool.namespace, name: pool.cluster }));
    const classes = state.clusterClasses.using(kind, namespace, name);
    const builtFrom = classes.flatMap((clusterClass) => state.clusters.builtFrom(clusterClass.namespace, clusterClass.name)).map((cluster) => ({ namespace: cluster.namespace, name: cluster.name }));
    return {
      store: state.infrastructure.name,
      key,
      before: before ? { store: state.infrastructure.name, key, view: before } : undefined,
      after: { store: state.infrastructure.name, key, view: after ?? null },
      clusters: [...users, ...builtFrom],
      change: infrastructureChange(request.operation, kind, namespace, name, after),
      createsPools: false,
    };
  }
  if (kind === 'Cluster') {
    const after = object ? toClusterView(object) : undefined;
    const before = oldObject ? toClusterView(oldObject) : undefined;
    const key = objectKey(namespace, name);
    if (!after?.topology && !before?.topology) return undefined;
    return {
      store: state.clusters.name,
      key,
      before: { store: state.clusters.name, key, view: before ?? null },
      after: { store: state.clusters.name, key, view: after ?? null },
      clusters: [{ namespace, name }],
      change: `${request.operation === 'CREATE' ? 'creating' : 'changing'} the topology of Cluster ${namespace}/${name}`,
      createsPools: after?.topology !== undefined,
    };
  }
  if (kind === 'ClusterClass') {
    const after = object ? toClusterClassView(object) : undefined;
    const before = oldObject ? toClusterClassView(oldObject) : undefined;
    const key = objectKey(namespace, name);
    return {
      store: state.clusterClasses.name,
      key,
      before: before ? { store: state.clusterClasses.name, key, view: before } : undefined,
      after: { store: state.clusterClasses.name, key, view: after ?? null },
      clusters: state.clusters.builtFrom(namespace, name).map((cluster: ClusterView) => ({ namespace: cluster.namespace, name: cluster.name })),
      change: `${request.operation === 'CREATE' ? 'creating' : 'changing'} ClusterClass ${namespace}/${name}`,
      createsPools: false,
    };
  }
  return undefined;
}

/** `kubectl scale`: the Scale object carries only replicas; the pool itself comes from the cache. */
function scaleSubject(request: AdmissionRequest, state: ClusterState, namespace: string, name: string): Subject | undefined {
  const kind = kindOfResource(request.resource.resource);
  const key = workerPoolScaleTarget(request);
  if (!kind || !key || request.operation !== 'UPDATE') return undefined;
  const cached = state.recentDecisions.overlay(state.workerPools.name, key, state.workerPools.get(key));
  if (!cached) return undefined;
  const from = replicasOf(request.oldObject) ?? cached.replicas;
  const to = replicasOf(request.object) ?? cached.replicas;
  return {
    store: state.workerPools.name,
    key,
    before: { store: state.workerPools.name, key, view: { ...cached, replicas: from } },
    after: { store: state.workerPools.name, key, view: { ...cached, replicas: to } },
    expected: { replicas: to },
    clusters: [{ namespace, name: cached.cluster }],
    change: `scaling ${kind} ${namespace}/${name} from ${from} to ${to} replica(s)`,
    pool: cached,
    createsPools: false,
  };
}

function kindOfResource(resource: string): 'MachineDeployment' | 'MachinePool' | undefined {
  return resource === 'machinedeployments' ? 'MachineDeployment' : resource === 'machinepools' ? 'MachinePool' : undefined;
}

function poolChange(operation: string, view: WorkerPoolView, before: WorkerPoolView | undefined, after: WorkerPoolView | undefined): string {
  const what = `${view.kind} ${view.namespace}/${view.name}`;
  if (operation === 'DELETE') return `deleting ${what}`;
  if (operation === 'CREATE' || !before || !after) return `creating ${what}`;
  const ref = (pool: WorkerPoolView) => (pool.infrastructure ? `${pool.infrastructure.kind}/${pool.infrastructure.name}` : '');
  if (ref(before) !== ref(after)) return `pointing ${what} at ${ref(after) || 'no infrastructure'}`;
  if (before.replicas !== after.replicas) return `scaling ${what} from ${before.replicas} to ${after.replicas} replica(s)`;
  return `changing ${what}`;
}

function infrastructureChange(operation: string, kind: string, namespace: string, name: string, after: InfrastructureView | undefined): string {
  const what = `${kind} ${namespace}/${name}`;
  const spot = after?.spotField ? `, which sets ${after.spotField},` : '';
  return `${operation === 'CREATE' ? 'creating' : 'changing'} ${what}${spot}`;
}
