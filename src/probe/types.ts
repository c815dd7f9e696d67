import type { LeveeConfig } from '../config.js';
import type { FeedName, ProbeCache } from './cache.js';
import type { ProbeId } from './settings.js';
import type { KubeApi } from './kube-api.js';
import type { Severity } from '../probe-verdict.js';

/** What one probe run found. A thrown error or a timeout becomes `ok: false` with the error's message. */
export interface ProbeOutcome {
  ok: boolean;
  /** The probe had nothing to check here (e.g. DNS outside a cluster). */
  skipped?: boolean;
  /** Already judged with hysteresis elsewhere (a leader-only probe's result copied from the leader): taken as is. */
  settled?: boolean;
  message: string;
  /**
   * This failure's own severity, when the probe knows better than its configured one: an API
   * server older than a kubelet is critical whatever version-skew is set to; one workload's
   * crash loop is a minor restart-burst failure.
   */
  severity?: Severity;
  /** Where a multi-step probe got to before it failed; hint rules read it. */
  stage?: string;
  details?: Record<string, unknown>;
}

/** What a probe can use: a per-request-timed API client, the watch cache, the configuration, the clock, the run's abort signal. */
export interface ProbeContext {
  api: KubeApi;
  config: LeveeConfig;
  signal: AbortSignal;
  now: () => Date;
  isLeader: boolean;
  inCluster: boolean;
  /** What the watches keep of the cluster (nodes, pods, Services, EndpointSlices, the control-plane Leases): read it instead of listing. */
  cache: ProbeCache;
}

export interface ProbeDefinition {
  id: ProbeId;
  summary: string;
  /** Heavy probes that create objects run on the elected leader; the other replicas copy its result, or run them while no leader publishes. */
  leaderOnly?: boolean;
  /** The cache feeds it reads: started with the loop, so they have listed by its first run. */
  feeds?: readonly FeedName[];
  /** Defaults to config.probe.timeoutSeconds. */
  timeoutSeconds?(config: LeveeConfig): number;
  /** How often it runs while passing; defaults to config.probe.intervalSeconds. */
  intervalSeconds?(config: LeveeConfig): number;
  /** A probe that words its own hint (a custom probe's declared one) instead of levee's hint rules. */
  hint?(outcome: ProbeOutcome): string | undefined;
  run(context: ProbeContext): Promise<ProbeOutcome>;
}
