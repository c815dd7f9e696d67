import type { CustomKind } from './custom-kinds.js';
import type { ClusterState } from './state.js';
import type { IndexedStore } from './store.js';
import { NODEPOOL_GROUP, NODEPOOL_KIND, NODEPOOL_VERSIONS } from './nodepools.js';
import { intentKey, toIntentView } from './upgrade-intents.js';

/** The CRD-backed kinds levee caches, and the store each one's objects go to. */
export function customKindsOf(cluster: ClusterState): CustomKind[] {
  const intents = cluster.upgradeIntents;
  const pools = cluster.nodePools;
  return [
    ...intents.kinds.map(
      (kind): CustomKind => ({
        group: kind.group,
        kind: kind.kind,
        versions: kind.versions,
        store: intents as IndexedStore<unknown>,
        apply: (object) => {
          const view = toIntentView(object, kind);
          intents.upsert(intentKey(view), view);
        },
        delete: (object) => intents.remove(intentKey(toIntentView(object, kind))),
        forget: () => intents.removeKind(kind.group, kind.kind),
      }),
    ),
    {
      group: NODEPOOL_GROUP,
      kind: NODEPOOL_KIND,
      versions: NODEPOOL_VERSIONS,
      store: pools as IndexedStore<unknown>,
      apply: (object) => pools.upsert(...pools.project(object)),
      delete: (object) => pools.remove(pools.project(object)[0]),
      forget: () => pools.clear(),
    },
  ];
}
