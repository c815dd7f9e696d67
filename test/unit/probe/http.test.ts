import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { buildConfig } from '../../../src/config.js';
import { createLogger } from '../../../src/logger.js';
import { isLoopback, startProbeEndpoint, type ProbeEndpoint } from '../../../src/probe/http.js';
import { ProbeCache } from '../../../src/probe/cache.js';
import { KubeApi } from '../../../src/probe/kube-api.js';
import { ProbeLoop } from '../../../src/probe/loop.js';
import { ProbeMetrics } from '../../../src/probe/metrics.js';
import type { ProbeDefinition } from '../../../src/probe/types.js';
import { kubeconfigFor } from '../../support/kubeconfig.js';

describe('probe/http: the on-demand endpoint', () => {
  let endpoint: ProbeEndpoint;
  let runs = 0;

  async function start(maxRunAgeSeconds: number, startedAt = new Date()): Promise<string> {
    const kubeconfig = kubeconfigFor('https://127.0.0.1:1');
    const probe: ProbeDefinition = { id: 'etcd', summary: 'x', run: async () => ((runs += 1), { ok: false, message: 'etcd not ready' }) };
    const metrics = new ProbeMetrics();
    const config = buildConfig({ probe: { failuresToUnhealthy: 1, intervalSeconds: 3600 } });
    const loop = new ProbeLoop({ config, api: new KubeApi(kubeconfig, 1000), cache: new ProbeCache(), probes: [probe], logger: createLogger('silent'), identity: 'test', isLeader: () => true, inCluster: false, metrics });
    endpoint = await startProbeEndpoint({ host: '127.0.0.1', port: 0, loop, metrics, logger: createLogger('silent'), maxRunAgeSeconds, startedAt });
    return `http://127.0.0.1:${endpoint.port}`;
  }

  afterEach(() => endpoint.close());

  it('runs the probes on POST /run and answers with the verdict; GET /verdict repeats it; /metrics counts it', async () => {
    const base = await start(120);
    assert.equal((await fetch(`${base}/verdict`)).status, 503, 'no verdict before the first run');
    const before = runs;
    const run = await fetch(`${base}/run`, { method: 'POST' });
    assert.equal(run.status, 200);
    const verdict = (await run.json()) as { verdict: string; failing: string[] };
    assert.equal(runs, before + 1);
    assert.equal(verdict.verdict, 'Unhealthy');
    assert.deepEqual(verdict.failing, ['etcd']);
    assert.deepEqual(await (await fetch(`${base}/verdict`)).json(), verdict);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    assert.match(metrics, /levee_probe_verdict\{verdict="Unhealthy"\} 1/);
    assert.match(metrics, /levee_probe_success\{probe="etcd"\} 0/);
    assert.match(metrics, /levee_probe_runs_total\{probe="etcd",result="failure"\} 1/);
    assert.equal((await fetch(`${base}/nothing`)).status, 404);
  });

  it('starts runs only for loopback peers (serve in the same pod), whatever address it listens on', () => {
    for (const address of ['127.0.0.1', '127.0.0.53', '::1', '::ffff:127.0.0.1']) assert.equal(isLoopback(address), true, address);
    for (const address of ['10.244.1.7', '192.0.2.10', '::ffff:10.0.0.1', 'fe80::1', '::', '', undefined]) assert.equal(isLoopback(address), false, String(address));
  });

  it('serves every levee_probe_ metric the README names, and times each probe run', async () => {
    const base = await start(120);
    await fetch(`${base}/run`, { method: 'POST' });
    const metrics = await (await fetch(`${base}/metrics`)).text();
    const readme = readFileSync(new URL('../../../../README.md', import.meta.url), 'utf8');
    const documented = new Set([...readme.matchAll(/`(levee_probe_[a-z_]+)/g)].map((match) => match[1]!));
    assert.ok(documented.size >= 9, `${documented.size} metrics found in the README`);
    for (const name of documented) assert.match(metrics, new RegExp(`^# TYPE ${name} `, 'm'), `${name} is documented but not served`);
    assert.match(metrics, /^levee_probe_duration_seconds_count\{probe="etcd"\} [1-9]/m);
  });

  it('answers /healthz 200 while runs are recent and 503 once they have stopped', async () => {
    const fresh = await start(120);
    assert.equal((await fetch(`${fresh}/healthz`)).status, 200);
    await endpoint.close();
    const stalled = await start(1, new Date(Date.now() - 5000));
    const answer = await fetch(`${stalled}/healthz`);
    assert.equal(answer.status, 503);
    assert.match(await answer.text(), /no probe run completed in the last \d+ s/);
  });
});
