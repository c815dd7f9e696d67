import { infrastructureKey, findInfrastructureKind, INFRASTRUCTURE_GROUP, type InfrastructureRef } from './infrastructure-capacity.js';
import type { ClusterState } from './state.js';
import type { IndexedStore } from './store.js';
import { objectKey } from './views.js';
import { workerPoolKey, type WorkerPoolKind, type WorkerPoolView } from './worker-pools.js';
import type { ClusterClassView, TopologyPool } from './workload-clusters.js';

/**
 * How much on-demand and spot capacity a Cluster API workload cluster asks for: replicas times
 * capacity type, over its MachineDeployments and MachinePools, and over the pools its topology
 * asks for that the topology controller has not made yet. Read through the ledger of recent
 * decisions, with one object replaced by what a request makes of it.
 */

export type MachineCapacity = 'spot' | 'on-demand' | 'unknown';

export interface PoolCapacity {
  kind: WorkerPoolKind;
  name: string;
  /** From the Cluster's topology (the pool the topology controller makes, or will make, from it). */
  fromTopology: boolean;
  replicas: number;
  capacity: MachineCapacity;
  /** `AWSMachineTemplate/workers-spot`; '' when the pool names none. */
  source: string;
  /** The field that asks for spot, e.g. `spotMarketOptions`. */
  spotField?: string;
  /** Why levee cannot tell: the provider object is not cached (yet), or of a kind it does not read. */
  unknownBecause?: string;
}

/** Replicas by capacity type; `onDemand` includes `unknown`, which is never held against a cluster. */
export interface CapacityTally {
  onDemand: number;
  spot: number;
  unknown: number;
}

export interface WorkloadCapacity {
  namespace: string;
  cluster: string;
  deleting: boolean;
  /** Not in levee's cache of Clusters: no owner its pools could still belong to. */
  gone: boolean;
  pools: PoolCapacity[];
  tally: CapacityTally;
}

/** One cached object as a request would leave it: its new view, or null when the request deletes it. */
export interface Replacement {
  store: string;
  key: string;
  view: unknown;
}

export class CapacityLens {
  private readonly state: ClusterState;
  private readonly replacement: Replacement | undefined;
  private readonly onDemandKinds: ReadonlySet<string>;

  /** `onDemandKinds`: provider kinds whose machines are never spot, so levee need not read them. */
  constructor(state: ClusterState, replacement?: Replacement, onDemandKinds: readonly string[] = []) {
    this.state = state;
    this.replacement = replacement;
    this.onDemandKinds = new Set(onDemandKinds);
  }

  capacityOf(namespace: string, cluster: string): WorkloadCapacity {
    const clusterView = this.view(this.state.clusters, objectKey(namespace, cluster));
    const { pools, going } = this.poolsOf(namespace, cluster);
    const capacities: PoolCapacity[] = [];
    const topology = clusterView?.topology;
    if (topology) {
      const clusterClass = this.view(this.state.clusterClasses, objectKey(topology.class.namespace, topology.class.name));
      for (const entry of topology.pools) {
        const ofEntry = (pool: WorkerPoolView): boolean => pool.kind === entry.kind && pool.topologyName === entry.name;
        const made = pools.find(ofEntry);
        const capacity = this.topologyPool(entry, topology.class.name, clusterClass, made);
        // The topology controller makes a deleted pool again only once it and its Machines are
        // gone: until then the entry's machines are the ones going away, not capacity.
        const removed = made ? made.deleting === true : going.some(ofEntry);
        capacities.push(removed ? { ...capacity, replicas: 0 } : capacity);
      }
    }
    for (const pool of pools) {
      // A pool the topology controller made belongs to its topology entry; one whose entry is gone is being removed.
      if (topology && pool.topologyName) continue;
      capacities.push({ kind: pool.kind, name: pool.name, fromTopology: false, replicas: pool.replicas, ...this.machinesOf(pool.infrastructure) });
    }
    capacities.sort((a, b) => a.kind.localeCompare(b.kind) || a.name.localeCompare(b.name));
    return { namespace, cluster, deleting: clusterView?.deleting === true, gone: clusterView === undefined, pools: capacities, tally: tally(capacities) };
  }

  private topologyPool(entry: TopologyPool, className: string, clusterClass: ClusterClassView | undefined, made: WorkerPoolView | undefined): PoolCapacity {
    const replicas = entry.replicas ?? made?.replicas ?? 1;
    const base = { kind: entry.kind, name: entry.name, fromTopology: true, replicas };
    const template = clusterClass?.workers[entry.kind][entry.class];
    if (template) return { ...base, ...this.machinesOf(template) };
    // The class (or its worker class) is not known: the pool already made says what its machines are.
    if (made) return { ...base, ...this.machinesOf(made.infrastructure) };
    const because = clusterClass ? `ClusterClass ${className} has no ${entry.kind} class ${entry.class}` : `ClusterClass ${className} is not known to levee (yet)`;
    return { ...base, capacity: 'unknown', source: `ClusterClass/${className}`, unknownBecause: because };
  }

  private machinesOf(ref: InfrastructureRef | undefined): Pick<PoolCapacity, 'capacity' | 'source' | 'spotField' | 'unknownBecause'> {
    if (!ref) return { capacity: 'unknown', source: '', unknownBecause: 'it names no infrastructure' };
    const source = `${ref.kind}/${ref.name}`;
    if (ref.group === INFRASTRUCTURE_GROUP && this.onDemandKinds.has(ref.kind)) return { capacity: 'on-demand', source };
    if (!findInfrastructureKind(ref.group, ref.kind)) {
      return { capacity: 'unknown', source, unknownBecause: `levee does not read ${ref.kind}${ref.group ? `.${ref.group}` : ''}` };
    }
    const view = this.view(this.state.infrastructure, infrastructureKey(ref.kind, ref.namespace, ref.name));
    if (!view) return { capacity: 'unknown', source, unknownBecause: `${source} is not known to levee (yet)` };
    return view.spotField ? { capacity: 'spot', source, spotField: view.spotField } : { capacity: 'on-demand', source };
  }

  /**
   * The pools of one workload cluster: cached, expected by the ledger, and the request's own;
   * `going`: cached ones that the request or the ledger deletes.
   */
  private poolsOf(namespace: string, cluster: string): { pools: WorkerPoolView[]; going: WorkerPoolView[] } {
    const store = this.state.workerPools;
    const cached = new Map(store.ofCluster(namespace, cluster).map((pool) => [workerPoolKey(pool), pool]));
    const keys = new Set(cached.keys());
    for (const key of this.state.recentDecisions.pending(store.name).keys()) keys.add(key);
    if (this.replacement?.store === store.name) keys.add(this.replacement.key);
    const pools: WorkerPoolView[] = [];
    const going: WorkerPoolView[] = [];
    for (const key of keys) {
      const pool = this.view(store, key);
      const was = cached.get(key);
      if (pool && pool.namespace === namespace && pool.cluster === cluster) pools.push(pool);
      else if (!pool && was) going.push(was);
    }
    return { pools, going };
  }

  private view<V extends object>(store: IndexedStore<V>, key: string): V | undefined {
    if (this.replacement?.store === store.name && this.replacement.key === key) return (this.replacement.view ?? undefined) as V | undefined;
    return this.state.recentDecisions.overlay(store.name, key, store.get(key));
  }
}

function tally(pools: readonly PoolCapacity[]): CapacityTally {
  const out: CapacityTally = { onDemand: 0, spot: 0, unknown: 0 };
  for (const pool of pools) {
    if (pool.capacity === 'spot') out.spot += pool.replicas;
    else out.onDemand += pool.replicas;
    if (pool.capacity === 'unknown') out.unknown += pool.replicas;
  }
  return out;
}
