import type { KubeObject } from '../kube/types.js';
import type { CustomKind, CustomKindSink } from './custom-kinds.js';
import { MACHINE_DEPLOYMENT_GROUP, MACHINE_DEPLOYMENT_KIND, MACHINE_DEPLOYMENT_VERSIONS } from './machine-deployments.js';
import { INFRASTRUCTURE_GROUP, MACHINE_TEMPLATE_KINDS } from './machine-templates.js';
import { NODEPOOL_GROUP, NODEPOOL_KIND, NODEPOOL_VERSIONS } from './nodepools.js';
import type { ClusterState } from './state.js';
import type { IndexedStore } from './store.js';
import { intentKey, toIntentView } from './upgrade-intents.js';

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
  const { upgradeIntents: intents, nodePools: pools, machineDeployments, machineTemplates } = cluster;
  const feeds: KindFeed[] = [
    ...intents.kinds.map(
      (kind): KindFeed => ({
        group: kind.group,
        kind: kind.kind,
        versions: kind.versions,
        sink: {
          store: intents as IndexedStore<unknown>,
          apply: (object) => {
            const view = toIntentView(object, kind);
            intents.upsert(intentKey(view), view);
          },
          delete: (object) => intents.remove(intentKey(toIntentView(object, kind))),
          forget: () => intents.removeKind(kind.group, kind.kind),
        },
      }),
    ),
    { group: NODEPOOL_GROUP, kind: NODEPOOL_KIND, versions: NODEPOOL_VERSIONS, sink: wholeStoreSink(pools) },
    { group: MACHINE_DEPLOYMENT_GROUP, kind: MACHINE_DEPLOYMENT_KIND, versions: MACHINE_DEPLOYMENT_VERSIONS, sink: wholeStoreSink(machineDeployments) },
    ...MACHINE_TEMPLATE_KINDS.map(
      (kind): KindFeed => ({
        group: INFRASTRUCTURE_GROUP,
        kind: kind.kind,
        versions: kind.versions,
        sink: {
          store: machineTemplates as IndexedStore<unknown>,
          apply: (object) => {
            const projected = machineTemplates.project({ ...object, kind: kind.kind }, INFRASTRUCTURE_GROUP);
            if (projected) machineTemplates.upsert(...projected);
          },
          delete: (object) => {
            const projected = machineTemplates.project({ ...object, kind: kind.kind }, INFRASTRUCTURE_GROUP);
            if (projected) machineTemplates.remove(projected[0]);
          },
          forget: () => machineTemplates.removeKind(kind.kind),
        },
      }),
    ),
  ];
  return mergeByKind(feeds);
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
