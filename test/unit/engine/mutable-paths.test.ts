import assert from 'node:assert/strict';
import fastJsonPatch from 'fast-json-patch';
import { copyAlong, MUTABLE_PATHS, sliceAlong } from '../../../src/engine/mutable-paths.js';
import type { KubeObject } from '../../../src/kube/types.js';

const { compare, applyPatch } = fastJsonPatch;

function deployment(annotations?: Record<string, string>, constraints?: unknown[]): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'shop', labels: { app: 'web' }, ...(annotations ? { annotations } : {}), managedFields: [{ manager: 'kubectl', fieldsV1: { 'f:spec': {} } }] },
    spec: {
      replicas: 3,
      template: {
        metadata: { labels: { app: 'web' } },
        spec: { containers: [{ name: 'app', image: 'registry.example/web:1', env: [{ name: 'A', value: '1' }] }], ...(constraints ? { topologySpreadConstraints: constraints } : {}) },
      },
    },
  } as KubeObject;
}

/** The edits levee's mutation makes: stamps added or dropped, a spread constraint appended. */
const edits: Array<[string, (copy: KubeObject) => void]> = [
  ['adds stamps to objects without annotations', (copy) => (copy.metadata = { ...copy.metadata, annotations: { ...(copy.metadata?.annotations ?? {}), 'levee.dev/overridden-by': 'alice' } })],
  ['drops a forged stamp', (copy) => (copy.metadata = { ...copy.metadata, annotations: Object.fromEntries(Object.entries(copy.metadata?.annotations ?? {}).filter(([k]) => !k.startsWith('levee.dev/overridden-'))) })],
  [
    'appends a spread constraint',
    (copy) => {
      const spec = (copy.spec as { template: { spec: { topologySpreadConstraints?: unknown[] } } }).template.spec;
      spec.topologySpreadConstraints = [...(spec.topologySpreadConstraints ?? []), { maxSkew: 1, topologyKey: 'karpenter.sh/capacity-type', whenUnsatisfiable: 'ScheduleAnyway' }];
    },
  ],
  ['changes nothing', () => undefined],
];
const objects: Array<[string, KubeObject]> = [
  ['bare', deployment()],
  ['with a forged stamp and constraints', deployment({ 'levee.dev/overridden-by': 'mallory', keep: 'x' }, [{ maxSkew: 2, topologyKey: 'zone' }])],
];

describe('engine/mutable-paths', () => {
  for (const [objectName, object] of objects) {
    for (const [editName, edit] of edits) {
      it(`${editName} (${objectName}): the patch on the slices is the patch on the whole objects, and applies to the whole object`, () => {
        const before = structuredClone(object);
        const copy = copyAlong(object);
        edit(copy);
        assert.deepStrictEqual(object, before, 'the original is untouched');
        const whole = structuredClone(object);
        edit(whole);
        const expected = compare(object, whole);
        const patch = compare(sliceAlong(object), sliceAlong(copy));
        assert.deepStrictEqual(patch, expected);
        assert.deepStrictEqual(applyPatch(structuredClone(object), patch, true).newDocument, whole);
      });
    }
  }

  it('shares what no mutation writes with the original, and copies what it may write', () => {
    const object = objects[1]![1];
    const copy = copyAlong(object);
    assert.equal(copy.metadata?.managedFields, object.metadata?.managedFields, 'managedFields are not copied');
    const spec = (o: KubeObject) => (o.spec as { template: { spec: { containers: unknown; topologySpreadConstraints: unknown } } }).template.spec;
    assert.equal(spec(copy).containers, spec(object).containers, 'containers are not copied');
    assert.notEqual(copy.metadata?.annotations, object.metadata?.annotations);
    assert.notEqual(spec(copy).topologySpreadConstraints, spec(object).topologySpreadConstraints);
    assert.deepEqual(Object.keys(sliceAlong(object)).sort(), [...new Set(MUTABLE_PATHS.map((path) => path[0]))].sort());
  });
});
