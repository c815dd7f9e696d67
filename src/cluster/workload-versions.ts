import type { ExpectedView } from './recent-decisions.js';
import type { ClusterState } from './state.js';
import { intentKey, type IntentView, type VersionRange } from './upgrade-intents.js';
import { objectKey } from './views.js';

/**
 * Which workload cluster an upgrade intent belongs to, and the versions of the rest of that
 * cluster, through the ledger of recent decisions.
 *
 * A control plane is linked to its cluster by the cluster-name label or an owner reference when
 * it has them; upstream Cluster API templates give it neither, and the Cluster points at it
 * through `spec.controlPlaneRef` alone. So the Cluster that names an object as its control plane
 * links it too, whichever way round they are judged.
 */

export function workloadClusterOf(state: ClusterState, view: IntentView): string | undefined {
  if (view.cluster) return view.cluster;
  if (view.role === 'workers') return undefined;
  return state.clusters.pointingAt({ group: view.group, kind: view.kind, namespace: view.namespace, name: view.name })[0]?.name;
}

/**
 * The control plane's and the workers' version ranges of `cluster`, without `view` (the object a
 * request replaces) and with the version changes levee allowed moments ago in place.
 */
export function workloadVersions(state: ClusterState, view: IntentView, cluster: string): { controlPlane?: VersionRange; workers?: VersionRange } {
  const intents = state.upgradeIntents;
  const selfKey = intentKey(view);
  const without: IntentView[] = [];
  const added: IntentView[] = [];
  const tallied = (candidate: IntentView | undefined): candidate is IntentView =>
    candidate !== undefined && candidate.namespace === view.namespace && candidate.cluster === cluster;

  const self = intents.get(selfKey);
  if (tallied(self)) without.push(self);
  const pending = state.recentDecisions.pending(intents.name);
  for (const [key, expected] of pending) {
    if (key === selfKey) continue;
    const cached = intents.get(key);
    const next = expectedIntent(cached, expected);
    if (tallied(cached)) without.push(cached);
    if (next && next.namespace === view.namespace && workloadClusterOf(state, next) === cluster) added.push(next);
  }

  // The control plane the Cluster points at, when nothing but that reference links it.
  const ref = state.clusters.get(objectKey(view.namespace, cluster))?.controlPlane;
  if (ref) {
    const key = intentKey({ group: ref.group, kind: ref.kind, namespace: ref.namespace, name: ref.name });
    const linked = key === selfKey || pending.has(key) ? undefined : intents.get(key);
    if (linked && !tallied(linked)) added.push(linked);
  }
  return intents.rangesAdjusted(view.namespace, cluster, without, added);
}

function expectedIntent(cached: IntentView | undefined, expected: ExpectedView): IntentView | undefined {
  if (expected === null) return undefined;
  return { ...(cached ?? {}), ...expected } as IntentView;
}
