import type { KubeApi } from '../kube-api.js';
import { expectStatus } from '../kube-api.js';
import type { ProbeContext, ProbeDefinition, ProbeOutcome } from '../types.js';
import { PROBE_LABEL } from '../../probe-verdict.js';
import { ensureNamespace, pause, runSuffix, seconds, sweepStale } from './support.js';

/**
 * A workload's whole life, as a deploy would live it: a one-replica Deployment and a Service
 * in levee's namespace must get a ReplicaSet (controller-manager), a pod (controller-manager),
 * a node (scheduler), Ready (kubelet), and an EndpointSlice endpoint (controller-manager).
 * The stage where it stops is what the root-cause hint names. Leader only; cleans up after itself.
 */

const RUN_LABEL = 'levee.dev/probe-run';
const POLL_MS = 500;

type Stage = 'replicaset' | 'pods' | 'scheduled' | 'ready' | 'endpoints';
type Progress = Stage | 'done';

const WAITING_FOR: Record<Stage, string> = {
  replicaset: 'the Deployment never got a ReplicaSet',
  pods: 'the ReplicaSet never created a pod',
  scheduled: 'the pod was created but never scheduled to a node',
  ready: 'the pod was scheduled but never became Ready',
  endpoints: 'the pod is Ready but the Service never got a ready endpoint',
};

interface Pod {
  spec?: { nodeName?: string };
  status?: { conditions?: Array<{ type: string; status: string }> };
}

interface List<T> {
  items?: T[];
}

interface Slice {
  endpoints?: Array<{ addresses?: string[]; conditions?: { ready?: boolean | null } }>;
}

export const workloadLifecycle: ProbeDefinition = {
  id: 'workload-lifecycle',
  summary: 'a one-replica Deployment behind a Service goes Ready and gets endpoints, then is deleted',
  leaderOnly: true,
  timeoutSeconds: (config) => config.probe.lifecycleTimeoutSeconds,
  async run(context: ProbeContext): Promise<ProbeOutcome> {
    const { api, config, signal } = context;
    const namespace = config.leveeNamespace;
    const id = runSuffix();
    const name = `levee-probe-${id}`;
    const apps = `/apis/apps/v1/namespaces/${encodeURIComponent(namespace)}`;
    const core = `/api/v1/namespaces/${encodeURIComponent(namespace)}`;
    const labels = { [PROBE_LABEL]: 'true', [RUN_LABEL]: id };
    const selector = encodeURIComponent(`${RUN_LABEL}=${id}`);

    if (!context.inCluster) await ensureNamespace(api, namespace, signal);
    const maxAgeMs = 2 * config.probe.lifecycleTimeoutSeconds * 1000;
    await sweepStale(api, `${apps}/deployments`, maxAgeMs, signal);
    await sweepStale(api, `${core}/services`, maxAgeMs, signal);

    const started = performance.now();
    const reached: Partial<Record<Stage, number>> = {};
    try {
      expectStatus(await api.post(`${core}/services`, serviceBody(name, namespace, labels, id), { signal }), `creating Service ${namespace}/${name}`, 201);
      expectStatus(await api.post(`${apps}/deployments`, deploymentBody(name, namespace, labels, id, config.probe.lifecycleImage), { signal }), `creating Deployment ${namespace}/${name}`, 201);

      let progress: Progress = 'replicaset';
      while (!signal.aborted) {
        const previous: Progress = progress;
        progress = await currentStage(api, apps, core, name, selector, signal).catch((err: unknown) => {
          if (signal.aborted) return previous;
          throw err;
        });
        for (const done of stagesBefore(progress)) reached[done] ??= performance.now() - started;
        if (progress === 'done') break;
        await pause(POLL_MS, signal);
      }
      const elapsed = performance.now() - started;
      const timeline = (Object.entries(reached) as Array<[Stage, number]>).map(([step, ms]) => `${step} ${seconds(ms)}`).join(', ');
      if (progress !== 'done') {
        return {
          ok: false,
          stage: progress,
          message: `Deployment ${namespace}/${name}: ${WAITING_FOR[progress]} within ${seconds(elapsed)}${timeline ? ` (reached: ${timeline})` : ''}`,
          details: { reached },
        };
      }
      return { ok: true, message: `Deployment ${namespace}/${name} Ready with endpoints in ${seconds(elapsed)} (${timeline})`, details: { reached } };
    } finally {
      // Not awaited and not tied to the probe's signal: clean-up must neither delay the verdict nor be cut short.
      void cleanUp(api, apps, core, name);
    }
  },
};

const ORDER: Progress[] = ['replicaset', 'pods', 'scheduled', 'ready', 'endpoints', 'done'];

function stagesBefore(stage: Progress): Stage[] {
  return ORDER.slice(0, ORDER.indexOf(stage)) as Stage[];
}

/** The first stage not yet reached, or 'done'. */
async function currentStage(api: KubeApi, apps: string, core: string, name: string, selector: string, signal: AbortSignal): Promise<Progress> {
  const replicaSets = expectStatus(await api.get<List<unknown>>(`${apps}/replicasets?labelSelector=${selector}`, { signal }), 'listing ReplicaSets', 200);
  if ((replicaSets.body.items ?? []).length === 0) return 'replicaset';
  const pods = expectStatus(await api.get<List<Pod>>(`${core}/pods?labelSelector=${selector}`, { signal }), 'listing pods', 200).body.items ?? [];
  if (pods.length === 0) return 'pods';
  if (!pods.some((pod) => pod.spec?.nodeName)) return 'scheduled';
  const ready = pods.some((pod) => pod.status?.conditions?.some((condition) => condition.type === 'Ready' && condition.status === 'True'));
  if (!ready) return 'ready';
  const slices = expectStatus(
    await api.get<List<Slice>>(`${core.replace('/api/v1/', '/apis/discovery.k8s.io/v1/')}/endpointslices?labelSelector=${encodeURIComponent(`kubernetes.io/service-name=${name}`)}`, { signal }),
    'listing EndpointSlices',
    200,
  ).body.items ?? [];
  const endpoint = slices.some((slice) => (slice.endpoints ?? []).some((e) => (e.addresses ?? []).length > 0 && e.conditions?.ready !== false));
  return endpoint ? 'done' : 'endpoints';
}

async function cleanUp(api: KubeApi, apps: string, core: string, name: string): Promise<void> {
  await Promise.allSettled([
    api.delete(`${apps}/deployments/${name}?propagationPolicy=Background`),
    api.delete(`${core}/services/${name}`),
  ]);
}

function serviceBody(name: string, namespace: string, labels: Record<string, string>, id: string): unknown {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace, labels },
    spec: { selector: { [RUN_LABEL]: id }, ports: [{ port: 80, targetPort: 8080 }] },
  };
}

function deploymentBody(name: string, namespace: string, labels: Record<string, string>, id: string, image: string): unknown {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace, labels },
    spec: {
      replicas: 1,
      selector: { matchLabels: { [RUN_LABEL]: id } },
      template: {
        metadata: { labels },
        spec: {
          terminationGracePeriodSeconds: 0,
          automountServiceAccountToken: false,
          containers: [{ name: 'pause', image, resources: { requests: { cpu: '1m', memory: '8Mi' }, limits: { memory: '16Mi' } } }],
        },
      },
    },
  };
}
