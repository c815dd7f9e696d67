import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildConfig } from '../../../../src/config.js';
import { createLogger } from '../../../../src/logger.js';
import { customProbeDefinitions } from '../../../../src/probe/custom/probes.js';
import { ProbeCache } from '../../../../src/probe/cache.js';
import { KubeApi } from '../../../../src/probe/kube-api.js';
import { ProbeLoop } from '../../../../src/probe/loop.js';
import { probesFor, PROBES } from '../../../../src/probe/registry.js';
import { kubeconfigFor } from '../../../support/kubeconfig.js';

const silent = createLogger('silent');
// Custom commands and HTTP checks never call the API server; nothing listens here.
const api = new KubeApi(kubeconfigFor('http://127.0.0.1:9'), 500);

function loopOf(custom: unknown[], probe: Record<string, unknown> = {}): ProbeLoop {
  const config = buildConfig({ probe: { intervalSeconds: 3600, failuresToUnhealthy: 2, successesToHealthy: 2, custom, ...probe } });
  return new ProbeLoop({ config, api, cache: new ProbeCache(), probes: customProbeDefinitions(config), logger: silent, identity: 'test-1', isLeader: () => true, inCluster: false, graceMs: 100 });
}

describe('probe/custom/probes', () => {
  it('come after the built-in probes, as custom:<name>, in the order declared', () => {
    const config = buildConfig({ probe: { custom: [{ name: 'b', command: { argv: ['true'] } }, { name: 'a', http: { url: 'http://127.0.0.1/' } }] } });
    const ids = probesFor(config).map((probe) => probe.id);
    assert.deepEqual(ids, [...PROBES.map((probe) => probe.id), 'custom:b', 'custom:a']);
    assert.equal(probesFor(config).find((probe) => probe.id === 'custom:a')!.summary, 'GET http://127.0.0.1/');
  });

  it('a critical custom probe that keeps failing turns the verdict Unhealthy after the hysteresis, with its declared hint', async () => {
    const loop = loopOf([
      { name: 'quorum', critical: true, hint: 'is the quorum service running?', command: { argv: ['sh', '-c', 'echo lost quorum; exit 1'] } },
      { name: 'fine', command: { argv: ['true'] } },
    ]);
    const first = await loop.execute(['test']);
    assert.equal(first.verdict, 'Healthy', 'one failure is not enough (failuresToUnhealthy 2)');
    const second = await loop.execute(['test']);
    assert.equal(second.verdict, 'Unhealthy');
    assert.deepEqual(second.failing, ['custom:quorum']);
    const line = second.probes.find((probe) => probe.probe === 'custom:quorum')!;
    assert.equal(line.critical, true);
    assert.match(line.message, /^sh exited 1 after \d+ ms: lost quorum$/);
    assert.equal(line.hint, 'is the quorum service running?');
    assert.equal(second.probes.find((probe) => probe.probe === 'custom:fine')!.status, 'Passing');
    await loop.stop();
  });

  it('a custom probe not declared critical only degrades', async () => {
    const loop = loopOf([{ name: 'soft', command: { argv: ['false'] } }], { failuresToUnhealthy: 1 });
    const verdict = await loop.execute(['test']);
    assert.equal(verdict.verdict, 'Degraded');
    assert.equal(verdict.probes[0]!.critical, false);
    assert.equal(verdict.probes[0]!.hint, undefined, 'levee\'s own hint rules are not applied to a user\'s probe');
    await loop.stop();
  });

  it('has its own deadline', async () => {
    const loop = loopOf([{ name: 'slow', critical: true, timeoutSeconds: 1, command: { argv: ['sleep', '30'] } }], { failuresToUnhealthy: 1, timeoutSeconds: 60 });
    const started = Date.now();
    const verdict = await loop.execute(['test']);
    assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
    assert.equal(verdict.verdict, 'Unhealthy');
    assert.match(verdict.probes[0]!.message, /killed after \d+ ms: context deadline exceeded: custom:slow ran past its 1 s timeout/);
    await loop.stop();
  });

  it('runs on its own interval, others on probe.intervalSeconds', async () => {
    const hits = new Map<string, number>();
    const server = createServer((req, res) => {
      hits.set(req.url ?? '', (hits.get(req.url ?? '') ?? 0) + 1);
      res.writeHead(200).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const loop = loopOf([{ name: 'often', intervalSeconds: 1, http: { url: `${base}/often` } }, { name: 'usual', http: { url: `${base}/usual` } }]);
    try {
      loop.start();
      await new Promise((resolve) => setTimeout(resolve, 2600));
      assert.ok((hits.get('/often') ?? 0) >= 2, `often ran ${hits.get('/often')} times`);
      assert.equal(hits.get('/usual'), 1);
    } finally {
      await loop.stop();
      server.closeAllConnections();
      server.close();
    }
  });
});
