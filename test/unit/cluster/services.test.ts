import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ServiceStore } from '../../../src/cluster/services.js';
import { selectorMatches } from '../../../src/cluster/state.js';
import type { ServiceView } from '../../../src/cluster/views.js';

const KEYS = ['app', 'tier', 'part-of', 'instance'];
const VALUES = ['a', 'b', 'c'];
const labels = fc.dictionary(fc.constantFrom(...KEYS), fc.constantFrom(...VALUES), { maxKeys: 4 });
const service = fc.record({ namespace: fc.constantFrom('shop', 'team'), name: fc.constantFrom('s1', 's2', 's3', 's4', 's5', 's6'), selector: labels });
const operation = fc.oneof(
  fc.record({ op: fc.constant('upsert' as const), service }),
  fc.record({ op: fc.constant('remove' as const), namespace: fc.constantFrom('shop', 'team'), name: fc.constantFrom('s1', 's2', 's3', 's4', 's5', 's6') }),
);

describe('cluster/services: ServiceStore', () => {
  it('finds exactly the Services whose whole selector the labels contain, through any sequence of upserts and removals', () => {
    fc.assert(
      fc.property(fc.array(operation, { maxLength: 40 }), fc.constantFrom('shop', 'team'), labels, (operations, namespace, podLabels) => {
        const store = new ServiceStore();
        const truth = new Map<string, ServiceView>();
        for (const step of operations) {
          if (step.op === 'upsert') {
            const key = `${step.service.namespace}/${step.service.name}`;
            store.upsert(key, step.service);
            truth.set(key, step.service);
          } else {
            store.remove(`${step.namespace}/${step.name}`);
            truth.delete(`${step.namespace}/${step.name}`);
          }
        }
        const expected = [...truth.values()].filter((svc) => svc.namespace === namespace && selectorMatches(svc.selector, podLabels)).map((svc) => svc.name).sort();
        const found = store.selecting(namespace, podLabels).map((svc) => svc.name).sort();
        assert.deepEqual(found, expected);
      }),
      { numRuns: 300 },
    );
  });

  it('does not test every Service that shares a selector label', () => {
    const store = new ServiceStore();
    for (let i = 0; i < 5000; i++) store.upsert(`shop/s${i}`, { namespace: 'shop', name: `s${i}`, selector: { 'app.kubernetes.io/instance': 'shop', 'app.kubernetes.io/name': `s${i}` } });
    const found = store.selecting('shop', { 'app.kubernetes.io/instance': 'shop', 'app.kubernetes.io/name': 's42', 'pod-template-hash': 'abc' });
    assert.deepEqual(found.map((svc) => svc.name), ['s42']);
  });

  it('forgets selector shapes on a relist', () => {
    const store = new ServiceStore();
    store.upsert('shop/a', { namespace: 'shop', name: 'a', selector: { app: 'a' } });
    store.replaceAll([['shop/b', { namespace: 'shop', name: 'b', selector: { tier: 'web' } }]]);
    assert.deepEqual(store.selecting('shop', { app: 'a' }), []);
    assert.deepEqual(store.selecting('shop', { tier: 'web', app: 'a' }).map((svc) => svc.name), ['b']);
  });

  it('never matches a Service without a selector', () => {
    const store = new ServiceStore();
    store.upsert('shop/manual', { namespace: 'shop', name: 'manual', selector: {} });
    assert.deepEqual(store.selecting('shop', { app: 'a' }), []);
  });
});
