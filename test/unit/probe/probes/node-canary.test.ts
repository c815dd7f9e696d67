import assert from 'node:assert/strict';
import type { KubeApi } from '../../../../src/probe/kube-api.js';
import { nodeCanary } from '../../../../src/probe/probes/node-canary.js';
import type { KubeObject } from '../../../../src/kube/types.js';
import { context, filledCache } from '../../../support/probe-context.js';

interface Posted {
  metadata: { name: string; labels: Record<string, string>; annotations: Record<string, string> };
  spec: { template: { metadata: { labels: Record<string, string> }; spec: { affinity?: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: Array<{ matchExpressions: unknown[] }> } } }; tolerations?: unknown[] } } };
}

const node = (name: string, labels: Record<string, string>, ready = true, taints: Array<{ key: string; effect: string }> = []) => ({
  metadata: { name, labels },
  spec: { taints },
  status: { conditions: [{ type: 'Ready', status: ready ? 'True' : 'Unknown' }] },
});

const LOCAL = [
  node('ondemand-1', { 'karpenter.sh/nodepool': 'on-demand-a', 'karpenter.sh/capacity-type': 'on-demand' }),
  node('ondemand-2', { 'karpenter.sh/nodepool': 'on-demand-a', 'karpenter.sh/capacity-type': 'on-demand' }),
  node('spot-1', { 'karpenter.sh/nodepool': 'spot-a', 'karpenter.sh/capacity-type': 'spot' }, true, [{ key: 'spot', effect: 'NoSchedule' }, { key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' }]),
];

/**
 * An API server and a watch cache for the canary: records the Deployments it creates and
 * deletes; for each one, `pods` says what becomes of its pod (by pool: a node, whether
 * Running, or only a ReplicaSet), which the cache then shows as the pod watch would, and the
 * final check's lists answer alike. `watch: false` leaves the pod feed unlisted, so the
 * canary polls the API server instead.
 */
function cluster(nodes: unknown[], pods: (pool: string) => { node?: string; running?: boolean; replicaSet?: boolean } | undefined, options: { watch?: boolean } = {}) {
  const posted: Posted[] = [];
  const deleted: string[] = [];
  const gets: string[] = [];
  const cache = filledCache({ nodes });
  if (options.watch === false) cache.markBroken('pods', new Error('not listed'), Date.now());
  const podOf = (deployment: Posted) => {
    const state = pods(deployment.metadata.annotations['levee.dev/canary-pool']!);
    if (!state || (!state.node && state.replicaSet)) return undefined;
    return {
      metadata: { name: `${deployment.metadata.name}-x`, namespace: 'levee-system', uid: deployment.metadata.name, labels: deployment.spec.template.metadata.labels },
      spec: state.node ? { nodeName: state.node } : {},
      status: { phase: state.running ? 'Running' : 'Pending' },
    };
  };
  const api = {
    server: new URL('https://canary.test:6443'),
    get: async (path: string) => {
      gets.push(path.split('?')[0]!);
      if (path.includes('/pods?')) return { status: 200, body: { items: posted.flatMap((deployment) => podOf(deployment) ?? []) }, text: '' };
      if (path.includes('/replicasets?')) {
        const items = posted.filter((deployment) => pods(deployment.metadata.annotations['levee.dev/canary-pool']!)?.replicaSet).map((deployment) => ({ metadata: { labels: deployment.spec.template.metadata.labels } }));
        return { status: 200, body: { items }, text: '' };
      }
      if (path.includes('/deployments?')) return { status: 200, body: { items: [] }, text: '' };
      if (path.startsWith('/api/v1/namespaces/')) return { status: 200, body: {}, text: '' };
      throw new Error(`unexpected GET ${path}`);
    },
    post: async (_path: string, body: Posted) => {
      posted.push(body);
      const pod = podOf(body);
      // The pod watch brings it a moment later.
      if (pod && options.watch !== false) setTimeout(() => cache.apply('pods', 'upsert', pod as KubeObject), 5);
      return { status: 201, body, text: '' };
    },
    delete: async (path: string) => (deleted.push(path), { status: 200, body: {}, text: '' }),
  } as unknown as KubeApi;
  const run = (probe: Record<string, unknown> = {}) => nodeCanary.run(context({}, { canary: { timeoutSeconds: 1 }, ...probe }, { api, cache }));
  return { run, posted, deleted, gets };
}

describe('probe/probes/node-canary', () => {
  it('aims one canary Deployment at each pool, pinned by the pool label and tolerating the pool\'s own taints, and passes when each is Running there', async () => {
    const { run, posted, deleted, gets } = cluster(LOCAL, (pool) => ({ node: pool.endsWith('on-demand-a') ? 'ondemand-1' : 'spot-1', running: true }));
    const outcome = await run();
    assert.equal(outcome.ok, true, outcome.message);
    assert.match(outcome.message, /^canary Running in every pool \(karpenter\.sh\/nodepool=on-demand-a on ondemand-1 in [\d.]+ s, karpenter\.sh\/nodepool=spot-a on spot-1 in [\d.]+ s\)$/);
    assert.equal(posted.length, 2);
    const spot = posted[1]!;
    assert.equal(spot.metadata.labels['levee.dev/probe'], 'true', 'probe-gate and the sweep know it by this label');
    assert.deepEqual(spot.spec.template.spec.affinity!.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0]!.matchExpressions, [{ key: 'karpenter.sh/nodepool', operator: 'In', values: ['spot-a'] }]);
    assert.deepEqual(spot.spec.template.spec.tolerations, [{ key: 'spot', operator: 'Exists', effect: 'NoSchedule' }], 'never the node lifecycle\'s taints');
    assert.equal(posted[0]!.spec.template.spec.tolerations, undefined);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(deleted.length, 2, 'both canaries are deleted');
    assert.ok(!gets.some((path) => path.endsWith('/pods') || path.endsWith('/replicasets')), `it follows its pods in the watch cache: ${gets.join(', ')}`);
  });

  it('polls the API server for its pods while the pod watch has not listed', async () => {
    const { run, gets } = cluster(LOCAL, () => ({ node: 'x', running: true }), { watch: false });
    assert.equal((await run()).ok, true);
    assert.ok(gets.some((path) => path.endsWith('/pods')));
  });

  it('names a pool whose canary is never scheduled, with how many of its nodes are Ready; one pool of two is not critical', async () => {
    const nodes = [LOCAL[0]!, node('spot-1', { 'karpenter.sh/nodepool': 'spot-a' }, false), node('spot-2', { 'karpenter.sh/nodepool': 'spot-a' }, false)];
    const { run } = cluster(nodes, (pool) => (pool.endsWith('spot-a') ? { replicaSet: true } : { node: 'ondemand-1', running: true }));
    // The pod exists (its ReplicaSet made it) but has no node.
    const outcome = await cluster(nodes, (pool) => (pool.endsWith('on-demand-a') ? { node: 'ondemand-1', running: true } : {})).run();
    assert.equal(outcome.ok, false);
    assert.equal(outcome.stage, 'scheduled');
    assert.equal(outcome.severity, undefined);
    assert.match(outcome.message, /^canary not Running in 1 of 2 pool\(s\) within [\d.]+ s: karpenter\.sh\/nodepool=spot-a \(0 of 2 nodes Ready\): the pod was never scheduled to a node of the pool$/);
    const beforePods = await run();
    assert.equal(beforePods.stage, 'pods', 'a ReplicaSet without its pod stops at pods');
  });

  it('is critical when no pool runs its canary, and tells a pod its node never reported Running from one never made', async () => {
    const scheduled = await cluster(LOCAL, (pool) => ({ node: pool.endsWith('on-demand-a') ? 'ondemand-1' : 'spot-1', running: false })).run();
    assert.equal(scheduled.ok, false);
    assert.equal(scheduled.severity, 'critical');
    assert.equal(scheduled.stage, 'running');
    assert.match(scheduled.message, /its node never reported it Running/);
    const nothing = await cluster(LOCAL, () => undefined).run();
    assert.equal(nothing.stage, 'replicaset', 'the final check finds no ReplicaSet either');
    assert.match(nothing.message, /its Deployment never got a ReplicaSet/);
  });

  it('falls back to the Cluster API MachineDeployment label, then the capacity type, keeping off the pools found by an earlier label', async () => {
    const nodes = [
      node('md-1', { 'cluster.x-k8s.io/deployment-name': 'workers-a', 'karpenter.sh/capacity-type': 'on-demand' }),
      node('bare-1', { 'karpenter.sh/capacity-type': 'spot' }),
      node('none-1', {}),
    ];
    const { run, posted } = cluster(nodes, () => ({ node: 'x', running: true }));
    assert.equal((await run()).ok, true);
    const affinity = (index: number) => posted[index]!.spec.template.spec.affinity?.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0]!.matchExpressions ?? [];
    const byPool = Object.fromEntries(posted.map((deployment, index) => [deployment.metadata.annotations['levee.dev/canary-pool'], affinity(index)]));
    const md = byPool['cluster.x-k8s.io/deployment-name=workers-a'] as Array<{ key: string; operator: string }>;
    assert.deepEqual(md.at(-1), { key: 'cluster.x-k8s.io/deployment-name', operator: 'In', values: ['workers-a'] });
    assert.ok(md.some((term) => term.key === 'karpenter.sh/nodepool' && term.operator === 'DoesNotExist'));
    const spot = byPool['karpenter.sh/capacity-type=spot'] as Array<{ key: string; operator: string }>;
    assert.ok(spot.some((term) => term.key === 'cluster.x-k8s.io/deployment-name' && term.operator === 'DoesNotExist'));
    const none = byPool['(no pool label)'] as Array<{ key: string; operator: string }>;
    assert.ok(none.every((term) => term.operator === 'DoesNotExist'));
    assert.ok(none.some((term) => term.key === 'karpenter.sh/capacity-type'));
  });

  it('checks at most maxPools pools, the largest, and names the others; skips a cluster without nodes', async () => {
    const { run, posted } = cluster(LOCAL, () => ({ node: 'x', running: true }));
    const outcome = await run({ canary: { maxPools: 1, timeoutSeconds: 1 } });
    assert.equal(posted.length, 1);
    assert.match(outcome.message, /karpenter\.sh\/nodepool=on-demand-a on x .*; not checked: karpenter\.sh\/nodepool=spot-a$/, 'the larger pool is checked');
    const empty = await cluster([], () => undefined).run();
    assert.equal(empty.skipped, true);
  });
});
