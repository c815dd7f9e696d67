import type { OwnerRef } from '../kube/owners.js';
import { templateHash } from '../kube/template-hash.js';
import { workloadKey, type ScalableKind, type WorkloadRef, type WorkloadView } from '../kube/workload.js';
import { ApiServerVersion } from './apiserver-version.js';
import type { CrdView } from './custom-kinds.js';
import { CacheFreshness } from './freshness.js';
import { InfrastructureStore } from './infrastructure-capacity.js';
import { ServiceStore } from './services.js';
import { canGiveOnDemand, NodePoolStore, type NodePoolView } from './nodepools.js';
import { NodeStore } from './nodes.js';
import { nodeOutlook, type NodeOutlook } from './node-outlook.js';
import { DEFAULT_CLUSTER_OPTIONS, type ClusterOptions } from './options.js';
import { RecentDecisions, type ExpectedView } from './recent-decisions.js';
import { IndexedStore, type StoreStats } from './store.js';
import { UpgradeIntentStore, type IntentView, type VersionRange } from './upgrade-intents.js';
import { WorkerPoolStore } from './worker-pools.js';
import { ClusterClassStore, ClusterStore } from './workload-clusters.js';
import { workloadClusterOf, workloadVersions } from './workload-versions.js';
import {
  objectKey,
  type EndpointSliceView,
  type PodView,
  type ReplicaSetView,
  type ServiceView,
} from './views.js';

export type PodAttribution = { kind: 'workload'; ref: WorkloadRef } | { kind: 'none' } | { kind: 'unknown' };

/** What backs a Service besides one given workload. */
export interface ServiceBacking {
  service: ServiceView;
  readyEndpoints: number;
  /** Ready endpoints whose pods belong to some other workload (or to no workload). */
  otherReadyEndpoints: number;
  otherBackends: string[];
}

/**
 * levee's view of the cluster: one indexed store per kind, and the questions policies ask,
 * each answered from indices. Filled by informers in `serve`, by manifests in `audit`.
 */
export class ClusterState {
  /** Indexed by whole selector, so finding the Services of a pod costs the same however many share a label. */
  readonly services = new ServiceStore();
  readonly endpointSlices = new IndexedStore<EndpointSliceView>('endpointslices', {
    service: (slice) => (slice.serviceName ? [objectKey(slice.namespace, slice.serviceName)] : []),
  });
  readonly pods = new IndexedStore<PodView>('pods');
  readonly replicaSets = new IndexedStore<ReplicaSetView>('replicasets', {
    // The templates a Deployment has run, for probe-gate's rollback check.
    deploymentTemplate: (rs) => (rs.owner?.kind === 'Deployment' && rs.templateHash ? [deploymentTemplateKey(rs.namespace, rs.owner.name, rs.templateHash)] : []),
  });
  readonly workloads = new IndexedStore<WorkloadView>('workloads');
  /** Nodes with live capacity and kubelet-version aggregates. */
  readonly nodes: NodeStore;
  readonly crds = new IndexedStore<CrdView>('customresourcedefinitions');
  /** Filled only while their CRDs exist (Cluster API kinds, Karpenter NodePools). */
  readonly upgradeIntents: UpgradeIntentStore;
  readonly nodePools = new NodePoolStore();
  /** Cluster API worker pools (MachineDeployments, MachinePools) and the provider objects that say whether their machines are spot. */
  readonly workerPools = new WorkerPoolStore();
  readonly infrastructure = new InfrastructureStore();
  /** Cluster API Clusters (control plane reference, topology) and ClusterClasses (worker templates). */
  readonly clusters = new ClusterStore();
  readonly clusterClasses = new ClusterClassStore();
  readonly apiServer: ApiServerVersion;
  /** How long each cache's watches have been broken; stays empty when nothing watches (tests, audit). */
  readonly freshness = new CacheFreshness();
  /** Changes levee allowed that the caches do not show yet; every store tells it what its watch brings. */
  readonly recentDecisions: RecentDecisions;

  constructor(options: ClusterOptions = DEFAULT_CLUSTER_OPTIONS) {
    this.nodes = new NodeStore(options.classification);
    this.upgradeIntents = new UpgradeIntentStore(options.upgradeIntents, options.controlPlanes);
    this.apiServer = new ApiServerVersion(options.apiServerRefreshMs);
    this.recentDecisions = new RecentDecisions(options.recentDecisions);
    for (const store of this.allStores()) store.onChange((key, view) => this.recentDecisions.observe(store.name, key, view));
  }

  allStores(): IndexedStore<unknown>[] {
    return [this.services, this.endpointSlices, this.pods, this.replicaSets, this.workloads, this.nodes, this.crds, this.upgradeIntents, this.nodePools, this.workerPools, this.infrastructure, this.clusters, this.clusterClasses] as IndexedStore<unknown>[];
  }

  stats(): StoreStats[] {
    return this.allStores().map((store) => store.stats());
  }

  get synced(): boolean {
    return this.allStores().every((store) => store.synced);
  }

  /**
   * Schedulable on-demand and spot nodes (overall, in one pool, outside Karpenter) once the
   * changes levee allowed moments ago land, and `change` with them (the one being judged).
   */
  nodeOutlook(pool: string, change?: { name: string; after: ExpectedView }): NodeOutlook {
    return nodeOutlook(this.nodes, this.recentDecisions, pool, change);
  }

  /** The NodePools that can launch on-demand capacity, as they will be once the changes levee allowed land. */
  onDemandCapableNodePools(): NodePoolView[] {
    return this.nodePools.onDemandCapable().flatMap((pool) => {
      const expected = this.recentDecisions.overlay(this.nodePools.name, pool.name, pool);
      return expected && canGiveOnDemand(expected.capacityTypes) ? [expected] : [];
    });
  }

  workload(ref: WorkloadRef): WorkloadView | undefined {
    return this.workloads.get(workloadKey(ref));
  }

  /** The controller of a cached ReplicaSet (a Deployment, usually), or undefined when it has none or is not cached. */
  replicaSetOwner(namespace: string, name: string): OwnerRef | undefined {
    return this.replicaSets.get(objectKey(namespace, name))?.owner;
  }

  /** Whether a Deployment has run this pod template before: one of its ReplicaSets has it (an index lookup, never a scan). */
  ranTemplate(namespace: string, deployment: string, template: unknown): boolean {
    return this.replicaSets.byIndex('deploymentTemplate', deploymentTemplateKey(namespace, deployment, templateHash(template))).length > 0;
  }

  /**
   * The workload cluster an upgrade intent belongs to: by its own label, field or owner, or, for
   * a control plane that has none of them (upstream templates), the Cluster whose
   * `spec.controlPlaneRef` names it.
   */
  workloadClusterOf(intent: IntentView): string | undefined {
    return workloadClusterOf(this, intent);
  }

  /**
   * The control plane's and the workers' version ranges of an upgrade intent's workload
   * cluster (`workloadCluster`, found as workloadClusterOf does when not given), without the
   * intent itself as the cache holds it (the request replaces it), and with the version
   * changes levee allowed moments ago in place.
   */
  workloadClusterVersions(intent: IntentView, workloadCluster = this.workloadClusterOf(intent)): { controlPlane?: VersionRange; workers?: VersionRange } {
    return workloadCluster ? workloadVersions(this, intent, workloadCluster) : {};
  }

  /** Oldest and newest kubelet among the nodes, without the named node's as the cache holds it. */
  kubeletsBesides(node: string): VersionRange | undefined {
    return this.nodes.kubeletRange(this.nodes.get(node)?.kubelet);
  }

  /** Services in the workload's namespace whose selector matches its pod template labels. */
  servicesSelecting(namespace: string, podLabels: Readonly<Record<string, string>>): ServiceView[] {
    return this.services
      .selecting(namespace, podLabels)
      .filter((service) => selectorMatches(service.selector, podLabels))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  /**
   * The workload that ultimately owns a pod, following controller ownerReferences
   * (Pod -> ReplicaSet -> Deployment), never by matching selectors.
   */
  topOwnerOfPod(namespace: string, podName: string): WorkloadRef | undefined {
    const attribution = this.attributePod(namespace, podName);
    return attribution.kind === 'workload' ? attribution.ref : undefined;
  }

  /**
   * Who a pod belongs to: a workload, nobody (a bare pod, or one owned by a kind levee does
   * not scale), or `unknown` while the pod or its ReplicaSet is not in the cache yet. An
   * unknown pod must never count as another backend: a lagging cache would then let a
   * scale to zero through.
   */
  attributePod(namespace: string, podName: string): PodAttribution {
    const pod = this.pods.get(objectKey(namespace, podName));
    if (!pod) return { kind: 'unknown' };
    const owner = pod.owner;
    if (!owner) return { kind: 'none' };
    if (owner.kind === 'ReplicaSet') {
      const replicaSet = this.replicaSets.get(objectKey(namespace, owner.name));
      if (!replicaSet) return { kind: 'unknown' };
      if (replicaSet.owner?.kind === 'Deployment') return { kind: 'workload', ref: { kind: 'Deployment', namespace, name: replicaSet.owner.name } };
      return { kind: 'workload', ref: { kind: 'ReplicaSet', namespace, name: owner.name } };
    }
    if (owner.kind === 'StatefulSet' || owner.kind === 'Deployment') {
      return { kind: 'workload', ref: { kind: owner.kind as ScalableKind, namespace, name: owner.name } };
    }
    return { kind: 'none' };
  }

  /** For a Service, how many ready endpoints it has and how many belong to something other than `workload`. */
  backingOf(service: ServiceView, workload: WorkloadRef): ServiceBacking {
    let readyEndpoints = 0;
    let otherReadyEndpoints = 0;
    const others = new Set<string>();
    const self = workloadKey(workload);
    for (const slice of this.endpointSlices.byIndex('service', objectKey(service.namespace, service.name))) {
      for (const endpoint of slice.endpoints) {
        if (!endpoint.ready) continue;
        readyEndpoints++;
        if (!endpoint.podName) {
          otherReadyEndpoints++;
          others.add('an endpoint without a pod');
          continue;
        }
        const attribution = this.attributePod(service.namespace, endpoint.podName);
        if (attribution.kind === 'unknown') continue;
        if (attribution.kind === 'workload' && workloadKey(attribution.ref) === self) continue;
        otherReadyEndpoints++;
        others.add(attribution.kind === 'workload' ? `${attribution.ref.kind}/${attribution.ref.name}` : `Pod/${endpoint.podName}`);
      }
    }
    return { service, readyEndpoints, otherReadyEndpoints, otherBackends: [...others].sort().slice(0, 5) };
  }
}

function deploymentTemplateKey(namespace: string, deployment: string, hash: string): string {
  return `${namespace}/${deployment}#${hash}`;
}

export function selectorMatches(selector: Readonly<Record<string, string>>, labels: Readonly<Record<string, string>>): boolean {
  const entries = Object.entries(selector);
  return entries.length > 0 && entries.every(([key, value]) => labels[key] === value);
}
