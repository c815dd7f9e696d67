import { apiWritePath } from './probes/api-write-path.js';
import { certificateExpiry } from './probes/certificate-expiry.js';
import { controllerManager } from './probes/controller-manager.js';
import { dns } from './probes/dns.js';
import { etcd } from './probes/etcd.js';
import { nodeCanary } from './probes/node-canary.js';
import { nodeHealth } from './probes/node-health.js';
import { onDemandShare } from './probes/on-demand-share.js';
import { createRestartBurst, restartBurst } from './probes/restart-burst.js';
import { scheduler } from './probes/scheduler.js';
import { serviceEndpoints } from './probes/service-endpoints.js';
import { versionSkew } from './probes/version-skew.js';
import { workloadLifecycle } from './probes/workload-lifecycle.js';
import type { LeveeConfig } from '../config.js';
import { customProbeDefinitions } from './custom/probes.js';
import type { ProbeId } from './settings.js';
import type { ProbeDefinition } from './types.js';

/**
 * Every probe levee runs, in report order: black-box probes that act as a user first, then
 * targeted inspections. Adding a probe means adding it here (and its id to PROBE_IDS).
 */
export const PROBES: readonly ProbeDefinition[] = [
  apiWritePath,
  workloadLifecycle,
  nodeCanary,
  dns,
  controllerManager,
  scheduler,
  etcd,
  nodeHealth,
  versionSkew,
  restartBurst,
  onDemandShare,
  serviceEndpoints,
  certificateExpiry,
];

/**
 * The built-in probes, then the user's own declared under probe.custom, for one probe loop:
 * restart-burst remembers restart counts between looks, so each loop (each cluster of a
 * fleet) gets a ledger of its own, never another cluster's restarts.
 */
export function probesFor(config: LeveeConfig): ProbeDefinition[] {
  return [...PROBES.map((probe) => (probe === restartBurst ? createRestartBurst() : probe)), ...customProbeDefinitions(config)];
}

export function probeById(id: ProbeId): ProbeDefinition | undefined {
  return PROBES.find((probe) => probe.id === id);
}
