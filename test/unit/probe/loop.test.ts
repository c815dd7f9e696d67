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
});
