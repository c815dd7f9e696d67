import assert from 'node:assert/strict';
import type { ApiResponse, KubeApi } from '../../../../src/probe/kube-api.js';
import { workloadLifecycle } from '../../../../src/probe/probes/workload-lifecycle.js';
import { ProbeCache } from '../../../../src/probe/cache.js';
import { context, filledCache } from '../../../support/probe-context.js';

/**
 * The lifecycle's requests and stages with a scripted API server and a cache the test feeds
 * as the watches would. Against the real cluster: test/e2e/probe-probes.test.ts.
 */
describe('probe/probes/workload-lifecycle', function () {
  this.timeout(20_000);
  let servers = 0;

  /** Records every request; creates answer 201, deletes 200, lists what `lists` says for the path (empty otherwise). */
  function scripted(lists: (path: string) => unknown[] = () => []): { api: KubeApi; requests: string[]; created: Array<{ kind?: string; metadata?: { name?: string; labels?: Record<string, string> } }> } {
    const requests: string[] = [];
    const created: Array<{ kind?: string; metadata?: { name?: string; labels?: Record<string, string> } }> = [];
    const answer = (status: number, body: unknown = {}): ApiResponse => ({ status, body, text: JSON.stringify(body) });
    const api = {
      // Sweeps are remembered per server: each test gets a server of its own.
      server: new URL(`https://lifecycle-${(servers += 1)}.test:6443`),
      get: async (path: string) => (requests.push(`GET ${path.split('?')[0]}`), answer(200, { items: lists(path) })),
      post: async (path: string, body: (typeof created)[number]) => (requests.push(`POST ${path}`), created.push(body), answer(201, body)),
      delete: async (path: string) => (requests.push(`DELETE ${path.split('?')[0]}`), answer(200)),
    } as unknown as KubeApi;
    return { api, requests, created };
  }

  const runOf = (created: ReturnType<typeof scripted>['created']): { name: string; id: string } => {
    const deployment = created.find((object) => object.kind === 'Deployment')!;
    return { name: deployment.metadata!.name!, id: deployment.metadata!.labels!['levee.dev/probe-run']! };
  };
  const podOf = (run: { name: string; id: string }, phase: { node?: string; ready?: boolean }) => ({
    metadata: { name: `${run.name}-abc-x1`, namespace: 'levee-system', labels: { 'levee.dev/probe': 'true', 'levee.dev/probe-run': run.id } },
    spec: { ...(phase.node ? { nodeName: phase.node } : {}) },
    status: { conditions: [{ type: 'Ready', status: phase.ready ? 'True' : 'False' }] },
  });
  const sliceOf = (run: { name: string }) => ({
    metadata: { name: `${run.name}-k2p`, namespace: 'levee-system', labels: { 'kubernetes.io/service-name': run.name } },
    endpoints: [{ addresses: ['10.0.0.9'], conditions: { ready: true } }],
  });
  const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

  it('follows its pod and endpoints in the watch cache: two creates and two deletes, no list while it waits', async () => {
    const { api, requests, created } = scripted();
    const cache = filledCache();
    const running = workloadLifecycle.run(context({}, {}, { api, cache, signal: AbortSignal.timeout(20_000) }));
    while (!created.some((object) => object.kind === 'Deployment')) await settle();
    const run = runOf(created);
    cache.apply('pods', 'upsert', podOf(run, {}));
    await settle();
    cache.apply('pods', 'upsert', podOf(run, { node: 'node-1' }));
    cache.apply('pods', 'upsert', podOf(run, { node: 'node-1', ready: true }));
    await settle();
    cache.apply('endpointslices', 'upsert', sliceOf(run));
    const outcome = await running;
    assert.equal(outcome.ok, true, outcome.message);
    assert.match(outcome.message, /^Deployment levee-system\/levee-probe-\S+ Ready with endpoints in \d+\.\d s \(replicaset .*, pods .*, scheduled .*, ready .*, endpoints .*\)$/);
    await settle();
    const sweeps = ['GET /apis/apps/v1/namespaces/levee-system/deployments', 'GET /api/v1/namespaces/levee-system/services'];
    assert.deepEqual(requests, [
      ...sweeps,
      'POST /api/v1/namespaces/levee-system/services',
      'POST /apis/apps/v1/namespaces/levee-system/deployments',
      `DELETE /apis/apps/v1/namespaces/levee-system/deployments/${run.name}`,
      `DELETE /api/v1/namespaces/levee-system/services/${run.name}`,
    ]);

    // The next run does not sweep again: leftovers come only from runs cut short.
    requests.length = 0;
    created.length = 0;
    const again = workloadLifecycle.run(context({}, {}, { api, cache, signal: AbortSignal.timeout(20_000) }));
    while (!created.some((object) => object.kind === 'Deployment')) await settle();
    const second = runOf(created);
    cache.apply('pods', 'upsert', podOf(second, { node: 'node-1', ready: true }));
    cache.apply('endpointslices', 'upsert', sliceOf(second));
    assert.equal((await again).ok, true);
    assert.equal(requests.filter((request) => request.startsWith('GET')).length, 0);
  });

  it('asks the API server once where a run stopped that never got a pod: no ReplicaSet is a controller-manager stage', async () => {
    const { api, requests } = scripted();
    const outcome = await workloadLifecycle.run(context({}, { lifecycleTimeoutSeconds: 5 }, { api, cache: filledCache(), signal: AbortSignal.timeout(15_000) }));
    assert.equal(outcome.ok, false);
    assert.equal(outcome.stage, 'replicaset');
    assert.match(outcome.message, /the Deployment never got a ReplicaSet within 5\.\d s$/);
    await settle();
    assert.deepEqual(requests.filter((request) => request.startsWith('GET') && !/deployments$|services$/.test(request)), ['GET /apis/apps/v1/namespaces/levee-system/replicasets']);
    assert.ok(requests.length <= 7, requests.join('\n'));
  });

  it('polls with a growing pause while the cache\'s watches cannot be read, and names the stage it reached', async () => {
    let run: { name: string; id: string } | undefined;
    const { api, requests, created } = scripted((path) => {
      if (/deployments|services/.test(path)) return [];
      run ??= runOf(created);
      if (path.includes('/replicasets')) return [{ metadata: { name: `${run.name}-abc` } }];
      if (path.includes('/pods')) return [podOf(run, {})];
      return [];
    });
    const unlisted = new ProbeCache();
    const outcome = await workloadLifecycle.run(context({}, { lifecycleTimeoutSeconds: 5 }, { api, cache: unlisted, signal: AbortSignal.timeout(15_000) }));
    assert.equal(outcome.ok, false);
    assert.equal(outcome.stage, 'scheduled');
    assert.match(outcome.message, /the pod was created but never scheduled to a node within 5\.\d s \(reached: replicaset .*, pods .*\)$/);
    const replicaSetLists = requests.filter((request) => request.endsWith('/replicasets')).length;
    // 0.5 + 1 + 2 s of pauses fit in 5 s, 4 s more do not: four polls and the final check, not ten polls a second.
    assert.ok(replicaSetLists >= 4 && replicaSetLists <= 5, `${replicaSetLists} polls`);
  });
});
