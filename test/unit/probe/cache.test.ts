import assert from 'node:assert/strict';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { KubeObject } from '../../../src/kube/types.js';
import { ProbeCache, type FeedName } from '../../../src/probe/cache.js';
import { until } from '../../support/wait.js';
import { kubeconfigFor } from '../../support/kubeconfig.js';

const pod = (name: string, extra: Partial<KubeObject> & { labels?: Record<string, string> } = {}): KubeObject => ({
  metadata: { name, namespace: 'shop', uid: `uid-${name}`, resourceVersion: '1', ...(extra.labels ? { labels: extra.labels } : {}), ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-7d9', uid: 'u', controller: true }] },
  spec: { nodeName: 'node-1', containers: [{ name: 'app', image: 'app:1' }] },
  status: {
    phase: 'Running',
    startTime: '2026-06-01T11:00:00Z',
    conditions: [{ type: 'Ready', status: 'True' }],
    containerStatuses: [{ name: 'app', restartCount: 4, lastState: { terminated: { finishedAt: '2026-06-01T11:59:00Z' } }, image: 'app:1', imageID: 'sha', ready: true }],
  },
});
const slice = (name: string, service: string, ready: Array<boolean | null>): KubeObject => ({
  metadata: { name, namespace: 'shop', labels: { 'kubernetes.io/service-name': service } },
  endpoints: ready.map((value, i) => ({ addresses: [`10.0.0.${i}`], conditions: { ready: value } })),
});

describe('probe/cache: what the probes read instead of listing', () => {
  it('keeps trimmed views: a pod\'s node, owner, readiness and restarts, labels only for levee\'s own probe pods', () => {
    const cache = new ProbeCache();
    cache.apply('pods', 'upsert', pod('web-1', { labels: { app: 'web', 'pod-template-hash': '7d9' } }));
    cache.apply('pods', 'upsert', pod('levee-probe-x', { labels: { 'levee.dev/probe': 'true', 'levee.dev/probe-run': 'x' } }));
    const [web] = cache.pods().filter((view) => view.name === 'web-1');
    assert.deepEqual(web, {
      uid: 'uid-web-1',
      namespace: 'shop',
      name: 'web-1',
      node: 'node-1',
      phase: 'Running',
      ready: true,
      owner: 'ReplicaSet/web-7d9',
      templateHash: '7d9',
      startedAt: Date.parse('2026-06-01T11:00:00Z'),
      containers: [{ name: 'app', restartCount: 4, lastEndedAt: Date.parse('2026-06-01T11:59:00Z') }],
    });
    assert.deepEqual(cache.probePods().map((view) => [view.name, view.probeLabels?.['levee.dev/probe-run']]), [['levee-probe-x', 'x']]);
    cache.apply('pods', 'remove', { metadata: { name: 'levee-probe-x', namespace: 'shop' } });
    assert.deepEqual(cache.probePods(), []);
    assert.equal(cache.size('pods'), 1);
  });

  it('finds a Service\'s EndpointSlices by its label, following relabels and removals, counting ready endpoints', () => {
    const cache = new ProbeCache();
    cache.apply('endpointslices', 'upsert', slice('web-a', 'web', [true, null, false]));
    cache.apply('endpointslices', 'upsert', slice('api-a', 'api', [false]));
    assert.deepEqual(cache.slicesOf('shop', 'web').map((view) => [view.name, view.readyEndpoints]), [['web-a', 2]], 'a nil ready means ready');
    cache.apply('endpointslices', 'upsert', slice('web-a', 'other', [true]));
    assert.deepEqual(cache.slicesOf('shop', 'web'), []);
    assert.equal(cache.slicesOf('shop', 'other').length, 1);
    cache.apply('endpointslices', 'remove', slice('web-a', 'other', []));
    assert.deepEqual(cache.slicesOf('shop', 'other'), []);
    assert.equal(cache.slicesOf('shop', 'api')[0]?.readyEndpoints, 0);
  });

  it('is ready once a feed has listed, says why while it has not or while it is broken, and gives up with the signal', async () => {
    const cache = new ProbeCache();
    const waiting = cache.ready(['nodes', 'pods'], new AbortController().signal);
    let settled = false;
    void waiting.then(() => (settled = true));
    cache.markSynced('nodes');
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(settled, false, 'pods has not listed yet');
    cache.markSynced('pods');
    assert.equal(await waiting, undefined);

    cache.markBroken('pods', new Error('watch /api/v1/pods said nothing for 45 s'), Date.now() - 5000);
    const abort = new AbortController();
    const broken = cache.ready(['pods'], abort.signal);
    abort.abort();
    assert.match((await broken) ?? '', /^the pods watch is broken since 5 s ago \(watch \/api\/v1\/pods said nothing for 45 s\), relisting$/);
    cache.markSynced('pods');
    assert.equal(cache.unavailable(['pods']), undefined);
    assert.match(cache.unavailable(['services']) ?? '', /^the services watch has not finished its first list$/);
  });

  it('keeps in a Lease feed its one Lease, whatever else a server that ignores the fieldSelector sends', () => {
    const cache = new ProbeCache();
    cache.apply('lease/kube-scheduler', 'upsert', { metadata: { name: 'apiserver-abc', namespace: 'kube-system' }, spec: { holderIdentity: 'x' } });
    cache.apply('lease/kube-scheduler', 'upsert', { metadata: { name: 'kube-scheduler', namespace: 'kube-system' }, spec: { holderIdentity: 'sched_1', renewTime: '2026-06-01T12:00:00.000000Z', leaseDurationSeconds: 15 } });
    assert.equal(cache.size('lease/kube-scheduler'), 1);
    assert.deepEqual(cache.lease('kube-scheduler'), { name: 'kube-scheduler', holder: 'sched_1', renewedAt: Date.parse('2026-06-01T12:00:00Z'), renewTime: '2026-06-01T12:00:00.000000Z', durationSeconds: 15 });
    assert.equal(cache.lease('kube-controller-manager'), undefined);
  });

  it('resolves a wait with the first change that answers it, and with undefined when the signal aborts first', async () => {
    const cache = new ProbeCache();
    const found = cache.waitFor(() => cache.probePods()[0]?.name, new AbortController().signal);
    cache.apply('pods', 'upsert', pod('web-1'));
    cache.apply('pods', 'upsert', pod('levee-probe-y', { labels: { 'levee.dev/probe': 'true' } }));
    assert.equal(await found, 'levee-probe-y');
    const abort = new AbortController();
    const never = cache.waitFor(() => cache.lease('kube-scheduler'), abort.signal);
    abort.abort();
    assert.equal(await never, undefined);
  });

  describe('against an API server double', () => {
    let server: Server;
    const requests: URL[] = [];
    const open: ServerResponse[] = [];
    const pods = [...Array(1200).keys()].map((i) => pod(`p-${i}`));

    before(async () => {
      server = createServer((req, res) => {
        const url = new URL(req.url ?? '/', 'http://double');
        requests.push(url);
        if (url.searchParams.get('watch') === 'true') {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.flushHeaders();
          open.push(res);
          return;
        }
        const items = url.pathname === '/api/v1/pods' ? pods : url.pathname.endsWith('/leases') ? [{ metadata: { name: 'kube-scheduler', namespace: 'kube-system', resourceVersion: '3' }, spec: { holderIdentity: 'h', renewTime: new Date().toISOString() } }] : [];
        const from = Number(url.searchParams.get('continue') ?? 0);
        const limit = Number(url.searchParams.get('limit'));
        const more = from + limit < items.length;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ metadata: { resourceVersion: '7', ...(more ? { continue: String(from + limit) } : {}) }, items: items.slice(from, from + limit) }));
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    });

    after(async () => {
      for (const res of open) res.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    });

    it('lists each feed in pages once, then watches it; counts every request it sends; reads a Lease by name only', async () => {
      const counted: Array<[string, FeedName]> = [];
      const cache = new ProbeCache({
        kubeconfig: kubeconfigFor(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
        onRequest: (verb, feed) => void counted.push([verb, feed]),
      });
      try {
        cache.start(['pods', 'lease/kube-scheduler']);
        cache.start(['pods']);
        assert.equal(await cache.ready(['pods', 'lease/kube-scheduler'], AbortSignal.timeout(5000)), undefined);
        await until(() => requests.filter((url) => url.searchParams.get('watch') === 'true').length === 2);
        assert.equal(cache.size('pods'), 1200);
        assert.equal(cache.lease('kube-scheduler')?.holder, 'h');
        const podLists = requests.filter((url) => url.pathname === '/api/v1/pods' && !url.searchParams.has('watch'));
        assert.deepEqual(podLists.map((url) => url.searchParams.get('limit')), ['500', '500', '500'], 'three pages of 500');
        for (const url of requests.filter((candidate) => candidate.pathname.endsWith('/leases'))) {
          assert.equal(url.searchParams.get('fieldSelector'), 'metadata.name=kube-scheduler');
        }
        assert.equal(counted.length, requests.length, 'every request the server saw was counted');
        assert.deepEqual(counted.filter(([verb]) => verb === 'watch').map(([, feed]) => feed).sort(), ['lease/kube-scheduler', 'pods']);
      } finally {
        cache.stop();
      }
    });
  });

  it('keeps of a node its readiness and reason, when it was created and its taints (node-health, node-canary)', () => {
    const cache = new ProbeCache();
    cache.apply('nodes', 'upsert', {
      metadata: { name: 'spot-1', creationTimestamp: '2026-06-01T10:00:00Z', labels: { 'karpenter.sh/nodepool': 'spot-a' } },
      spec: { taints: [{ key: 'spot', value: 'true', effect: 'NoSchedule' }, { key: 'broken' }] },
      status: { conditions: [{ type: 'Ready', status: 'Unknown', reason: 'NodeStatusUnknown' }] },
    });
    const [node] = cache.nodes();
    assert.equal(node!.ready, false);
    assert.equal(node!.notReadyReason, 'NodeStatusUnknown');
    assert.equal(node!.createdAt, Date.parse('2026-06-01T10:00:00Z'));
    assert.deepEqual(node!.taints, [{ key: 'spot', effect: 'NoSchedule' }], 'a taint without an effect is dropped');
  });
});
