import { PROBE_LABEL } from '../../probe-verdict.js';
import type { ProbeCache } from '../cache.js';
import { expectStatus, type KubeApi } from '../kube-api.js';
import { MACHINE_DEPLOYMENT_LABEL, nodePools, type NodePool } from '../node-pools.js';
import type { ProbeContext, ProbeDefinition, ProbeOutcome } from '../types.js';
import { listNames } from './nodes.js';
import { ensureNamespace, pause, runSuffix, seconds, sweepSoon, sweepStaleWhenDue, unreadFeeds } from './support.js';

/**
 * A canary pod aimed at each node pool: one small Deployment per pool in levee's namespace,
 * its pod pinned to the pool by node affinity, must get a pod (controller-manager), a node
 * of that pool (scheduler) and be reported Running by that node (its kubelet). A pool whose
 * canary stops short is named with the stage it reached and how many of its nodes are Ready.
 * A Deployment rather than a bare pod, because levee may create Deployments in its namespace
 * but not pods (a pod there could run as levee's service account). Leader only; cleans up.
 * It follows its pods in the watch cache (no request while it waits), and asks the API
 * server once at the end about the pools that fell short (a ReplicaSet is not watched).
 * On the local cluster the nodes are kwok's: "reported Running" is kwok setting the pod's
 * status as a kubelet would; no container runs.
 */

/** In the order a canary goes through them. */
const STAGES = ['replicaset', 'pods', 'scheduled', 'running'] as const;
type Stage = (typeof STAGES)[number];
type Progress = Stage | 'done';

const RUN_LABEL = 'levee.dev/probe-run';
const POOL_LABEL = 'levee.dev/canary-pool';

const WAITING_FOR: Record<Stage, string> = {
  replicaset: 'its Deployment never got a ReplicaSet',
  pods: 'its ReplicaSet never created the pod',
  scheduled: 'the pod was never scheduled to a node of the pool',
  running: 'the pod was scheduled but its node never reported it Running',
};

interface Pod {
  metadata?: { labels?: Record<string, string> };
  spec?: { nodeName?: string };
  status?: { phase?: string };
}

interface List<T> {
  items?: T[];
}

interface Canary {
  pool: NodePool;
  /** Its place in the run, as its pods' POOL_LABEL says it. */
  index: string;
  deployment: string;
  progress: Progress;
  node?: string;
  doneMs?: number;
}

export const nodeCanary: ProbeDefinition = {
  id: 'node-canary',
  summary: 'a canary pod aimed at each node pool is scheduled there and reported Running by its node',
  leaderOnly: true,
  feeds: ['nodes', 'pods'],
  intervalSeconds: (config) => config.probe.canary.intervalSeconds,
  timeoutSeconds: (config) => config.probe.canary.timeoutSeconds + 5,
  async run(context: ProbeContext): Promise<ProbeOutcome> {
    const { api, config, signal, cache } = context;
    const unread = await unreadFeeds(context, ['nodes']);
    if (unread) return unread;
    const spot = config.policies['spot-capacity'];
    const labels = [...spot.poolLabels, MACHINE_DEPLOYMENT_LABEL, ...spot.capacityLabels.map((rule) => rule.label)];
    const all = nodePools(cache.nodes(), labels);
    if (all.length === 0) return { ok: true, skipped: true, message: 'no nodes: no pool to aim a canary at' };
    const pools = all.slice(0, config.probe.canary.maxPools);
    const unchecked = all.slice(pools.length).map((pool) => pool.name);

    const namespace = config.leveeNamespace;
    const apps = `/apis/apps/v1/namespaces/${encodeURIComponent(namespace)}`;
    const core = `/api/v1/namespaces/${encodeURIComponent(namespace)}`;
    const id = runSuffix();
    if (!context.inCluster) await ensureNamespace(api, namespace, signal);
    await sweepStaleWhenDue(api, `${apps}/deployments`, 2 * Math.max(config.probe.canary.timeoutSeconds, config.probe.lifecycleTimeoutSeconds) * 1000, signal);

    const canaries: Canary[] = pools.map((pool, index) => ({ pool, index: String(index), deployment: `levee-canary-${id}-${index}`, progress: 'replicaset' }));
    const started = performance.now();
    try {
      for (const canary of canaries) {
        const body = deploymentBody(canary, namespace, id, config.probe.lifecycleImage);
        expectStatus(await api.post(`${apps}/deployments`, body, { signal }), `creating canary Deployment ${namespace}/${canary.deployment}`, 201);
      }
      const waiting = AbortSignal.any([signal, AbortSignal.timeout(config.probe.canary.timeoutSeconds * 1000)]);
      const mark = (): boolean => {
        for (const canary of canaries) if (canary.progress === 'done') canary.doneMs ??= performance.now() - started;
        return canaries.every((canary) => canary.progress === 'done');
      };
      if (cache.unavailable(['pods']) === undefined) {
        await cache.waitFor(() => (advance(canaries, watchedPods(cache, namespace, id)), mark() ? true : undefined), waiting);
      } else {
        for (let wait = 500; !waiting.aborted && !mark(); wait = Math.min(wait * 2, 4000)) {
          await observe(api, apps, core, id, canaries, waiting).catch((err: unknown) => {
            if (!waiting.aborted) throw err;
          });
          if (mark()) break;
          await pause(wait, waiting);
        }
      }
      // Where the ones that fell short stopped, from the API server itself: a ReplicaSet is not watched, and a watch may lag.
      if (!mark() && !signal.aborted) {
        await observe(api, apps, core, id, canaries, signal).catch(() => undefined);
        mark();
      }
    } finally {
      // Not awaited and not tied to the probe's signal: clean-up must neither delay the verdict nor be cut short.
      void Promise.allSettled(canaries.map((canary) => api.delete(`${apps}/deployments/${canary.deployment}?propagationPolicy=Background`))).then((results) => {
        if (results.some((result) => result.status === 'rejected' || ![200, 202, 404].includes(result.value.status))) sweepSoon(api, `${apps}/deployments`);
      });
    }
    return outcomeOf(canaries, unchecked, performance.now() - started);
  },
};

function outcomeOf(canaries: readonly Canary[], unchecked: readonly string[], elapsedMs: number): ProbeOutcome {
  const failed = canaries.filter((canary) => canary.progress !== 'done');
  const details = {
    pools: canaries.map((canary) => ({ pool: canary.pool.name, nodes: canary.pool.nodes.length, ready: canary.pool.ready, reached: canary.progress, ...(canary.node ? { node: canary.node } : {}) })),
    ...(unchecked.length > 0 ? { unchecked } : {}),
  };
  const notChecked = unchecked.length > 0 ? `; not checked: ${listNames(unchecked)}` : '';
  if (failed.length === 0) {
    const ran = canaries.map((canary) => `${canary.pool.name} on ${canary.node} in ${seconds(canary.doneMs ?? elapsedMs)}`);
    return { ok: true, message: `canary Running in every pool (${ran.join(', ')})${notChecked}`, details };
  }
  const lines = failed.map((canary) => `${canary.pool.name} (${canary.pool.ready} of ${canary.pool.nodes.length} nodes Ready): ${WAITING_FOR[canary.progress as Stage]}`);
  // The stage the furthest-behind canary stopped at is what the hint rules read.
  const stage = STAGES.find((candidate) => failed.some((canary) => canary.progress === candidate))!;
  return {
    ok: false,
    stage,
    // No pool runs a new pod: as bad as a failed workload lifecycle.
    ...(failed.length === canaries.length && unchecked.length === 0 ? { severity: 'critical' as const } : {}),
    message: `canary not Running in ${failed.length} of ${canaries.length} pool(s) within ${seconds(elapsedMs)}: ${lines.join('; ')}${notChecked}`,
    details,
  };
}

/** A canary pod as either source shows it. */
interface CanaryPod {
  pool: string;
  node: string;
  phase: string;
}

function watchedPods(cache: ProbeCache, namespace: string, id: string): CanaryPod[] {
  return cache
    .probePods()
    .filter((pod) => pod.namespace === namespace && pod.probeLabels?.[RUN_LABEL] === id)
    .map((pod) => ({ pool: pod.probeLabels?.[POOL_LABEL] ?? '', node: pod.node, phase: pod.phase }));
}

/**
 * Moves each canary to the first stage it has not reached. No pod reads as 'replicaset'
 * unless `replicaSets` (pool indexes whose ReplicaSet exists) says it got that far.
 */
function advance(canaries: Canary[], pods: readonly CanaryPod[], replicaSets: ReadonlySet<string> = new Set()): void {
  for (const canary of canaries) {
    if (canary.progress === 'done') continue;
    const mine = pods.filter((pod) => pod.pool === canary.index);
    if (mine.length === 0) {
      canary.progress = replicaSets.has(canary.index) ? 'pods' : 'replicaset';
      continue;
    }
    const running = mine.find((pod) => pod.node && pod.phase === 'Running');
    const scheduled = mine.find((pod) => pod.node);
    if (running) {
      canary.progress = 'done';
      canary.node = running.node;
    } else {
      canary.progress = scheduled ? 'running' : 'scheduled';
      if (scheduled) canary.node = scheduled.node;
    }
  }
}

/** The canaries' stages from the API server: one pod list for all, a ReplicaSet list only while some has no pod. */
async function observe(api: KubeApi, apps: string, core: string, id: string, canaries: Canary[], signal: AbortSignal): Promise<void> {
  const selector = encodeURIComponent(`${RUN_LABEL}=${id}`);
  const listed = expectStatus(await api.get<List<Pod>>(`${core}/pods?labelSelector=${selector}`, { signal }), 'listing canary pods', 200).body.items ?? [];
  const pods = listed.map((pod) => ({ pool: pod.metadata?.labels?.[POOL_LABEL] ?? '', node: pod.spec?.nodeName ?? '', phase: pod.status?.phase ?? '' }));
  const withoutPod = canaries.some((canary) => canary.progress !== 'done' && !pods.some((pod) => pod.pool === canary.index));
  const replicaSets = new Set<string>();
  if (withoutPod) {
    const sets = expectStatus(await api.get<List<{ metadata?: { labels?: Record<string, string> } }>>(`${apps}/replicasets?labelSelector=${selector}`, { signal }), 'listing canary ReplicaSets', 200);
    for (const set of sets.body.items ?? []) replicaSets.add(set.metadata?.labels?.[POOL_LABEL] ?? '');
  }
  advance(canaries, pods, replicaSets);
}

function deploymentBody(canary: Canary, namespace: string, id: string, image: string): unknown {
  const labels = { [PROBE_LABEL]: 'true', [RUN_LABEL]: id, [POOL_LABEL]: canary.index };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: canary.deployment, namespace, labels, annotations: { 'levee.dev/canary-pool': canary.pool.name } },
    spec: {
      replicas: 1,
      selector: { matchLabels: { [RUN_LABEL]: id, [POOL_LABEL]: canary.index } },
      template: {
        metadata: { labels },
        spec: {
          terminationGracePeriodSeconds: 0,
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          ...(canary.pool.affinity.length > 0
            ? { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: canary.pool.affinity }] } } } }
            : {}),
          ...(canary.pool.tolerations.length > 0 ? { tolerations: canary.pool.tolerations } : {}),
          containers: [{ name: 'canary', image, resources: { requests: { cpu: '1m', memory: '8Mi' }, limits: { memory: '16Mi' } } }],
        },
      },
    },
  };
}
