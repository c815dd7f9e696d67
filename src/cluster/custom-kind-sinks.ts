import type { KubeObject } from '../kube/types.js';
import { AUTOSCALER_KINDS } from './autoscalers.js';
import type { CrdView, CustomKind, CustomKindSink, DiscoverKind } from './custom-kinds.js';
import { INFRASTRUCTURE_GROUP, INFRASTRUCTURE_KINDS } from './infrastructure-capacity.js';
import { CLUSTER_API_GROUP, CLUSTER_API_VERSIONS, WORKER_POOL_KINDS } from './worker-pools.js';
import { NODEPOOL_GROUP, NODEPOOL_KIND, NODEPOOL_VERSIONS } from './nodepools.js';
import type { ClusterState } from './state.js';
import type { IndexedStore } from './store.js';
import type { UpgradeIntentKind } from '../kube/cluster-api.js';
import { findIntentKind, intentKey, intentKindFor, toIntentView, type UpgradeIntentStore } from './upgrade-intents.js';

interface KindFeed {
  group: string;
  kind: string;
  versions: readonly string[];
  sink: CustomKindSink;
}

/**
 * The CRD-backed kinds levee caches, and the stores each one's objects go to. A kind read by
 * several stores (a MachineDeployment is an upgrade intent and a worker pool) is watched once.
 */
export function customKindsOf(cluster: ClusterState): CustomKind[] {
  const { upgradeIntents: intents, nodePools: pools, workerPools, infrastructure, clusters, clusterClasses, kedaScalers: autoscalers } = cluster;
  const feeds: KindFeed[] = [
    ...intents.kinds.map((kind): KindFeed => ({ group: kind.group, kind: kind.kind, versions: kind.versions, sink: intentSink(intents, kind) })),
    { group: NODEPOOL_GROUP, kind: NODEPOOL_KIND, versions: NODEPOOL_VERSIONS, sink: wholeStoreSink(pools) },
    ...WORKER_POOL_KINDS.map(
      (kind): KindFeed => ({
        group: CLUSTER_API_GROUP,
        kind,
        versions: CLUSTER_API_VERSIONS,
        sink: kindSink(workerPools, kind, (object) => workerPools.project(object), () => workerPools.removeKind(kind)),
      }),
    ),
    // KEDA's kinds; HorizontalPodAutoscalers are built in (informers.ts) and share the store.
    ...AUTOSCALER_KINDS.filter((entry) => entry.kind !== 'HorizontalPodAutoscaler').map(
      ({ group, kind, versions }): KindFeed => ({
        group,
        kind,
        versions,
        sink: kindSink(autoscalers, kind, (object) => autoscalers.project(object, group), () => autoscalers.removeKind(kind)),
      }),
    ),
    { group: CLUSTER_API_GROUP, kind: 'Cluster', versions: CLUSTER_API_VERSIONS, sink: wholeStoreSink(clusters) },
    { group: CLUSTER_API_GROUP, kind: 'ClusterClass', versions: CLUSTER_API_VERSIONS, sink: wholeStoreSink(clusterClasses) },
    ...INFRASTRUCTURE_KINDS.map(
      (kind): KindFeed => ({
        group: INFRASTRUCTURE_GROUP,
        kind: kind.kind,
        versions: kind.versions,
        sink: kindSink(infrastructure, kind.kind, (object) => infrastructure.project(object, INFRASTRUCTURE_GROUP), () => infrastructure.removeKind(kind.kind)),
      }),
    ),
  ];
  return mergeByKind(feeds);
}

function intentSink(intents: UpgradeIntentStore, kind: UpgradeIntentKind): CustomKindSink {
  return {
    store: intents as IndexedStore<unknown>,
    apply: (object) => {
      const view = toIntentView(object, kind);
      intents.upsert(intentKey(view), view);
    },
    delete: (object) => intents.remove(intentKey(toIntentView(object, kind))),
    forget: () => intents.removeKind(kind.group, kind.kind),
  };
}

/**
 * Control planes not listed as upgrade intents, found from their CRDs (any kind of Cluster API's
 * control plane group: RKE2, K3s, Talos, EKS...), watched in every version their CRD serves.
 */
export function discoverControlPlanes(cluster: ClusterState): DiscoverKind {
  const intents = cluster.upgradeIntents;
  return (crd: CrdView) => {
    if (findIntentKind(intents.kinds, crd.group, crd.kind)) return undefined;
    const kind = intentKindFor(intents.kinds, intents.discovery, crd.group, crd.kind, crd.servedVersions);
    return kind ? { group: kind.group, kind: kind.kind, versions: kind.versions, sinks: [intentSink(intents, kind)] } : undefined;
  };
}

/**
 * A sink for one kind of a store several kinds share: each object is projected with its kind
 * (a list's items carry none), and passed over when the projection declines it.
 */
function kindSink<V>(store: IndexedStore<V>, kind: string, project: (object: KubeObject) => [string, V] | undefined, forget: () => void): CustomKindSink {
  const entryOf = (object: KubeObject): [string, V] | undefined => project({ ...object, kind });
  return {
    store: store as IndexedStore<unknown>,
    apply: (object) => {
      const entry = entryOf(object);
      if (entry) store.upsert(...entry);
    },
    delete: (object) => {
      const entry = entryOf(object);
      if (entry) store.remove(entry[0]);
    },
    forget,
  };
}

/** A sink for a store that holds one kind alone: forgetting the kind empties the store. */
function wholeStoreSink<V>(store: IndexedStore<V> & { project(object: KubeObject): [string, V] }): CustomKindSink {
  return {
    store: store as IndexedStore<unknown>,
    apply: (object) => store.upsert(...store.project(object)),
    delete: (object) => store.remove(store.project(object)[0]),
    forget: () => store.clear(),
  };
}

/** One CustomKind per group and kind, understanding the versions every feed of it understands, in the first feed's order. */
export function mergeByKind(feeds: readonly KindFeed[]): CustomKind[] {
  const merged = new Map<string, CustomKind & { sinks: CustomKindSink[] }>();
  for (const feed of feeds) {
    const key = `${feed.kind}.${feed.group}`;
    const existing = merged.get(key);
    if (!existing) {
      merged.set(key, { group: feed.group, kind: feed.kind, versions: [...feed.versions], sinks: [feed.sink] });
      continue;
    }
    existing.versions = existing.versions.filter((version) => feed.versions.includes(version));
    existing.sinks.push(feed.sink);
  }
  return [...merged.values()];
}
