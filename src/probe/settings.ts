import { z } from 'zod';
import { SERVICE_REFERENCE_PATTERN } from '../kube/name-syntax.js';
import { customProbeId, customProbes, type CustomProbeId } from './custom/settings.js';
import { fleetSettings } from './fleet/settings.js';
import { SEVERITIES, type Severity } from '../probe-verdict.js';

/**
 * The `probe` section of levee's configuration (merged, validated and frozen by
 * src/config.ts like every other section). Kept here so the probe's many knobs sit next to
 * the code that reads them.
 */

export const PROBE_IDS = [
  'api-write-path',
  'workload-lifecycle',
  'dns',
  'controller-manager',
  'scheduler',
  'etcd',
  'version-skew',
  'restart-burst',
  'on-demand-share',
  'service-endpoints',
  'certificate-expiry',
  'node-health',
  'node-canary',
] as const;
export type BuiltInProbeId = (typeof PROBE_IDS)[number];
/** A built-in probe, or one of the user's own (`custom:<name>`, declared under probe.custom). */
export type ProbeId = BuiltInProbeId | CustomProbeId;

/** A failure of one of these closes the gate (Unhealthy); any other failure only degrades. */
export const DEFAULT_CRITICAL_PROBES: readonly BuiltInProbeId[] = [
  'api-write-path',
  'workload-lifecycle',
  'dns',
  'controller-manager',
  'scheduler',
  'etcd',
];

/**
 * Severities of the probes the `critical` list leaves out, unless `probe.severity` says
 * otherwise: a low on-demand share is a risk to know about, not a fault to degrade over.
 * Every other probe is major.
 */
export const DEFAULT_SEVERITIES: Readonly<Partial<Record<ProbeId, Severity>>> = {
  'on-demand-share': 'minor',
};

const probeId = z.enum(PROBE_IDS);

const lease = z.strictObject({
  /** coordination.k8s.io Lease in levee's namespace that elects the publishing probe. */
  name: z.string().min(1).default('levee-probe'),
  durationSeconds: z.number().int().min(2).default(15),
});

const thresholds = z.strictObject({
  /** create + update + delete of a ConfigMap slower than this fails the write path. */
  writeLatencyMs: z.number().int().min(1).default(5000),
  /** Slack on top of a control-plane Lease's own duration, for clock skew. */
  leaseGraceSeconds: z.number().min(0).default(5),
  restartWindowSeconds: z.number().int().min(1).default(600),
  /** A restart burst: at least this many restarts (summed over containers) within the window... */
  restartBurstContainers: z.number().int().min(1).default(10),
  /** ...on at least this many nodes... */
  restartBurstNodes: z.number().int().min(1).default(3),
  /** ...of at least this many workloads (by owner): fewer is those workloads' own fault, a minor failure. */
  restartBurstWorkloads: z.number().int().min(1).default(3),
  /** Below this fraction of on-demand nodes (among nodes with a capacity label) the cluster is Degraded. */
  onDemandMinShare: z.number().min(0).max(1).default(0.2),
  /** Services younger than this are not yet expected to have endpoints. */
  serviceGraceSeconds: z.number().int().min(0).default(120),
  certificateMinDays: z.number().min(0).default(14),
  /** Kubelets more minors behind the API server than this are reported (non-critical). */
  kubeletMaxMinorsBehind: z.number().int().min(0).default(3),
  /** node-health fails when fewer than this fraction of the nodes are Ready (and is critical when none is). */
  nodeReadyMinShare: z.number().min(0).max(1).default(0.8),
  /** Nodes younger than this are still joining: not counted NotReady. */
  nodeGraceSeconds: z.number().int().min(0).default(60),
});

const canary = z.strictObject({
  /** How often the canary pods run (each run creates one small Deployment per node pool). */
  intervalSeconds: z.number().min(1).default(60),
  /** How long a canary pod has to be scheduled and reported Running by its node. */
  timeoutSeconds: z.number().min(1).default(30),
  /** At most this many pools get a canary per run (the largest first); the others are named as not checked. */
  maxPools: z.number().int().min(1).default(10),
});

const dns = z.strictObject({
  /** The cluster DNS Service (namespace/name): where levee on a host sends its query, and whose endpoints it checks. */
  service: z.string().regex(SERVICE_REFERENCE_PATTERN, 'must be namespace/name').default('kube-system/kube-dns'),
  /** Appended to dnsName (as `<dnsName>.svc.<clusterDomain>`) for a query from a host, which has no cluster search domains. */
  clusterDomain: z.string().min(1).default('cluster.local'),
  /** How long a query from a host to the DNS Service's address is waited for. */
  hostQueryTimeoutMs: z.number().int().min(50).max(10_000).default(1000),
  /** After such a query went unanswered (the address is not reachable from this host), the next one waits this long; the Service and its endpoints are checked meanwhile. */
  hostRetrySeconds: z.number().min(0).default(300),
  /**
   * false: a levee on a host never sends that query (no packet to the service network, which
   * leaves through the host's default route when nothing routes it); only the Service and its
   * ready endpoints are checked. The local cluster and the tests set it: kwok runs no DNS server.
   */
  queryFromHost: z.boolean().default(true),
});

export const probeSettings = z.strictObject({
  /** How often each probe runs while nothing is wrong (each on its own schedule). */
  intervalSeconds: z.number().min(1).default(30),
  /** A probe whose last outcome disagrees with its status (a first failure, a first success while failing) runs again this soon. */
  recheckSeconds: z.number().min(0.1).default(2),
  /** A failing probe runs this often (at most every intervalSeconds), so recovery is seen in seconds. */
  failingIntervalSeconds: z.number().min(0.1).default(5),
  /** Each probe's deadline; the workload lifecycle has its own, longer one. */
  timeoutSeconds: z.number().min(1).default(10),
  lifecycleTimeoutSeconds: z.number().min(5).default(60),
  /** Deadline of every single API request a probe makes. */
  requestTimeoutMs: z.number().int().min(100).default(5000),
  verdictFile: z.string().min(1).default('/var/run/levee/verdict.json'),
  /** The on-demand endpoint (POST /run, GET /verdict, /metrics, /healthz); loopback only by default. 0 picks a free port. */
  httpHost: z.string().default('127.0.0.1'),
  httpPort: z.number().int().min(0).max(65535).default(8081),
  /** Hysteresis: consecutive failures before a probe counts as failing, successes before it counts as passing again. */
  failuresToUnhealthy: z.number().int().min(1).default(2),
  successesToHealthy: z.number().int().min(1).default(2),
  critical: z.array(probeId).default([...DEFAULT_CRITICAL_PROBES]),
  /**
   * A probe's severity: `critical` failures make the verdict Unhealthy, `major` ones Degraded,
   * `minor` ones change nothing (reported only). Overrides `critical`; a probe named in
   * neither is critical when in `critical`, else DEFAULT_SEVERITIES or major.
   */
  severity: z.partialRecord(probeId, z.enum(SEVERITIES)).default({}),
  disabled: z.array(probeId).default([]),
  /** Whether the elected leader writes the ProbeVerdict resource and Events. */
  publish: z.boolean().default(true),
  lease: lease.default(lease.parse({})),
  thresholds: thresholds.default(thresholds.parse({})),
  canary: canary.default(canary.parse({})),
  dnsName: z.string().min(1).default('kubernetes.default'),
  /** How the dns probe reaches the cluster DNS when levee runs on a host, outside a pod. */
  dns: dns.default(dns.parse({})),
  /** The serving certificate whose expiry is inspected; defaults to server.tlsCertFile. */
  certificateFile: z.string().optional(),
  lifecycleImage: z.string().min(1).default('registry.k8s.io/pause:3.10'),
  /** Probes of the user's own: HTTP checks, commands, reports from pods (src/probe/custom/settings.ts). */
  custom: customProbes.default([]),
  /** Several clusters from one process, each one's verdict published into a hub cluster (src/probe/fleet/). */
  fleet: fleetSettings.optional(),
});

export type ProbeSettings = z.infer<typeof probeSettings>;

/** Probes whose failure closes the gate: the configured built-ins and every custom probe declared critical. */
export function criticalProbes(settings: ProbeSettings): ReadonlySet<ProbeId> {
  const custom = settings.custom.filter((declaration) => declaration.critical).map((declaration) => customProbeId(declaration.name));
  return new Set<ProbeId>([...settings.critical, ...custom]);
}

/**
 * Every probe's configured severity that is not plain `critical`-list membership: the
 * defaults for unlisted built-ins, then `probe.severity`, then each custom probe's own.
 */
export function configuredSeverities(settings: Pick<ProbeSettings, 'critical' | 'severity' | 'custom'>): Partial<Record<ProbeId, Severity>> {
  const listed = new Set<string>(settings.critical);
  const defaults = Object.entries(DEFAULT_SEVERITIES).filter(([probe]) => !listed.has(probe));
  const custom = settings.custom.flatMap((declaration) => (declaration.severity ? [[customProbeId(declaration.name), declaration.severity] as const] : []));
  return { ...Object.fromEntries(defaults), ...settings.severity, ...Object.fromEntries(custom) };
}
