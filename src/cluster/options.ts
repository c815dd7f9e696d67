import { buildConfig, type LeveeConfig } from '../config.js';
import type { NodeClassification } from './nodes.js';
import type { RecentDecisionsOptions } from './recent-decisions.js';
import type { UpgradeIntentKind } from './upgrade-intents.js';

/** What the caches need from the configuration: how to classify nodes and which kinds declare versions. */
export interface ClusterOptions {
  classification: NodeClassification;
  upgradeIntents: readonly UpgradeIntentKind[];
  apiServerRefreshMs: number;
  /** How long, and how many, allowed changes are remembered until the watch shows them. */
  recentDecisions: RecentDecisionsOptions;
}

export function clusterOptionsFrom(config: LeveeConfig): ClusterOptions {
  const spot = config.policies['spot-capacity'];
  const skew = config.policies['version-skew'];
  return {
    classification: { capacityLabels: spot.capacityLabels, poolLabels: spot.poolLabels },
    upgradeIntents: skew.upgradeIntents,
    apiServerRefreshMs: skew.apiServerRefreshSeconds * 1000,
    recentDecisions: { expiryMs: config.recentDecisions.expirySeconds * 1000, maxEntries: config.recentDecisions.maxEntries },
  };
}

let defaults: ClusterOptions | undefined;

/** The options of the default configuration, for caches built without one (tests, tools). */
export function defaultClusterOptions(): ClusterOptions {
  defaults ??= clusterOptionsFrom(buildConfig());
  return defaults;
}
