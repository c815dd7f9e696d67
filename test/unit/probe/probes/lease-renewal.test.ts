import assert from 'node:assert/strict';
import type { KubeApi } from '../../../../src/probe/kube-api.js';
import { leaseRenewal } from '../../../../src/probe/probes/lease-renewal.js';
import { context, filledCache, now } from '../../../support/probe-context.js';

describe('probe/probes/lease-renewal', () => {
  const lease = (name: string, secondsAgo: number) => ({
    metadata: { name, namespace: 'kube-system' },
    spec: { holderIdentity: `${name}-host_1`, renewTime: new Date(now.getTime() - secondsAgo * 1000).toISOString(), leaseDurationSeconds: 15 },
  });

  /** An API client that answers the Lease GET with `answer`, and counts it. */
  function api(answer: { status: number; body?: unknown }): { api: KubeApi; gets: string[] } {
    const gets: string[] = [];
    return { gets, api: { get: async (path: string) => (gets.push(path), { status: answer.status, body: answer.body, text: JSON.stringify(answer.body ?? '') }) } as unknown as KubeApi };
  }

  it('passes a Lease the watch shows renewed, without a request', async () => {
    const client = api({ status: 500 });
    const cache = filledCache({ 'lease/kube-scheduler': [lease('kube-scheduler', 3)] });
    const outcome = await leaseRenewal(context({}, {}, { api: client.api, cache }), 'kube-scheduler');
    assert.equal(outcome.ok, true, outcome.message);
    assert.equal(outcome.details?.['source'], 'watch');
    assert.deepEqual(client.gets, []);
  });

  it('confirms a Lease the watch shows expired with one GET, and believes the GET (a silent watch shows old renewals)', async () => {
    const cache = filledCache({ 'lease/kube-scheduler': [lease('kube-scheduler', 60)] });
    const fresh = api({ status: 200, body: lease('kube-scheduler', 1) });
    const passed = await leaseRenewal(context({}, {}, { api: fresh.api, cache }), 'kube-scheduler');
    assert.equal(passed.ok, true, passed.message);
    assert.equal(passed.details?.['source'], 'get');
    assert.deepEqual(fresh.gets, ['/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-scheduler']);

    const stale = api({ status: 200, body: lease('kube-scheduler', 60) });
    const failed = await leaseRenewal(context({}, {}, { api: stale.api, cache }), 'kube-scheduler');
    assert.equal(failed.ok, false);
    assert.match(failed.message, /^Lease kube-system\/kube-scheduler last renewed 60 s ago by kube-scheduler-host_1, beyond its 15 s duration$/);
  });

  it('reads the Lease with a GET while its watch has not listed or is broken, and names a missing Lease', async () => {
    const unlisted = context({}, {}, { api: api({ status: 404, body: { message: 'not found' } }).api });
    const cache = unlisted.cache;
    cache.apply('lease/kube-controller-manager', 'upsert', lease('kube-controller-manager', 1));
    cache.markBroken('lease/kube-controller-manager', new Error('watch said nothing'), now.getTime());
    const outcome = await leaseRenewal(unlisted, 'kube-controller-manager');
    assert.equal(outcome.ok, false);
    assert.match(outcome.message, /^no Lease kube-system\/kube-controller-manager: kube-controller-manager has never run with leader election here$/);
  });

  it('fails a Lease without a holder', async () => {
    const cache = filledCache({ 'lease/kube-scheduler': [{ metadata: { name: 'kube-scheduler', namespace: 'kube-system' }, spec: {} }] });
    const outcome = await leaseRenewal(context({}, {}, { api: api({ status: 200, body: { metadata: { name: 'kube-scheduler' }, spec: {} } }).api, cache }), 'kube-scheduler');
    assert.equal(outcome.ok, false);
    assert.match(outcome.message, /has no holder: no kube-scheduler is leading/);
  });
});
