import { observeVerdict } from './probe-gate.js';
import { platformChangeOf, type PlatformChange } from './platform-changes.js';
import { DAEMONSETS, DEPLOYMENTS, NODES, STATEFULSETS } from './judged-kinds.js';
import type { ChangeRunView, ContextInput, JudgedKind, PolicyDefinition } from './types.js';

/**
 * probe-on-change's context: the platform change this request makes, the probe run after the
 * last platform change levee admitted, and the verdict as probe-gate sees it. Rego decides;
 * times are computed here.
 */

export interface ProbeOnChangeContext {
  change: PlatformChange;
  run: {
    state: ChangeRunView['state'];
    change: string;
    /** -1 when there is no run. */
    elapsedSeconds: number;
    /** How long until the run should have its verdict; at least 1. */
    retryAfterSeconds: number;
    verdict: string;
    reason: string;
  };
  verdict: string;
  since: string;
  failing: string[];
}

const capi = (group: string, kind: string, resource: string): JudgedKind => ({ group, version: 'v1beta2', kind, resource, namespaced: true });

export const probeOnChange: PolicyDefinition<ProbeOnChangeContext> = {
  id: 'probe-on-change',
  summary: 'platform changes (kube-system workloads, NodePools, Cluster API objects) while the probe run after the last one has no verdict yet, or found the cluster Unhealthy',
  kinds: [
    DEPLOYMENTS,
    DAEMONSETS,
    STATEFULSETS,
    NODES,
    { group: 'karpenter.sh', version: 'v1', kind: 'NodePool', resource: 'nodepools', namespaced: false },
    capi('cluster.x-k8s.io', 'Cluster', 'clusters'),
    capi('cluster.x-k8s.io', 'ClusterClass', 'clusterclasses'),
    capi('cluster.x-k8s.io', 'MachineDeployment', 'machinedeployments'),
    capi('cluster.x-k8s.io', 'MachinePool', 'machinepools'),
  ],
  buildContext: ({ request, cluster, config, now, verdict, changeRun }: ContextInput): ProbeOnChangeContext | undefined => {
    // Only `serve` tracks runs; `levee audit` judges manifests, not the moment they are applied.
    if (!verdict || !changeRun) return undefined;
    const change = platformChangeOf(request, config, cluster);
    if (!change) return undefined;
    const observed = observeVerdict(verdict.document, now, config, verdict.file);
    // The run's Unhealthy counts until serve reads a verdict newer than it (the verdict file is polled).
    const runUnhealthy =
      changeRun.state === 'done' && changeRun.verdict === 'Unhealthy' && changeRun.finishedAt !== undefined &&
      observed.verdict !== 'Unhealthy' && (!verdict.document || Date.parse(verdict.document.generatedAt) < changeRun.finishedAt.getTime());
    const elapsedSeconds = changeRun.admittedAt ? Math.max(0, (now.getTime() - changeRun.admittedAt.getTime()) / 1000) : -1;
    return {
      change,
      run: {
        state: changeRun.state,
        change: changeRun.change,
        elapsedSeconds: Math.round(elapsedSeconds),
        retryAfterSeconds: Math.max(1, Math.ceil(changeRun.expectedSeconds - Math.max(0, elapsedSeconds))),
        verdict: changeRun.verdict ?? '',
        reason: changeRun.reason ?? '',
      },
      verdict: runUnhealthy ? 'Unhealthy' : observed.verdict,
      since: runUnhealthy ? changeRun.finishedAt!.toISOString() : observed.since,
      failing: observed.failing.map((probe) => probe.probe),
    };
  },
};
