import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildConfig } from '../../../src/config.js';
import { createLogger } from '../../../src/logger.js';
import { ProbeCache } from '../../../src/probe/cache.js';
import { KubeApi } from '../../../src/probe/kube-api.js';
import { ProbeLoop, type ProbeLoopOptions } from '../../../src/probe/loop.js';
import { ProbeMetrics } from '../../../src/probe/metrics.js';
import type { VerdictDocument } from '../../../src/probe-verdict.js';
import type { ProbeDefinition } from '../../../src/probe/types.js';
import { kubeconfigFor } from '../../support/kubeconfig.js';
import { filledCache } from '../../support/probe-context.js';
import { customProbeDefinitions } from '../../../src/probe/custom/probes.js';
import { nodeHealth } from '../../../src/probe/probes/node-health.js';
import { createRestartBurst } from '../../../src/probe/probes/restart-burst.js';
import { statusOf } from '../../../src/probe-verdict-status.js';
import type { ProbeOutcome } from '../../../src/probe/types.js';

const silent = createLogger('silent');

/** Waits until `check` holds, for at most 10 s. */
async function until(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not reached within 10 s');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('probe/loop', () => {
  let server: Server;
  let api: KubeApi;
  let gets: string[];
  /** Answers by path; anything else gets a one-item list. */
  let routes: Map<string, { status: number; body: unknown }>;

  beforeEach(async () => {
    gets = [];
    routes = new Map();
    server = createServer((req, res) => {
      gets.push(req.url ?? '');
      const route = routes.get(req.url ?? '');
      if (route) return void res.writeHead(route.status, { 'Content-Type': 'application/json' }).end(JSON.stringify(route.body));
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"items":[{"metadata":{"name":"n1"}}]}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const kubeconfig = kubeconfigFor(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    api = new KubeApi(kubeconfig, 2000);
  });

  afterEach(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  function loop(probes: ProbeDefinition[], extra: Partial<ProbeLoopOptions> = {}, probeConfig: Record<string, unknown> = {}): ProbeLoop {
    const config = buildConfig({ probe: { timeoutSeconds: 1, intervalSeconds: 3600, ...probeConfig } });
    return new ProbeLoop({ config, api, cache: new ProbeCache(), probes, logger: silent, identity: 'test-1', isLeader: () => true, inCluster: false, graceMs: 100, ...extra });
  }

  it('fails a probe that runs past its deadline and still finishes the run, even when the probe ignores its signal', async () => {
    const stubborn: ProbeDefinition = { id: 'etcd', summary: 'never answers', run: () => new Promise(() => undefined) };
    const polite: ProbeDefinition = {
      id: 'dns',
      summary: 'stops when told',
      run: ({ signal }) => new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason as Error))),
    };
    const quick: ProbeDefinition = { id: 'scheduler', summary: 'fine', run: async () => ({ ok: true, message: 'fine' }) };
    const started = Date.now();
    const document = await loop([stubborn, polite, quick]).execute(['test']);
    const elapsed = Date.now() - started;
    assert.ok(elapsed < 3000, `the run took ${elapsed} ms`);
    const byId = Object.fromEntries(document.probes.map((probe) => [probe.probe, probe]));
    assert.equal(byId.etcd!.lastOk, false);
    assert.match(byId.etcd!.message, /context deadline exceeded: etcd did not stop within 1 s/);
    assert.match(byId.etcd!.hint ?? '', /etcd/);
    assert.equal(byId.dns!.lastOk, false);
    assert.match(byId.dns!.message, /context deadline exceeded: dns ran past its 1 s timeout/);
    assert.equal(byId.scheduler!.lastOk, true);
  });

  it('turns a thrown error into a failed result with its message and a hint', async () => {
    const broken: ProbeDefinition = { id: 'api-write-path', summary: 'x', run: async () => { throw new Error('POST /api/v1/namespaces/levee-system/configmaps: connection refused (connect ECONNREFUSED)'); } };
    const document = await loop([broken], {}, { failuresToUnhealthy: 1 }).execute(['test']);
    assert.equal(document.verdict, 'Unhealthy');
    assert.match(document.probes[0]!.message, /connection refused/);
    assert.match(document.probes[0]!.hint ?? '', /kube-apiserver running/);
  });

  const PUBLISHED = '/apis/levee.dev/v1alpha1/probeverdicts/cluster';

  function published(lastProbeTime: Date, lifecycle: { status: string; message: string; hint?: string }): { status: number; body: unknown } {
    return {
      status: 200,
      body: {
        metadata: { name: 'cluster' },
        status: {
          verdict: lifecycle.status === 'Failing' ? 'Unhealthy' : 'Healthy',
          lastProbeTime: lastProbeTime.toISOString(),
          reporter: 'leader-1',
          failing: lifecycle.status === 'Failing' ? 'workload-lifecycle' : '-',
          probes: [{ name: 'workload-lifecycle', critical: true, checkedAt: lastProbeTime.toISOString(), ...lifecycle }],
        },
      },
    };
  }

  it('never skips a leader-only probe on a follower: with no leader verdict published it runs it; disabled probes stay out', async () => {
    routes.set(PUBLISHED, { status: 404, body: { kind: 'Status', code: 404 } });
    let ran = 0;
    const heavy: ProbeDefinition = { id: 'workload-lifecycle', summary: 'x', leaderOnly: true, run: async () => ((ran += 1), { ok: false, message: 'the pod was created but never scheduled' }) };
    const off: ProbeDefinition = { id: 'restart-burst', summary: 'x', run: async () => ((ran += 1), { ok: false, message: 'x' }) };
    const document = await loop([heavy, off], { isLeader: () => false }, { disabled: ['restart-burst'], failuresToUnhealthy: 1 }).execute(['test']);
    assert.equal(ran, 1);
    assert.deepEqual(document.probes.map((probe) => [probe.probe, probe.status]), [['workload-lifecycle', 'Failing']]);
    assert.equal(document.leader, false);
    assert.equal(document.verdict, 'Unhealthy');
  });

  it("takes a leader-only probe's result from the leader's fresh ProbeVerdict on a follower, at once and with its hint", async () => {
    routes.set(PUBLISHED, published(new Date(), { status: 'Failing', message: 'Deployment levee-system/levee-probe-x: the pod was created but never scheduled', hint: 'is kube-scheduler running?' }));
    let ran = 0;
    const heavy: ProbeDefinition = { id: 'workload-lifecycle', summary: 'x', leaderOnly: true, run: async () => ((ran += 1), { ok: true, message: 'fine' }) };
    const follower = loop([heavy], { isLeader: () => false });
    const document = await follower.execute(['test']);
    assert.equal(ran, 0);
    // The leader already applied hysteresis: one copied failure is a failure (failuresToUnhealthy is 2 here).
    assert.equal(document.verdict, 'Unhealthy');
    const result = document.probes[0]!;
    assert.equal(result.status, 'Failing');
    assert.equal(result.critical, true);
    assert.match(result.message, /never scheduled \(as the leader leader-1 saw it at /);
    assert.equal(result.hint, 'is kube-scheduler running?');

    routes.set(PUBLISHED, published(new Date(), { status: 'Passing', message: 'fine' }));
    assert.equal((await follower.execute(['test'])).verdict, 'Healthy');
    assert.equal(ran, 0);
  });

  it("runs a leader-only probe itself when the leader's verdict is stale, and on the leader", async () => {
    routes.set(PUBLISHED, published(new Date(Date.now() - 600_000), { status: 'Passing', message: 'fine long ago' }));
    let ran = 0;
    const heavy: ProbeDefinition = { id: 'workload-lifecycle', summary: 'x', leaderOnly: true, run: async () => ((ran += 1), { ok: true, message: 'fine now' }) };
    const follower = await loop([heavy], { isLeader: () => false }).execute(['test']);
    assert.equal(ran, 1);
    assert.equal(follower.probes[0]!.message, 'fine now');
    routes.set(PUBLISHED, published(new Date(), { status: 'Failing', message: 'someone else' }));
    const leader = await loop([heavy], { isLeader: () => true }).execute(['test']);
    assert.equal(ran, 2);
    assert.equal(leader.probes[0]!.message, 'fine now');
  });

  it('starts the cache feeds of the probes it runs, and not those of disabled probes, and runs them without listing', async () => {
    const cache = new ProbeCache();
    const reader = (id: 'version-skew' | 'restart-burst', feed: 'nodes' | 'pods'): ProbeDefinition => ({
      id,
      summary: 'x',
      feeds: [feed],
      run: async (context) => ({ ok: true, message: `${context.cache.size(feed)} held` }),
    });
    const probes = loop([reader('version-skew', 'nodes'), reader('restart-burst', 'pods')], { cache }, { disabled: ['restart-burst'] });
    probes.start();
    await probes.trigger('test');
    await probes.stop();
    assert.equal(cache.feedHealth('nodes').started, true);
    assert.equal(cache.feedHealth('pods').started, false);
    assert.deepEqual(gets, [], 'the probes read the cache, the loop lists nothing');
  });

  it("publishes a fast probe's failure while a slow probe is still running", async () => {
    let slowRuns = 0;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const slow: ProbeDefinition = { id: 'workload-lifecycle', summary: 'x', run: async () => ((slowRuns += 1) > 1 ? (await gate, { ok: true, message: 'ok' }) : { ok: true, message: 'ok' }) };
    let fastRuns = 0;
    const fast: ProbeDefinition = { id: 'scheduler', summary: 'x', run: async () => ((fastRuns += 1) > 1 ? { ok: false, message: 'Lease not renewed' } : { ok: true, message: 'ok' }) };
    const seen: VerdictDocument[] = [];
    const probes = loop([slow, fast], { onVerdict: (document) => void seen.push(document) }, { failuresToUnhealthy: 1 });
    assert.equal((await probes.execute(['first'])).verdict, 'Healthy');
    const both = probes.trigger('again');
    await until(() => seen.some((document) => document.verdict === 'Unhealthy'));
    assert.equal(slowRuns, 2, 'the slow probe is still in its second run');
    const unhealthy = seen.find((document) => document.verdict === 'Unhealthy')!;
    assert.deepEqual(unhealthy.failing, ['scheduler']);
    release();
    assert.equal((await both).verdict, 'Unhealthy');
  });

  it('checks a probe that failed once again after recheckSeconds, not after the interval', async () => {
    const failing: ProbeDefinition = { id: 'controller-manager', summary: 'x', run: async () => ({ ok: false, message: 'Lease not renewed' }) };
    const seen: VerdictDocument[] = [];
    // intervalSeconds is an hour: only the recheck can bring the second failure hysteresis needs.
    const probes = loop([failing], { onVerdict: (document) => void seen.push(document) }, { failuresToUnhealthy: 2, recheckSeconds: 0.1 });
    probes.start();
    await until(() => seen.some((document) => document.verdict === 'Unhealthy'));
    await probes.stop();
    assert.equal(seen[0]!.verdict, 'Healthy');
    assert.equal(seen.find((document) => document.verdict === 'Unhealthy')!.probes[0]!.consecutiveFailures, 2);
  });

  it('merges triggers that arrive during a run into one follow-up run, and hands each verdict to onVerdict', async () => {
    let runs = 0;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const slow: ProbeDefinition = {
      id: 'etcd',
      summary: 'x',
      run: async () => {
        runs++;
        if (runs === 1) await gate;
        return { ok: true, message: 'ok' };
      },
    };
    const seen: VerdictDocument[] = [];
    const probes = loop([slow], { onVerdict: (document) => void seen.push(document) });
    const first = probes.trigger('schedule');
    await new Promise((resolve) => setTimeout(resolve, 20));
    const second = probes.trigger('node ondemand-1 NotReady');
    const third = probes.trigger('POST /run');
    release();
    const [a, b, c] = await Promise.all([first, second, third]);
    assert.equal(runs, 2, 'triggers during a run share the next run');
    assert.equal(a.run, 1);
    assert.equal(b.run, 2);
    assert.equal(c, b);
    assert.deepEqual(seen.map((document) => document.run), [1, 2]);
    await probes.stop();
  });

  it('keeps running when recording a verdict fails', async () => {
    const fine: ProbeDefinition = { id: 'etcd', summary: 'x', run: async () => ({ ok: true, message: 'ok' }) };
    const probes = loop([fine], { onVerdict: () => { throw new Error('disk full'); } });
    assert.equal((await probes.execute(['a'])).run, 1);
    assert.equal((await probes.execute(['b'])).run, 2);
    assert.equal(probes.latest?.run, 2);
  });

  it('runs the hint tree over all failing probes and recent triggers: no Ready node, not the scheduler, is the cause of an unscheduled pod', async () => {
    const notReady = [{ name: 'spot-1', reason: 'NodeStatusUnknown' }, { name: 'spot-2', reason: 'NodeStatusUnknown' }];
    const nodes: ProbeDefinition = {
      id: 'node-health',
      summary: 'x',
      run: async () => ({ ok: false, severity: 'critical', stage: 'none-ready', message: 'no node is Ready: spot-1, spot-2', details: { total: 2, ready: 0, notReady, joining: [] } }),
    };
    const lifecycle: ProbeDefinition = { id: 'workload-lifecycle', summary: 'x', run: async () => ({ ok: false, stage: 'scheduled', message: 'the pod was created but never scheduled to a node' }) };
    const scheduler: ProbeDefinition = { id: 'scheduler', summary: 'x', run: async () => ({ ok: true, message: 'Lease renewed 1 s ago' }) };
    const probes = loop([nodes, lifecycle, scheduler], {}, { failuresToUnhealthy: 1 });
    const document = await probes.trigger('node spot-1 NotReady');
    assert.equal(document.verdict, 'Unhealthy');
    assert.equal(document.cause?.rule, 'no-ready-nodes');
    assert.match(document.cause!.message, /^no node is Ready \(2 NotReady: spot-1, spot-2; NodeStatusUnknown\); first seen 0 s ago: node spot-1 NotReady; no new pod can start/);
    const hint = document.probes.find((result) => result.probe === 'workload-lifecycle')!.hint!;
    assert.equal(hint, document.cause!.message);
    assert.doesNotMatch(hint, /kube-scheduler/);
    await probes.stop();
  });

  it('counts a change of the failing set under the same verdict in levee_probe_failing_set_changes_total', async () => {
    let dnsFails = false;
    const cm: ProbeDefinition = { id: 'controller-manager', summary: 'x', run: async () => ({ ok: false, message: 'Lease not renewed' }) };
    const dns: ProbeDefinition = { id: 'dns', summary: 'x', run: async () => (dnsFails ? { ok: false, message: 'no answer' } : { ok: true, message: 'ok' }) };
    const metrics = new ProbeMetrics();
    const probes = loop([cm, dns], { metrics }, { failuresToUnhealthy: 1, successesToHealthy: 1 });
    assert.equal((await probes.execute(['a'])).verdict, 'Unhealthy');
    dnsFails = true;
    const both = await probes.execute(['b']);
    assert.deepEqual([both.verdict, both.failing], ['Unhealthy', ['controller-manager', 'dns']]);
    const text = await metrics.registry.metrics();
    assert.match(text, /^levee_probe_failing_set_changes_total\{verdict="Unhealthy"\} 1$/m);
    assert.match(text, /^levee_probe_failing_set_changes_total\{verdict="Healthy"\} 0$/m);
    assert.match(text, /^levee_probe_failing_probes\{severity="critical"\} 2$/m);
    await probes.stop();
  });

  describe('the hint tree, attacked through the loop (real node-health and restart-burst over a filled cache)', () => {
    const longAgo = '2026-01-01T00:00:00Z';
    /** A node created long ago (not joining), Ready or not, in a pool. */
    const clusterNode = (name: string, ready: boolean, pool: string) => ({
      metadata: { name, creationTimestamp: longAgo, labels: { 'karpenter.sh/nodepool': pool } },
      status: { conditions: [{ type: 'Ready', status: ready ? 'True' : 'Unknown', reason: ready ? 'KubeletReady' : 'NodeStatusUnknown' }] },
    });
    const fixed = (id: ProbeDefinition['id'], outcome: ProbeOutcome): ProbeDefinition => ({ id, summary: 'x', run: async () => outcome });
    const byProbe = (document: VerdictDocument, probe: string) => document.probes.find((result) => result.probe === probe)!;
    const NINE = ['ondemand-1', 'ondemand-2', 'ondemand-3', 'ondemand-4', 'ondemand-5', 'spot-1', 'spot-2', 'spot-3', 'spot-4'];

    it('all nine nodes NotReady and kube-scheduler dead: the nodes are the cause of the unscheduled pod; the scheduler keeps its own, named failure', async () => {
      const cache = filledCache({ nodes: NINE.map((name) => clusterNode(name, false, name.replace(/-\d$/, ''))) });
      const probes = loop(
        [
          nodeHealth,
          fixed('scheduler', { ok: false, message: 'Lease kube-system/kube-scheduler last renewed 48 s ago (duration 15 s)' }),
          fixed('workload-lifecycle', { ok: false, stage: 'scheduled', message: 'the pod was created but never scheduled to a node' }),
        ],
        { cache },
        { failuresToUnhealthy: 1 },
      );
      await probes.trigger('Lease kube-system/kube-scheduler not renewed');
      const document = await probes.trigger('node spot-1 NotReady');
      assert.equal(document.verdict, 'Unhealthy');
      assert.equal(document.cause?.rule, 'no-ready-nodes', JSON.stringify(document.cause));
      assert.match(document.cause!.message, /^no node is Ready \(9 NotReady: ondemand-1, .*; NodeStatusUnknown\); first seen \d+ s ago: node spot-1 NotReady; /);
      assert.deepEqual([...document.cause!.explains].sort(), ['node-health', 'workload-lifecycle']);
      assert.match(byProbe(document, 'workload-lifecycle').hint!, /^no node is Ready/);
      assert.doesNotMatch(byProbe(document, 'workload-lifecycle').hint!, /scheduler/);
      // The scheduler is a second fault, not explained away by the nodes: its hint names it and the trigger that saw it.
      assert.match(byProbe(document, 'scheduler').hint!, /^kube-scheduler is not renewing its leader Lease; first seen \d+ s ago: Lease kube-system\/kube-scheduler not renewed; .*is kube-scheduler running\?$/);
      assert.equal(byProbe(document, 'node-health').severity, 'critical');
      assert.match(statusOf(document).message!, /^cause: no node is Ready .*; node-health: no node is Ready: .*; scheduler: Lease .* \(hint: kube-scheduler is not renewing/);
      await probes.stop();
    });

    it('one pool\'s nodes NotReady only: Degraded, not Unhealthy; the cause names that pool\'s nodes, and the lifecycle (on a Ready pool) passes', async () => {
      const nodes = [...['ondemand-1', 'ondemand-2', 'ondemand-3', 'ondemand-4', 'ondemand-5', 'ondemand-6', 'ondemand-7', 'ondemand-8'].map((name) => clusterNode(name, true, 'ondemand')), clusterNode('spot-1', false, 'spot'), clusterNode('spot-2', false, 'spot')];
      const canaryDetails = { pools: [{ pool: 'karpenter.sh/nodepool=ondemand', nodes: 8, ready: 8, reached: 'done' }, { pool: 'karpenter.sh/nodepool=spot', nodes: 2, ready: 0, reached: 'scheduled' }] };
      const probes = loop(
        [
          nodeHealth,
          fixed('node-canary', { ok: false, stage: 'scheduled', message: 'canary not Running in 1 of 2 pool(s): karpenter.sh/nodepool=spot (0 of 2 nodes Ready): the pod was never scheduled to a node of the pool', details: canaryDetails }),
          fixed('workload-lifecycle', { ok: true, message: 'Ready with an endpoint in 2.1 s' }),
        ],
        { cache: filledCache({ nodes }) },
        { failuresToUnhealthy: 1 },
      );
      const document = await probes.execute(['test']);
      // 8 of 10 Ready is not below the 0.8 minimum: node-health passes, and names the two.
      assert.equal(byProbe(document, 'node-health').status, 'Passing');
      assert.match(byProbe(document, 'node-health').message, /^8 of 10 nodes Ready; NotReady: spot-1 \(NodeStatusUnknown\), spot-2 \(NodeStatusUnknown\)$/);
      assert.equal(document.verdict, 'Degraded');
      assert.deepEqual(document.failing, ['node-canary']);
      assert.equal(document.cause?.rule, 'nodes-not-ready');
      assert.match(document.cause!.message, /^2 of 10 nodes are NotReady \(spot-1: NodeStatusUnknown, spot-2: NodeStatusUnknown\)/);
      await probes.stop();
    });

    it('a Ready pool\'s canary unscheduled while another pool has a NotReady node: no room in that pool, not the NotReady node', async () => {
      const nodes = [clusterNode('gpu-1', true, 'gpu'), clusterNode('gpu-2', true, 'gpu'), ...['general-1', 'general-2', 'general-3', 'general-4', 'general-5', 'general-6', 'general-7'].map((name) => clusterNode(name, true, 'general')), clusterNode('general-8', false, 'general')];
      const canaryDetails = { pools: [{ pool: 'karpenter.sh/nodepool=general', nodes: 8, ready: 7, reached: 'done' }, { pool: 'karpenter.sh/nodepool=gpu', nodes: 2, ready: 2, reached: 'scheduled' }] };
      const probes = loop(
        [nodeHealth, fixed('node-canary', { ok: false, stage: 'scheduled', message: 'canary not Running in 1 of 2 pool(s): karpenter.sh/nodepool=gpu (2 of 2 nodes Ready): the pod was never scheduled to a node of the pool', details: canaryDetails })],
        { cache: filledCache({ nodes }) },
        { failuresToUnhealthy: 1 },
      );
      const document = await probes.execute(['test']);
      assert.equal(document.verdict, 'Degraded');
      assert.equal(document.cause?.rule, 'no-room', JSON.stringify(document.cause));
      assert.doesNotMatch(byProbe(document, 'node-canary').hint ?? '', /general-8/);
      await probes.stop();
    });

    /** Pods of `workload` (a Deployment, through its ReplicaSet) on the given nodes, each with one container restarted `restarts` times lately. */
    function restartingPods(workload: string, nodes: readonly string[], restarts: number, hash = '5d8f7c9b6') {
      return nodes.map((node, index) => ({
        metadata: { namespace: 'shop', name: `${workload}-${hash}-${index}`, uid: `${workload}-${hash}-${index}`, labels: { 'pod-template-hash': hash }, ownerReferences: [{ kind: 'ReplicaSet', name: `${workload}-${hash}`, controller: true }] },
        spec: { nodeName: node },
        status: { phase: 'Running', startTime: '2026-06-01T11:58:00Z', containerStatuses: [{ name: 'app', restartCount: restarts, lastState: { terminated: { finishedAt: '2026-06-01T11:59:30Z' } } }] },
      }));
    }
    const restartsLoop = (pods: unknown[]) =>
      loop([createRestartBurst()], { cache: filledCache({ pods }), now: () => new Date('2026-06-01T12:00:00Z') }, { failuresToUnhealthy: 1 });

    it('restarts in one Deployment (30, on six nodes, across a rollout\'s two ReplicaSets): its own fault, minor, the verdict stays Healthy', async () => {
      const pods = [...restartingPods('checkout', ['n1', 'n2', 'n3'], 5, '5d8f7c9b6'), ...restartingPods('checkout', ['n4', 'n5', 'n6'], 5, '7f6c5b4a3')];
      const probes = restartsLoop(pods);
      const document = await probes.execute(['test']);
      assert.equal(document.verdict, 'Healthy');
      assert.deepEqual(document.failing, ['restart-burst']);
      const burst = byProbe(document, 'restart-burst');
      assert.equal(burst.severity, 'minor');
      assert.match(burst.message, /^30 restart\(s\) of 1 workload\(s\) on 6 node\(s\).*all from Deployment shop\/checkout 30 restart\(s\) in 6 pod\(s\)/);
      assert.match(burst.hint ?? '', /one or two workloads/);
      assert.equal(document.cause, undefined);
      await probes.stop();
    });

    it('restarts in one Deployment beside two others restarting once each: still that Deployment\'s own fault, not a shared cause', async () => {
      const pods = [...restartingPods('checkout', ['n1', 'n2', 'n3', 'n4', 'n5', 'n6'], 5), ...restartingPods('search', ['n7'], 1), ...restartingPods('cart', ['n8'], 1)];
      const probes = restartsLoop(pods);
      const document = await probes.execute(['test']);
      const burst = byProbe(document, 'restart-burst');
      assert.equal(burst.severity, 'minor', burst.message);
      assert.equal(document.verdict, 'Healthy', burst.message);
      assert.match(burst.message, /Deployment shop\/checkout 30 restart\(s\)/);
      await probes.stop();
    });

    it('restarts in three Deployments on three nodes: a shared cause, major, Degraded', async () => {
      const pods = [...restartingPods('checkout', ['n1'], 4), ...restartingPods('search', ['n2'], 4), ...restartingPods('cart', ['n3'], 4)];
      const probes = restartsLoop(pods);
      const document = await probes.execute(['test']);
      assert.equal(document.verdict, 'Degraded');
      const burst = byProbe(document, 'restart-burst');
      assert.equal(burst.severity, 'major');
      assert.match(burst.message, /^12 restart\(s\) of 3 workload\(s\) on 3 node\(s\).*: a cause they share/);
      assert.match(burst.hint ?? '', /several workloads restart on many nodes at once/);
      await probes.stop();
    });

    it('a custom probe failing alone (its target refuses connections): Unhealthy when declared critical, no cause, and its own hint, never the API server', async () => {
      const closed = createServer();
      await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
      const port = (closed.address() as AddressInfo).port;
      await new Promise((resolve) => closed.close(resolve));
      const probeConfig = { custom: [{ name: 'ingress', critical: true, hint: 'is the ingress controller running?', http: { url: `http://127.0.0.1:${port}/healthz` } }], failuresToUnhealthy: 1 };
      const config = buildConfig({ probe: { timeoutSeconds: 2, intervalSeconds: 3600, ...probeConfig } });
      const probes = loop([...customProbeDefinitions(config), fixed('scheduler', { ok: true, message: 'Lease renewed 1 s ago' })], {}, probeConfig);
      const document = await probes.execute(['test']);
      assert.equal(document.verdict, 'Unhealthy');
      assert.deepEqual(document.failing, ['custom:ingress']);
      assert.equal(document.cause, undefined);
      const ingress = byProbe(document, 'custom:ingress');
      assert.match(ingress.message, /ECONNREFUSED|connection refused/i);
      assert.equal(ingress.hint, 'is the ingress controller running?');
      assert.match(statusOf(document).message!, /^custom:ingress: .* \(hint: is the ingress controller running\?\)$/);
      await probes.stop();
    });

    it('a custom probe failing beside all nodes NotReady keeps its own hint: the nodes explain only the probes they explain', async () => {
      const probeConfig = { custom: [{ name: 'quorum', severity: 'major', hint: 'is the database quorum lost?', command: { argv: [process.execPath, '-e', 'process.exit(3)'] } }], failuresToUnhealthy: 1 };
      const config = buildConfig({ probe: { timeoutSeconds: 5, intervalSeconds: 3600, ...probeConfig } });
      const cache = filledCache({ nodes: NINE.map((name) => clusterNode(name, false, 'general')) });
      const probes = loop([...customProbeDefinitions(config), nodeHealth], { cache }, probeConfig);
      const document = await probes.execute(['test']);
      assert.equal(document.cause?.rule, 'no-ready-nodes');
      assert.deepEqual(document.cause!.explains, ['node-health']);
      assert.equal(byProbe(document, 'custom:quorum').hint, 'is the database quorum lost?');
      assert.equal(byProbe(document, 'custom:quorum').severity, 'major');
      await probes.stop();
    });

    it('minor failures only: the verdict stays Healthy and says so, yet lists them (last), counts them by severity, and counts the change of the failing set', async () => {
      const metrics = new ProbeMetrics();
      let shareFails = false;
      const probes = loop(
        [
          fixed('etcd', { ok: true, message: 'ok' }),
          { id: 'on-demand-share', summary: 'x', run: async () => (shareFails ? { ok: false, message: 'on-demand share 10% is below 20%' } : { ok: true, message: 'on-demand share 50%' }) },
          fixed('restart-burst', { ok: false, severity: 'minor', stage: 'workload', message: '30 restart(s) of 1 workload(s): that workload\'s own fault' }),
        ],
        { metrics },
        { failuresToUnhealthy: 1, successesToHealthy: 1, critical: ['etcd'] },
      );
      const first = await probes.execute(['a']);
      assert.deepEqual([first.verdict, first.failing], ['Healthy', ['restart-burst']]);
      shareFails = true;
      const document = await probes.execute(['b']);
      assert.equal(document.verdict, 'Healthy');
      assert.deepEqual(document.failing, ['on-demand-share', 'restart-burst']);
      assert.deepEqual(document.probes.filter((result) => result.status === 'Failing').map((result) => [result.probe, result.severity, result.critical]), [['on-demand-share', 'minor', false], ['restart-burst', 'minor', false]]);
      const status = statusOf(document);
      assert.equal(status.verdict, 'Healthy');
      assert.equal(status.failing, 'on-demand-share, restart-burst');
      assert.doesNotMatch(status.message!, /all \d+ probes pass/);
      const text = await metrics.registry.metrics();
      assert.match(text, /^levee_probe_failing_probes\{severity="minor"\} 2$/m);
      assert.match(text, /^levee_probe_failing_probes\{severity="critical"\} 0$/m);
      assert.match(text, /^levee_probe_verdict\{verdict="Healthy"\} 1$/m);
      assert.match(text, /^levee_probe_failing_set_changes_total\{verdict="Healthy"\} 1$/m);
      await probes.stop();
    });

    it('a minor failure listed after a major one: the major one decides (Degraded), and failing lists the worse first', async () => {
      const probes = loop(
        [fixed('on-demand-share', { ok: false, message: 'share low' }), fixed('service-endpoints', { ok: false, message: '1 Service has no ready endpoint' })],
        {},
        { failuresToUnhealthy: 1 },
      );
      const document = await probes.execute(['test']);
      assert.equal(document.verdict, 'Degraded');
      assert.deepEqual(document.failing, ['service-endpoints', 'on-demand-share']);
      await probes.stop();
    });
  });
});
