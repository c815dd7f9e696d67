import type { PodView } from '../cache-views.js';
import { RestartLedger, type PodSnapshot, type RestartRecord } from '../restart-ledger.js';
import type { ProbeDefinition, ProbeOutcome } from '../types.js';
import { listNames } from './nodes.js';
import { workloadOf } from './pod-owner.js';
import { unreadFeeds } from './support.js';

/** What the window's restarts add up to, per workload. */
interface WorkloadRestarts {
  workload: string;
  restarts: number;
  pods: Set<string>;
  nodes: Set<string>;
}

/**
 * Mass restarts: restarts (not restarting containers) counted per workload within the window.
 * Many restarts of several workloads spread over several nodes point at a shared cause (DNS,
 * a config push, the image registry); the same number from one or two workloads is their own
 * fault (a bad rollout, a crash loop) and is reported as a minor failure naming them, as is a
 * burst one workload accounts for more than half of (the odd restart of a few others beside
 * one crash loop shares nothing), and
 * several workloads restarting on one node only is that node's problem, minor too. Restarts
 * are counted from successive looks at the pod cache (restart-ledger.ts), so each probe
 * process keeps its own ledger: make one per cluster with `createRestartBurst()`.
 */
export function createRestartBurst(ledger = new RestartLedger()): ProbeDefinition {
  return {
    id: 'restart-burst',
    summary: 'no burst of container restarts shared by several workloads across several nodes within the window',
    feeds: ['pods'],
    async run(context): Promise<ProbeOutcome> {
      const { config, now, cache } = context;
      const unread = await unreadFeeds(context, ['pods']);
      if (unread) return unread;
      const { restartWindowSeconds, restartBurstContainers, restartBurstNodes, restartBurstWorkloads } = config.probe.thresholds;
      const windowMs = restartWindowSeconds * 1000;
      const at = now().getTime();
      for (const pod of cache.pods()) ledger.observe(snapshotOf(pod), at, windowMs);
      return judge(ledger.recent(at, windowMs), { window: restartWindowSeconds, restarts: restartBurstContainers, nodes: restartBurstNodes, workloads: restartBurstWorkloads });
    },
  };
}

export const restartBurst: ProbeDefinition = createRestartBurst();

interface Thresholds {
  window: number;
  restarts: number;
  nodes: number;
  workloads: number;
}

function judge(records: readonly RestartRecord[], thresholds: Thresholds): ProbeOutcome {
  const byWorkload = new Map<string, WorkloadRestarts>();
  const nodes = new Set<string>();
  let restarts = 0;
  for (const record of records) {
    const entry = byWorkload.get(record.workload) ?? { workload: record.workload, restarts: 0, pods: new Set<string>(), nodes: new Set<string>() };
    entry.restarts += record.count;
    entry.pods.add(record.pod);
    entry.nodes.add(record.node);
    byWorkload.set(record.workload, entry);
    nodes.add(record.node);
    restarts += record.count;
  }
  const workloads = [...byWorkload.values()].sort((a, b) => b.restarts - a.restarts || a.workload.localeCompare(b.workload));
  const details = {
    restarts,
    nodes: nodes.size,
    windowSeconds: thresholds.window,
    workloads: workloads.map((entry) => ({ workload: entry.workload, restarts: entry.restarts, pods: entry.pods.size, nodes: entry.nodes.size })),
  };
  const text = `${restarts} restart(s) of ${workloads.length} workload(s) on ${nodes.size} node(s) in the last ${thresholds.window} s`;
  const named = listNames(workloads.map(describe), 3);
  if (restarts < thresholds.restarts) return { ok: true, message: text, details };
  const largest = workloads[0]!;
  // A few restarts elsewhere (there are always some in a big cluster) do not make one crash loop a shared cause.
  const ownFault =
    workloads.length < thresholds.workloads
      ? `all from ${named}`
      : largest.restarts * 2 > restarts
        ? `${largest.restarts} of them from ${describe(largest)}`
        : undefined;
  if (ownFault) {
    return { ok: false, severity: 'minor', stage: 'workload', message: `${text}, ${ownFault}: that workload's own fault, not a cause shared across the cluster`, details };
  }
  if (nodes.size < thresholds.nodes) {
    return { ok: false, severity: 'minor', stage: 'node', message: `${text}, only on ${listNames([...nodes].sort())}: look at that node (${named})`, details };
  }
  return { ok: false, stage: 'shared', message: `${text}: a cause they share (${named})`, details };
}

function describe(entry: WorkloadRestarts): string {
  return `${entry.workload} ${entry.restarts} restart(s) in ${entry.pods.size} pod(s) on ${entry.nodes.size} node(s)`;
}

function snapshotOf(pod: PodView): PodSnapshot {
  return {
    uid: pod.uid || `${pod.namespace}/${pod.name}`,
    pod: `${pod.namespace}/${pod.name}`,
    workload: workloadOf(pod),
    node: pod.node || '(unscheduled)',
    startedAt: pod.startedAt,
    containers: pod.containers.map((container) => ({ name: container.name, restarts: container.restartCount, lastEndedAt: container.lastEndedAt })),
  };
}
