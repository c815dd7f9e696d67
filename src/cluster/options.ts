import { DEFAULT_CAPACITY_LABELS, DEFAULT_POOL_LABELS } from '../kube/capacity-labels.js';
import { DEFAULT_CONTROL_PLANES, DEFAULT_UPGRADE_INTENTS, type ControlPlaneDiscovery, type UpgradeIntentKind } from '../kube/cluster-api.js';
import type { NodeClassification } from './nodes.js';
import { DEFAULT_RECENT_DECISIONS, type RecentDecisionsOptions } from './recent-decisions.js';

/** What the caches need from the configuration: how to classify nodes and which kinds declare versions. */
export interface ClusterOptions {
  classification: NodeClassification;
  upgradeIntents: readonly UpgradeIntentKind[];
  /** Control planes found from their CRDs: every kind of Cluster API's control plane group, and more. */
  controlPlanes: ControlPlaneDiscovery;
  apiServerRefreshMs: number;
  /** How long, and how many, allowed changes are remembered until the watch shows them. */
  recentDecisions: RecentDecisionsOptions;
}

/** The parts of levee's configuration the caches read; a LeveeConfig has them. */
export interface CacheSettings {
  policies: {
    'spot-capacity': NodeClassification;
    'version-skew': { upgradeIntents: readonly UpgradeIntentKind[]; controlPlanes: ControlPlaneDiscovery; apiServerRefreshSeconds: number };
  };
  recentDecisions: { expirySeconds: number; maxEntries: number };
}

export function clusterOptionsFrom(config: CacheSettings): ClusterOptions {
  const spot = config.policies['spot-capacity'];
  const skew = config.policies['version-skew'];
  return {
    classification: { capacityLabels: spot.capacityLabels, poolLabels: spot.poolLabels },
    upgradeIntents: skew.upgradeIntents,
    controlPlanes: skew.controlPlanes,
    apiServerRefreshMs: skew.apiServerRefreshSeconds * 1000,
    recentDecisions: { expiryMs: config.recentDecisions.expirySeconds * 1000, maxEntries: config.recentDecisions.maxEntries },
  };
}

/**
 * For caches built without a configuration (tests, tools): the defaults, from the same
 * constants the configuration's own defaults come from (a test keeps the two equal).
 */
export const DEFAULT_CLUSTER_OPTIONS: ClusterOptions = {
  classification: { capacityLabels: DEFAULT_CAPACITY_LABELS, poolLabels: DEFAULT_POOL_LABELS },
  upgradeIntents: DEFAULT_UPGRADE_INTENTS,
  controlPlanes: DEFAULT_CONTROL_PLANES,
  apiServerRefreshMs: 60_000,
  recentDecisions: DEFAULT_RECENT_DECISIONS,
};
