import { makes } from '../kube/owners.js';
import { templateHash } from '../kube/template-hash.js';
import { isScalableKind, workloadKey, type BackendRef, type WorkloadRef, type WorkloadView } from '../kube/workload.js';
import { ApiServerVersion } from './apiserver-version.js';
import { AutoscalerStore, type AutoscalerView } from './autoscalers.js';
import { ownerTemplateKey, type ControllerRevisionView } from './controller-revisions.js';
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
  type OwnerWithUid,
  type PodView,
  type ReplicaSetView,
  type ServiceView,
} from './views.js';

/**
 * Who a pod's endpoint belongs to: a workload levee scales, something else (`DaemonSet/x`, a
 * bare `Pod/x`, an operator's object), or `unknown` while the pod or its ReplicaSet is not cached.
 */
export type PodAttribution = { kind: 'workload'; ref: WorkloadRef } | { kind: 'other'; label: string } | { kind: 'unknown' };

/**
 * What levee makes of the controller a cached pod names:
 * - `none`: it names none, or an owner whose kind makes no pods levee knows of (a ConfigMap, an
 *   operator's object): the pod backs its Services as itself, `Pod/<name>`;
 * - `confirmed`: a ReplicaSet, StatefulSet, DaemonSet, Job or ReplicationController levee caches
 *   with the very uid the reference names;
 * - `unconfirmed`: such a kind, but levee holds no object of it with that uid. Either the owner has
 *   not reached the cache yet (a pod's watch event can come before its ReplicaSet's) or the
 *   reference is stale or forged; which one, levee cannot tell, so the pod is never credited to
 *   the owner it names, nor counted as another backend that keeps a Service up.
 */
export type PodController = { kind: 'none' } | { kind: 'confirmed'; owner: OwnerWithUid } | { kind: 'unconfirmed' };

const NO_CONTROLLER: PodController = { kind: 'none' };
const UNCONFIRMED: PodController = { kind: 'unconfirmed' };

/** What backs a Service besides one given workload. */
export interface ServiceBacking {
  service: ServiceView;
  readyEndpoints: number;
  /** Ready endpoints that are the workload's own, or whose pod is not cached yet (they may be). */
  ownReadyEndpoints: number;
  /** Ready endpoints whose pods belong to something else that keeps running. */
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
    // The templates a Deployment has run (by its uid), for probe-gate's rollback check.
    ownerTemplate: (rs) => (rs.owner?.uid && rs.templateHash ? [ownerTemplateKey(rs.owner.uid, rs.templateHash)] : []),
  });
  /** The templates DaemonSets and StatefulSets have run, for the same check. */
  readonly controllerRevisions = new IndexedStore<ControllerRevisionView>('controllerrevisions', {
    ownerTemplate: (revision) => (revision.ownerUid && revision.templateHash ? [ownerTemplateKey(revision.ownerUid, revision.templateHash)] : []),
  });
  /** Deployments, StatefulSets, ReplicaSets and ReplicationControllers. */
  readonly workloads = new IndexedStore<WorkloadView>('workloads');
  /** The uid of each DaemonSet, Job and CronJob, by `kind/namespace/name`: owners of pods and Jobs that levee does not scale. */
  readonly owners = new IndexedStore<string>('owners');
  /** HorizontalPodAutoscalers, by the workload they scale. */
  readonly hpas = new AutoscalerStore('horizontalpodautoscalers');
  /** KEDA ScaledObjects and HTTPScaledObjects, while their CRDs exist. */
  readonly kedaScalers = new AutoscalerStore('kedascalers');
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
    return [
      this.services, this.endpointSlices, this.pods, this.replicaSets, this.controllerRevisions, this.workloads, this.owners, this.hpas, this.kedaScalers,
      this.nodes, this.crds, this.upgradeIntents, this.nodePools, this.workerPools, this.infrastructure, this.clusters, this.clusterClasses,
    ] as IndexedStore<unknown>[];
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

  /**
   * The Deployment that controls a cached ReplicaSet, when that Deployment is cached with the
   * uid the ReplicaSet names: its rollout steps are judged at the Deployment. Undefined for a
   * ReplicaSet without a controller, with a controller of another kind, or one that names a
   * uid levee does not hold (a forged or stale reference).
   */
  deploymentOf(namespace: string, replicaSet: string): OwnerWithUid | undefined {
    return this.deploymentOwning(namespace, this.replicaSets.get(objectKey(namespace, replicaSet)));
  }

  private deploymentOwning(namespace: string, replicaSet: ReplicaSetView | undefined): OwnerWithUid | undefined {
    const owner = replicaSet?.owner;
    return owner?.kind === 'Deployment' && this.holds(namespace, owner) ? owner : undefined;
  }

  /** Whether levee caches the owner a reference names, of that kind, with that very uid. */
  holds(namespace: string, owner: OwnerWithUid): boolean {
    return owner.uid !== '' && this.ownerUid(owner.kind, namespace, owner.name) === owner.uid;
  }

  /** The uid of a cached object that can own pods, ReplicaSets or Jobs; undefined when levee does not hold it. */
  ownerUid(kind: string, namespace: string, name: string): string | undefined {
    if (isScalableKind(kind)) return this.workloads.get(workloadKey({ kind, namespace, name }))?.uid;
    return this.owners.get(ownerKey(kind, namespace, name));
  }

  /**
   * Whether the owner with this uid has run this pod template before: one of a Deployment's
   * ReplicaSets, or one of a DaemonSet's or StatefulSet's ControllerRevisions, has it (an
   * index lookup, never a scan).
   */
  ranTemplate(ownerUid: string, template: unknown): boolean {
    const key = ownerTemplateKey(ownerUid, templateHash(template));
    return this.replicaSets.byIndex('ownerTemplate', key).length > 0 || this.controllerRevisions.byIndex('ownerTemplate', key).length > 0;
  }

  /** The autoscalers levee caches that let this workload reach zero replicas. */
  autoscalersAllowingZero(ref: WorkloadRef): AutoscalerView[] {
    return [...this.hpas.allowingZero(ref.namespace, ref.kind, ref.name), ...this.kedaScalers.allowingZero(ref.namespace, ref.kind, ref.name)];
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
   * Services in `namespace` that `podName` is an endpoint of, read from the EndpointSlices. A
   * walk over every slice: asked only for the rare request that names a pod and carries none of
   * its labels (an eviction of a pod no controller owns).
   */
  servicesWithEndpointsOf(namespace: string, podName: string): ServiceView[] {
    const names = new Set<string>();
    for (const slice of this.endpointSlices.values()) {
      if (slice.namespace === namespace && slice.serviceName && slice.endpoints.some((endpoint) => endpoint.podName === podName)) names.add(slice.serviceName);
    }
    return [...names]
      .sort()
      .map((name) => this.services.get(objectKey(namespace, name)))
      .filter((service): service is ServiceView => service !== undefined);
  }

  /**
   * The workload that ultimately owns a pod, following controller ownerReferences
   * (Pod -> ReplicaSet -> Deployment) to owners cached with the uids they name, never by
   * matching selectors.
   */
  topOwnerOfPod(namespace: string, podName: string): WorkloadRef | undefined {
    const attribution = this.attributePod(namespace, podName);
    return attribution.kind === 'workload' ? attribution.ref : undefined;
  }

  /**
   * Who a pod belongs to. An unknown pod must never count as another backend: a lagging
   * cache would then let a scale to zero through.
   */
  attributePod(namespace: string, podName: string): PodAttribution {
    return this.attributeCachedPod(namespace, podName, this.pods.get(objectKey(namespace, podName)));
  }

  /** attributePod for a pod already read from the cache (one lookup per endpoint in backingOf). */
  private attributeCachedPod(namespace: string, podName: string, pod: PodView | undefined, controller = pod && this.podController(pod)): PodAttribution {
    if (!pod || !controller) return { kind: 'unknown' };
    if (controller.kind === 'none') return { kind: 'other', label: `Pod/${podName}` };
    // Its owner may be on its way into the cache: counted as whoever is judged, never as another backend.
    if (controller.kind === 'unconfirmed') return { kind: 'unknown' };
    const owner = controller.owner;
    if (owner.kind === 'ReplicaSet') {
      // Its pods are the Deployment's only when that Deployment is cached with the uid the
      // ReplicaSet names: a stale or invented reference must not make them another backend.
      const deployment = this.deploymentOwning(namespace, this.replicaSets.get(objectKey(namespace, owner.name)));
      if (deployment) return { kind: 'workload', ref: { kind: 'Deployment', namespace, name: deployment.name } };
      return { kind: 'workload', ref: { kind: 'ReplicaSet', namespace, name: owner.name } };
    }
    if (isScalableKind(owner.kind)) return { kind: 'workload', ref: { kind: owner.kind, namespace, name: owner.name } };
    return { kind: 'other', label: `${owner.kind}/${owner.name}` };
  }

  /**
   * Whether the controller a cached pod names is one levee holds with that uid (see
   * PodController). The same test policies/controllers.ts applies to a pod in a request.
   */
  podController(pod: PodView): PodController {
    const owner = pod.owner;
    if (!owner || !makes(owner.kind, 'Pod')) return NO_CONTROLLER;
    return this.holds(pod.namespace, owner) ? { kind: 'confirmed', owner } : UNCONFIRMED;
  }

  /**
   * Whether a workload will run no pods: its replicas are 0, so its pods are on their way out
   * even while their endpoints still read ready (a StatefulSet removes them one by one). Read
   * through the changes levee allowed moments ago: a backend scaled to zero or deleted in
   * parallel no longer backs anything, though the watch does not show it yet.
   */
  private goingToZero(ref: BackendRef): boolean {
    // A bare pod is cached as a pod, and only its deletion (or eviction) takes it to zero.
    const [store, key] = ref.kind === 'Pod' ? [this.pods, objectKey(ref.namespace, ref.name)] : [this.workloads, workloadKey(ref)];
    const cached: PodView | WorkloadView | undefined = store.get(key);
    const expected = this.recentDecisions.overlay(store.name, key, cached);
    // Undefined while cached: levee allowed its deletion.
    if (expected === undefined) return cached !== undefined;
    return 'replicas' in expected && expected.replicas === 0;
  }

  /**
   * For a Service, how many ready endpoints it has, how many may be `workload`'s own, and how
   * many belong to something else that keeps running (a workload on its way to zero does not).
   */
  backingOf(service: ServiceView, backend: BackendRef): ServiceBacking {
    let readyEndpoints = 0;
    let ownReadyEndpoints = 0;
    let otherReadyEndpoints = 0;
    const others = new Set<string>();
    const self = workloadKey(backend);
    for (const slice of this.endpointSlices.byIndex('service', objectKey(service.namespace, service.name))) {
      for (const endpoint of slice.endpoints) {
        if (!endpoint.ready) continue;
        readyEndpoints++;
        if (!endpoint.podName) {
          otherReadyEndpoints++;
          others.add('an endpoint without a pod');
          continue;
        }
        const pod = this.pods.get(objectKey(service.namespace, endpoint.podName));
        const controller = pod && this.podController(pod);
        const attribution = this.attributeCachedPod(service.namespace, endpoint.podName, pod, controller);
        // A pod backs the Service through its own controller (a ReplicaSet, a DaemonSet; a bare
        // pod through itself) and through the workload it is credited to (that ReplicaSet's
        // Deployment): scaling either to 0 takes it away, whether the scale is `backend` itself
        // or one levee allowed moments ago.
        const holders = [directHolder(service.namespace, endpoint.podName, controller), attribution.kind === 'workload' ? attribution.ref : undefined]
          .filter((ref): ref is BackendRef => ref !== undefined);
        if (attribution.kind === 'unknown' || holders.some((ref) => workloadKey(ref) === self)) {
          ownReadyEndpoints++;
          continue;
        }
        if (holders.some((ref) => this.goingToZero(ref))) continue;
        otherReadyEndpoints++;
        others.add(attribution.kind === 'workload' ? `${attribution.ref.kind}/${attribution.ref.name}` : attribution.label);
      }
    }
    return { service, readyEndpoints, ownReadyEndpoints, otherReadyEndpoints, otherBackends: [...others].sort().slice(0, 5) };
  }
}

/**
 * What a cached pod backs a Service through first: its confirmed controller, or itself when it
 * names none levee can vouch for (an unconfirmed one is counted as the judged workload's own).
 */
function directHolder(namespace: string, podName: string, controller: PodController | undefined): BackendRef | undefined {
  if (controller?.kind === 'none') return { kind: 'Pod', namespace, name: podName };
  if (controller?.kind !== 'confirmed') return undefined;
  const kind = controller.owner.kind;
  return isScalableKind(kind) || kind === 'DaemonSet' ? { kind, namespace, name: controller.owner.name } : undefined;
}

export function ownerKey(kind: string, namespace: string, name: string): string {
  return `${kind}/${namespace}/${name}`;
}

export function selectorMatches(selector: Readonly<Record<string, string>>, labels: Readonly<Record<string, string>>): boolean {
  const entries = Object.entries(selector);
  return entries.length > 0 && entries.every(([key, value]) => labels[key] === value);
}
