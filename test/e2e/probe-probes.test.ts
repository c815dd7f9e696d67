import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { loadKubeConfig } from '../../src/cluster/kubeconfig.js';
import { buildConfig } from '../../src/config.js';
import { ProbeCache } from '../../src/probe/cache.js';
import { KubeApi } from '../../src/probe/kube-api.js';
import { PROBES } from '../../src/probe/registry.js';
import type { ProbeId } from '../../src/probe/settings.js';
import type { ProbeContext, ProbeOutcome } from '../../src/probe/types.js';
import { e2e, eventually, kubectl } from '../support/e2e.js';

/**
 * Every probe that talks to the API server, run against the real local cluster: each passes
 * on the healthy cluster, and the failures the cluster can show without being broken are seen.
 * (Stopping a component is test/e2e/probe-gate.test.ts.)
 */

// Sorts before every other test file's namespace: service-endpoints names at most five Services,
// sorted, and other files may leave Services without endpoints behind.
const namespace = `a-probes-${Date.now().toString(36)}`;

describe('e2e: each probe against the real API server', function () {
  this.timeout(120_000);
  let api: KubeApi;
  let cache: ProbeCache;
  let kubeconfig: string;

  /** `leveeNamespace` for the probes that write: the test's own, away from the harness probe's objects in levee-system. */
  function context(probe: Record<string, unknown> = {}, leveeNamespace?: string): ProbeContext {
    const config = buildConfig({ ...(leveeNamespace ? { leveeNamespace } : {}), probe: { lifecycleTimeoutSeconds: 60, ...probe } });
    return {
      api,
      config,
      signal: AbortSignal.timeout(60_000),
      now: () => new Date(),
      isLeader: true,
      inCluster: false,
      cache,
    };
  }

  async function run(id: ProbeId, probe: Record<string, unknown> = {}, leveeNamespace?: string): Promise<ProbeOutcome> {
    const definition = PROBES.find((candidate) => candidate.id === id);
    assert.ok(definition, `probe ${id} is registered`);
    return definition.run(context(probe, leveeNamespace));
  }

  before(async function () {
    this.timeout(1_800_000);
    const env = await e2e();
    kubeconfig = env.cluster.kubeconfig;
    api = new KubeApi(loadKubeConfig(kubeconfig), 5000);
    cache = new ProbeCache({ kubeconfig: loadKubeConfig(kubeconfig) });
    assert.equal((await kubectl(['create', 'namespace', namespace])).code, 0);
  });

  after(async () => {
    cache?.stop();
    await kubectl(['delete', 'namespace', namespace, '--wait=false']);
  });

  it('api-write-path: creates, reads back and deletes a ConfigMap, and leaves none behind', async () => {
    // In the test's namespace: the harness's own probe writes its ConfigMaps in levee-system every few seconds.
    const outcome = await run('api-write-path', {}, namespace);
    assert.equal(outcome.ok, true, outcome.message);
    assert.match(outcome.message, /^ConfigMap create, read and delete in \d+ ms \(create \d+ ms, read \d+ ms, delete \d+ ms\)$/);
    const left = await kubectl(['get', 'configmaps', '-n', namespace, '-l', 'levee.dev/probe=true', '-o', 'name']);
    assert.equal(left.code, 0, left.stderr);
    assert.equal(left.stdout.trim(), '');
  });

  it('api-write-path: fails when the writes are slower than the threshold', async () => {
    const outcome = await run('api-write-path', { thresholds: { writeLatencyMs: 1 } });
    assert.equal(outcome.ok, false);
    assert.equal(outcome.stage, 'slow');
    assert.match(outcome.message, /over the 1 ms threshold/);
  });

  it('workload-lifecycle: a Deployment goes Ready and gets an endpoint, followed in the watch cache, then is cleaned up', async () => {
    assert.equal(await cache.ready(['pods', 'endpointslices'], AbortSignal.timeout(30_000)), undefined);
    const lists: string[] = [];
    const counted = new KubeApi(loadKubeConfig(kubeconfig), 5000, 'workload-lifecycle', { count: (verb) => void lists.push(verb) });
    const definition = PROBES.find((candidate) => candidate.id === 'workload-lifecycle')!;
    const outcome = await definition.run({ ...context(), api: counted });
    assert.equal(outcome.ok, true, outcome.message);
    assert.match(outcome.message, /Ready with endpoints in .* \(replicaset .*, pods .*, scheduled .*, ready .*, endpoints .*\)/);
    await eventually('the probe Deployment and Service to be deleted', async () => {
      // The harness's own probe runs node-canary Deployments here too: those are not this run's.
      const left = await kubectl(['get', 'deployments,services', '-n', 'levee-system', '-l', 'levee.dev/probe=true,!levee.dev/canary-pool', '-o', 'name']);
      return left.stdout.trim() === '' || left.stdout;
    }, 30_000);
    // Two creates and two deletes, and at most the two sweeps of a first run: no list while it waits.
    assert.deepEqual(lists.filter((verb) => verb !== 'list').sort(), ['create', 'create', 'delete', 'delete']);
    assert.ok(lists.filter((verb) => verb === 'list').length <= 2, lists.join(', '));
  });

  it('dns on the host: checks the cluster DNS Service kube-system/kube-dns and its ready endpoints, and says no DNS answer was had from here', async () => {
    const outcome = await run('dns');
    assert.equal(outcome.ok, true, outcome.message);
    assert.equal(outcome.skipped, undefined);
    // kwok's pods answer no query, and the host has no route to the service network (or a
    // resolver of its own network answers there for any address, without the cluster's zone).
    assert.match(outcome.message, /^kube-system\/kube-dns \(10\.96\.0\.10\) has 2 ready endpoints; checked from this host: the Service and its EndpointSlices, not a DNS answer \(10\.96\.0\.10:53 (did not answer from this host within 1000 ms: the service network is not reachable from here|could not be asked from this host|answered kubernetes\.default\.svc\.cluster\.local from this host with E[A-Z]+, and has no SOA for cluster\.local)/);
  });

  it('dns on the host: fails when the DNS Service has no ready endpoint, and when it does not exist', async () => {
    const service = JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'no-dns', namespace }, spec: { selector: { app: 'no-dns-here' }, ports: [{ name: 'dns', port: 53, protocol: 'UDP' }] } });
    assert.equal((await kubectl(['apply', '-f', '-'], { input: service })).code, 0);
    // The probe reads the Service and its EndpointSlices from its watch cache, which follows in a moment.
    await eventually('the dns probe to see no-dns without a ready endpoint', async () => {
      const empty = await run('dns', { dns: { service: `${namespace}/no-dns`, hostQueryTimeoutMs: 200 } });
      if (empty.ok) return `passed: ${empty.message}`;
      return new RegExp(`^${namespace}/no-dns \\(10\\.96\\.[\\d.]+\\) has no ready endpoint \\(\\d EndpointSlices\\): in-cluster DNS has nobody to answer it`).test(empty.message) || empty.message;
    }, 30_000);
    const missing = await run('dns', { dns: { service: `${namespace}/nothing` } });
    assert.equal(missing.ok, false);
    assert.match(missing.message, new RegExp(`^the cluster DNS Service ${namespace}/nothing does not exist`));
  });

  it('no critical probe of the harness\'s levee probe is Skipped on the local cluster', async () => {
    await eventually('a ProbeVerdict listing every critical probe, none Skipped', async () => {
      const result = await kubectl(['get', 'probeverdicts', 'cluster', '-o', 'json']);
      if (result.code !== 0) return result.stderr;
      const probes = (JSON.parse(result.stdout) as { status?: { probes?: Array<{ name: string; status: string; critical: boolean; message?: string }> } }).status?.probes ?? [];
      const critical = probes.filter((probe) => probe.critical);
      const skipped = critical.filter((probe) => probe.status === 'Skipped');
      if (critical.length < 6) return `critical probes: ${critical.map((probe) => probe.name).join(', ')}`;
      return skipped.length === 0 || `skipped: ${skipped.map((probe) => `${probe.name} (${probe.message})`).join('; ')}`;
    }, 60_000);
  });

  it('controller-manager and scheduler: their Leases are renewed, read from the watch once it has listed', async () => {
    for (const id of ['controller-manager', 'scheduler'] as const) {
      const outcome = await run(id);
      assert.equal(outcome.ok, true, outcome.message);
      assert.match(outcome.message, /^Lease kube-system\/kube-(controller-manager|scheduler) renewed \d+ s ago by /);
      await eventually(`${id} read from the cache's watch`, async () => {
        const again = await run(id);
        return (again.ok && again.details?.['source'] === 'watch') || again.message;
      }, 30_000);
    }
  });

  it('etcd: the API server reports etcd ready', async () => {
    const outcome = await run('etcd');
    assert.equal(outcome.ok, true, outcome.message);
    assert.match(outcome.message, /^\/readyz\/etcd ok in \d+ ms$/);
  });

  it('version-skew, on-demand-share and restart-burst judge the real nodes and pods', async () => {
    const skew = await run('version-skew');
    assert.equal(skew.ok, true, skew.message);
    const share = await run('on-demand-share');
    assert.equal(share.ok, true, share.message);
    assert.match(share.message, /^\d+ of \d+ labelled nodes are on-demand/);
    const restarts = await run('restart-burst');
    assert.equal(restarts.ok, true, restarts.message);
    assert.match(restarts.message, /^\d+ restart\(s\) of \d+ workload\(s\) on \d+ node\(s\) in the last 600 s/);
  });

  it('node-canary: a canary pod aimed at each node pool is scheduled there and reported Running (by kwok), then cleaned up', async () => {
    const outcome = await run('node-canary', {}, namespace);
    assert.equal(outcome.ok, true, outcome.message);
    assert.match(outcome.message, /^canary Running in every pool \(.*karpenter\.sh\/nodepool=on-demand-a on ondemand-\d+ in [\d.]+ s/);
    assert.match(outcome.message, /karpenter\.sh\/nodepool=spot-a on spot-\d+ in [\d.]+ s/);
    await eventually('the canary Deployments to be deleted', async () => {
      const left = await kubectl(['get', 'deployments', '-n', namespace, '-l', 'levee.dev/canary-pool', '-o', 'name']);
      return left.stdout.trim() === '' || left.stdout;
    }, 30_000);
  });

  it('node-health: counts the Ready nodes of the real cluster', async () => {
    const outcome = await run('node-health');
    assert.equal(outcome.ok, true, outcome.message);
    assert.match(outcome.message, /^(\d+) of \1 nodes Ready|^\d+ of \d+ nodes Ready; NotReady: /);
    assert.ok((outcome.details?.ready as number) >= 9, outcome.message);
  });

  it('service-endpoints: names a Service whose selector matches no pod', async () => {
    const service = JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'orphan', namespace }, spec: { selector: { app: 'nothing-here' }, ports: [{ port: 80 }] } });
    assert.equal((await kubectl(['apply', '-f', '-'], { input: service })).code, 0);
    // The probe reads Services from its watch cache, which follows the apply in a moment.
    await eventually('service-endpoints to name the orphan Service', async () => {
      const outcome = await run('service-endpoints', { thresholds: { serviceGraceSeconds: 0 } });
      if (outcome.ok) return `passed: ${outcome.message}`;
      return new RegExp(`have no ready endpoint: .*${namespace}/orphan`).test(outcome.message) || outcome.message;
    }, 30_000);
  });

  it('`levee probe --once` prints the verdict as JSON with a `verdict` field; its exit code says whether it is Unhealthy', async () => {
    const { code, stdout } = await new Promise<{ code: number; stdout: string }>((resolve) => {
      execFile(process.execPath, ['bin/levee.js', 'probe', '--once', '--kubeconfig', kubeconfig, '--log-level', 'warn'], { timeout: 90_000 }, (err, out) => {
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout: out });
      });
    });
    const verdict = JSON.parse(stdout) as { verdict: string; probes: Array<{ probe: string }> };
    assert.ok(['Healthy', 'Degraded', 'Unhealthy'].includes(verdict.verdict), stdout);
    assert.equal(code, verdict.verdict === 'Unhealthy' ? 1 : 0);
    assert.notEqual(verdict.verdict, 'Unhealthy', stdout);
    assert.deepEqual(verdict.probes.map((probe) => probe.probe), PROBES.map((probe) => probe.id));
  });
});
