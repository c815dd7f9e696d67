import assert from 'node:assert/strict';
import { serviceEndpoints } from '../../../../src/probe/probes/service-endpoints.js';
import { context, now } from '../../../support/probe-context.js';

describe('probe/probes/service-endpoints', () => {
  const SERVICES = '/api/v1/services?resourceVersion=0';
  const SLICES = '/apis/discovery.k8s.io/v1/endpointslices?resourceVersion=0';
  const service = (name: string, created: string, selector: Record<string, string> | null = { app: name }, type = 'ClusterIP') => ({
    metadata: { namespace: 'shop', name, creationTimestamp: created },
    spec: { selector, type },
  });
  const slice = (serviceName: string, ready: boolean | null) => ({
    metadata: { namespace: 'shop', name: `${serviceName}-x7k2p`, labels: { 'kubernetes.io/service-name': serviceName } },
    endpoints: [{ addresses: ['10.0.0.1'], conditions: ready === null ? {} : { ready } }],
  });
  const old = new Date(now.getTime() - 3_600_000).toISOString();
  const young = new Date(now.getTime() - 10_000).toISOString();

  it('names Services with a selector and no ready endpoint, and leaves out young, selectorless and ExternalName ones', async () => {
    const outcome = await serviceEndpoints.run(context({
      [SERVICES]: { items: [service('ledger', old), service('web', old), service('fresh', young), service('manual', old, null), service('ext', old, { a: 'b' }, 'ExternalName'), service('nil-ready', old)] },
      [SLICES]: { items: [slice('web', true), slice('ledger', false), slice('nil-ready', null)] },
    }));
    assert.equal(outcome.ok, false);
    assert.equal(outcome.message, '1 of 3 Services with a selector have no ready endpoint: shop/ledger');
  });
});
