import type { ProbeId } from './settings.js';
import type { ProbeOutcome } from './types.js';

/**
 * Root-cause hints from simple expert rules over a failed probe (its id, the stage it
 * reached, its message), in the spirit of KubeProbe. The first rule that matches wins, so
 * specific rules come before generic ones.
 */

interface HintRule {
  id: string;
  matches(probe: ProbeId, outcome: ProbeOutcome): boolean;
  hint: string;
}

const DEADLINE = /context deadline exceeded|no answer within|timed out/i;

/** Matches a failure of `id`; with `stages`, only one that stopped at one of them. */
const probeAt =
  (id: ProbeId, ...stages: string[]) =>
  (probe: ProbeId, outcome: ProbeOutcome): boolean =>
    probe === id && (stages.length === 0 || stages.includes(outcome.stage ?? ''));

const RULES: readonly HintRule[] = [
  {
    id: 'etcd-deadline',
    matches: (probe, outcome) => probe === 'etcd' && DEADLINE.test(outcome.message),
    hint: 'context deadline exceeded on etcd: check etcd health and disk latency (fsync), and the API server --etcd-servers',
  },
  {
    id: 'connection-refused',
    matches: (_probe, outcome) => /connection refused/i.test(outcome.message),
    hint: 'connection refused: nothing listens at the API server address; is kube-apiserver running?',
  },
  {
    id: 'etcd-unready',
    matches: probeAt('etcd'),
    hint: 'the API server reports etcd not ready: is etcd running and reachable from kube-apiserver?',
  },
  {
    id: 'no-replicaset',
    matches: probeAt('workload-lifecycle', 'replicaset'),
    hint: 'Deployment never gets a ReplicaSet: is kube-controller-manager running?',
  },
  {
    id: 'no-pods',
    matches: probeAt('workload-lifecycle', 'pods'),
    hint: 'ReplicaSet never creates pods: is kube-controller-manager running? is a webhook or a quota refusing pods?',
  },
  {
    id: 'unscheduled',
    matches: probeAt('workload-lifecycle', 'scheduled'),
    hint: 'pods created but never scheduled: is kube-scheduler running, and do the nodes have room?',
  },
  {
    id: 'never-ready',
    matches: probeAt('workload-lifecycle', 'ready'),
    hint: 'pods scheduled but never Ready: are the kubelets healthy, can the image be pulled, can sandboxes be created?',
  },
  {
    id: 'no-endpoints',
    matches: probeAt('workload-lifecycle', 'endpoints'),
    hint: 'pods Ready but the Service gets no endpoints: is kube-controller-manager (EndpointSlice controller) running?',
  },
  {
    // The probe's own request went unanswered: that says the API server is slow, not that the component is down.
    id: 'api-unanswered',
    matches: (probe, outcome) => probe !== 'api-write-path' && /no answer within/.test(outcome.message),
    hint: 'the API server did not answer in time: is it overloaded, or is etcd slow?',
  },
  {
    id: 'controller-manager-lease',
    matches: probeAt('controller-manager'),
    hint: 'kube-controller-manager is not renewing its leader Lease: is kube-controller-manager running?',
  },
  {
    id: 'scheduler-lease',
    matches: probeAt('scheduler'),
    hint: 'kube-scheduler is not renewing its leader Lease: is kube-scheduler running?',
  },
  {
    id: 'write-forbidden',
    matches: (probe, outcome) => probe === 'api-write-path' && /HTTP 403/.test(outcome.message),
    hint: 'levee may not write ConfigMaps in its namespace: check its RBAC',
  },
  {
    id: 'write-slow',
    matches: (probe, outcome) => probe === 'api-write-path' && (DEADLINE.test(outcome.message) || outcome.stage === 'slow'),
    hint: 'API writes are slow: check etcd latency, API server load and slow admission webhooks',
  },
  {
    id: 'dns',
    matches: probeAt('dns'),
    hint: 'in-cluster DNS does not resolve: is CoreDNS running, and do pods reach it?',
  },
  {
    id: 'version-skew-critical',
    matches: (probe, outcome) => probe === 'version-skew' && outcome.severity === 'critical',
    hint: 'the API server is older than its kubelets: it was downgraded or nodes were upgraded first; upgrade the API server, never downgrade it below the nodes',
  },
  {
    id: 'version-skew',
    matches: probeAt('version-skew'),
    hint: 'kubelets outside the supported skew: upgrade the old nodes before the next control-plane upgrade',
  },
  {
    id: 'restart-burst-workload',
    matches: probeAt('restart-burst', 'workload'),
    hint: 'the restarts come from one or two workloads: read their logs and last rollout (kubectl logs --previous, kubectl rollout history); the cluster is not the cause',
  },
  {
    id: 'restart-burst-node',
    matches: probeAt('restart-burst', 'node'),
    hint: 'workloads restart on one node only: look at that node (memory pressure and OOM kills, disk, its kubelet and runtime); cordon and drain it if it is sick',
  },
  {
    id: 'restart-burst',
    matches: probeAt('restart-burst'),
    hint: 'several workloads restart on many nodes at once: look for what they share (DNS, a config push, the image registry, the nodes)',
  },
  {
    id: 'node-health-none',
    matches: probeAt('node-health', 'none-ready'),
    hint: 'no node is Ready: the kubelets stopped reporting (their network to the API server, the nodes themselves); no new pod can start',
  },
  {
    id: 'node-health',
    matches: probeAt('node-health'),
    hint: 'nodes are NotReady: check their kubelets, their network to the API server and their pressure conditions (kubectl describe node)',
  },
  {
    id: 'node-canary-before-scheduling',
    matches: probeAt('node-canary', 'replicaset', 'pods'),
    hint: 'the canary Deployment never got its pod: is kube-controller-manager running? is a webhook or a quota refusing pods?',
  },
  {
    id: 'node-canary-unscheduled',
    matches: probeAt('node-canary', 'scheduled'),
    hint: 'the canary pod found no node in its pool: are the pool\'s nodes Ready and schedulable (cordons, taints, full)? is kube-scheduler running?',
  },
  {
    id: 'node-canary',
    matches: probeAt('node-canary'),
    hint: 'a pod placed on a node of that pool was never reported Running: check that pool\'s kubelets, container runtime, image pulls and network plugin',
  },
  {
    id: 'on-demand-share',
    matches: probeAt('on-demand-share'),
    hint: 'most capacity is spot or preemptible: one spot shortage can take the workloads down',
  },
  {
    id: 'service-endpoints',
    matches: probeAt('service-endpoints'),
    hint: 'Services select pods but have no ready endpoints: their clients get errors; check the workloads behind them',
  },
  {
    id: 'certificate-expiry',
    matches: probeAt('certificate-expiry'),
    hint: "renew levee's serving certificate (cert-manager, or `levee certs`); the API server refuses an expired one",
  },
  {
    id: 'api-deadline',
    matches: (_probe, outcome) => DEADLINE.test(outcome.message),
    hint: 'the API server did not answer in time: is it overloaded, or is etcd slow?',
  },
  {
    id: 'api-server-error',
    matches: (_probe, outcome) => /HTTP 5\d\d/.test(outcome.message),
    hint: 'the API server answered with a server error: check its log and etcd',
  },
];

function ruleFor(probe: ProbeId, outcome: ProbeOutcome): HintRule | undefined {
  if (outcome.ok || outcome.skipped) return undefined;
  return RULES.find((rule) => rule.matches(probe, outcome));
}

/** The hint for a failed outcome, or undefined when it passed or no rule knows the failure. */
export function hintFor(probe: ProbeId, outcome: ProbeOutcome): string | undefined {
  return ruleFor(probe, outcome)?.hint;
}

/** The id of the rule that matched, for tests and logs. */
export function hintRuleFor(probe: ProbeId, outcome: ProbeOutcome): string | undefined {
  return ruleFor(probe, outcome)?.id;
}
