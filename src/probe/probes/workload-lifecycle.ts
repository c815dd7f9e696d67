import type { ProbeCache } from '../cache.js';
import type { KubeApi } from '../kube-api.js';
import { expectStatus } from '../kube-api.js';
import type { ProbeContext, ProbeDefinition, ProbeOutcome } from '../types.js';
import { PROBE_LABEL } from '../../probe-verdict.js';
import { ensureNamespace, pause, runSuffix, seconds, sweepSoon, sweepStaleWhenDue } from './support.js';

/**
 * A workload's whole life, as a deploy would live it: a one-replica Deployment and a Service
 * in levee's namespace must get a ReplicaSet (controller-manager), a pod (controller-manager),
 * a node (scheduler), Ready (kubelet), and an EndpointSlice endpoint (controller-manager).
 * The stage where it stops is what the root-cause hint names. Leader only; cleans up after itself.
 *
 * It follows its pod and its Service's EndpointSlices in the watch cache, so waiting costs no
 * request however long it takes; while those watches cannot be read it polls instead, with a
 * growing pause. A run that does not finish within `lifecycleTimeoutSeconds` asks the API
 * server once where it stopped (a ReplicaSet is not watched: that check tells "no ReplicaSet"
 * from "no pod").
 */

const RUN_LABEL = 'levee.dev/probe-run';
/** The polls while the watches cannot be read: 0.5 s, then doubled up to 8 s. */
const POLL_FIRST_MS = 500;
const POLL_MAX_MS = 8000;
/** Past the wait: time for the check that names the stage, and for the clean-up to be sent. */
const CHECK_SECONDS = 5;

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

/** One run's objects: where they are, and how to find them. */
interface Run {
  namespace: string;
  name: string;
  id: string;
  apps: string;
  core: string;
}

export const workloadLifecycle: ProbeDefinition = {
  id: 'workload-lifecycle',
  summary: 'a one-replica Deployment behind a Service goes Ready and gets endpoints, then is deleted',
  leaderOnly: true,
  feeds: ['pods', 'endpointslices'],
  timeoutSeconds: (config) => config.probe.lifecycleTimeoutSeconds + CHECK_SECONDS,
  async run(context: ProbeContext): Promise<ProbeOutcome> {
    const { api, config, signal, cache } = context;
    const namespace = config.leveeNamespace;
    const id = runSuffix();
    const name = `levee-probe-${id}`;
    const run: Run = { namespace, name, id, apps: `/apis/apps/v1/namespaces/${encodeURIComponent(namespace)}`, core: `/api/v1/namespaces/${encodeURIComponent(namespace)}` };
    const labels = { [PROBE_LABEL]: 'true', [RUN_LABEL]: id };

    const maxAgeMs = 2 * config.probe.lifecycleTimeoutSeconds * 1000;
    await sweepStaleWhenDue(api, `${run.apps}/deployments`, maxAgeMs, signal);
    await sweepStaleWhenDue(api, `${run.core}/services`, maxAgeMs, signal);

    const started = performance.now();
    const reached: Partial<Record<Stage, number>> = {};
    const note = (progress: Progress): void => {
      for (const done of stagesBefore(progress)) reached[done] ??= performance.now() - started;
    };
    try {
      await create(context, run, `${run.core}/services`, serviceBody(name, namespace, labels, id), `Service ${namespace}/${name}`);
      await create(context, run, `${run.apps}/deployments`, deploymentBody(name, namespace, labels, id, config.probe.lifecycleImage), `Deployment ${namespace}/${name}`);

      const waiting = AbortSignal.any([signal, AbortSignal.timeout(config.probe.lifecycleTimeoutSeconds * 1000)]);
      let progress = cache.unavailable(['pods', 'endpointslices']) === undefined ? await watchUntilDone(cache, run, waiting, note) : await pollUntilDone(api, run, waiting, note);
      let how = '';
      if (progress !== 'done' && !signal.aborted) {
        // Where it stopped, from the API server itself: a ReplicaSet is not watched, and a watch may lag.
        const checked = await currentStage(api, run, signal).catch(() => progress);
        note(checked);
        if (checked === 'done') how = ', seen by the final check';
        progress = checked;
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
      return { ok: true, message: `Deployment ${namespace}/${name} Ready with endpoints in ${seconds(elapsed)} (${timeline}${how})`, details: { reached } };
    } finally {
      // Not awaited and not tied to the probe's signal: clean-up must neither delay the verdict nor be cut short.
      void cleanUp(api, run);
    }
  },
};

/** Creates one of the run's objects; on a host, makes levee's namespace first if it has gone. */
async function create(context: ProbeContext, run: Run, collection: string, body: unknown, what: string): Promise<void> {
  const { api, signal } = context;
  let created = await api.post(collection, body, { signal });
  if (created.status === 404 && !context.inCluster) {
    await ensureNamespace(api, run.namespace, signal);
    created = await api.post(collection, body, { signal });
  }
  expectStatus(created, `creating ${what}`, 201);
}

const ORDER: Progress[] = ['replicaset', 'pods', 'scheduled', 'ready', 'endpoints', 'done'];

function stagesBefore(stage: Progress): Stage[] {
  return ORDER.slice(0, ORDER.indexOf(stage)) as Stage[];
}

/**
 * How far the run got, as the cache shows it. No pod yet reads as 'replicaset': the cache has
 * no ReplicaSets, so whether one exists is left to the final check.
 */
function watchedStage(cache: ProbeCache, run: Run): Progress {
  const pods = cache.probePods().filter((pod) => pod.namespace === run.namespace && pod.probeLabels?.[RUN_LABEL] === run.id);
  if (pods.length === 0) return 'replicaset';
  if (!pods.some((pod) => pod.node)) return 'scheduled';
  if (!pods.some((pod) => pod.ready)) return 'ready';
  return cache.slicesOf(run.namespace, run.name).some((slice) => slice.readyEndpoints > 0) ? 'done' : 'endpoints';
}

/** Follows the run in the cache until it is done or `signal` aborts; no request. */
async function watchUntilDone(cache: ProbeCache, run: Run, signal: AbortSignal, note: (progress: Progress) => void): Promise<Progress> {
  let progress: Progress = 'replicaset';
  await cache.waitFor(() => {
    progress = watchedStage(cache, run);
    if (progress !== 'replicaset') note(progress);
    return progress === 'done' ? true : undefined;
  }, signal);
  return progress;
}

/** Asks the API server where the run is, with a growing pause, until it is done or `signal` aborts. */
async function pollUntilDone(api: KubeApi, run: Run, signal: AbortSignal, note: (progress: Progress) => void): Promise<Progress> {
  let progress: Progress = 'replicaset';
  for (let pauseMs = POLL_FIRST_MS; !signal.aborted; pauseMs = Math.min(POLL_MAX_MS, pauseMs * 2)) {
    const previous: Progress = progress;
    progress = await currentStage(api, run, signal).catch((err: unknown): Progress => {
      if (signal.aborted) return previous;
      throw err;
    });
    note(progress);
    if (progress === 'done') break;
    await pause(pauseMs, signal);
  }
  return progress;
}

/** The first stage not yet reached, or 'done', from the API server: one to three label-selected lists. */
async function currentStage(api: KubeApi, run: Run, signal: AbortSignal): Promise<Progress> {
  const selector = encodeURIComponent(`${RUN_LABEL}=${run.id}`);
  const { apps, core, name } = run;
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

async function cleanUp(api: KubeApi, run: Run): Promise<void> {
  const collections = [`${run.apps}/deployments`, `${run.core}/services`];
  const results = await Promise.allSettled([
    api.delete(`${collections[0]}/${run.name}?propagationPolicy=Background`),
    api.delete(`${collections[1]}/${run.name}`),
  ]);
  results.forEach((result, i) => {
    if (result.status === 'rejected' || ![200, 202, 404].includes(result.value.status)) sweepSoon(api, collections[i]!);
  });
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
