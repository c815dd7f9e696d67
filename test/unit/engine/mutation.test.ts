import assert from 'node:assert/strict';
import fc from 'fast-check';
import fastJsonPatch from 'fast-json-patch';
import { describePatchProblem, patchBetween } from '../../../src/engine/mutation.js';
import type { KubeObject } from '../../../src/kube/types.js';
import { LeveeError } from '../../../src/errors.js';
import { deploymentObject } from '../../support/reviews.js';

const { applyPatch } = fastJsonPatch;

/** An object as a webhook receives it: parsed JSON, so no two fields share one object. */
function parsed(object: KubeObject): KubeObject {
  return JSON.parse(JSON.stringify(object)) as KubeObject;
}

function applied(original: KubeObject, patch: ReturnType<typeof patchBetween>): unknown {
  return applyPatch(structuredClone(original), structuredClone(patch)).newDocument;
}

describe('engine/mutation: patchBetween', () => {
  it('diffs a modified copy into a patch that turns the original into the copy', () => {
    const original = parsed(deploymentObject('web', 'default', 3, { app: 'web' }, { keep: 'yes', drop: 'me' }));
    const modified = structuredClone(original);
    modified.spec = { ...(modified.spec as object), replicas: 5 };
    delete modified.metadata!.annotations!.drop;
    modified.metadata!.labels = { app: 'web', tier: 'front' };
    const patch = patchBetween(original, modified);
    assert.ok(patch.length > 0);
    assert.deepEqual(applied(original, patch), modified);
  });

  it('leaves the original untouched', () => {
    const original = parsed(deploymentObject('web', 'default', 3, { app: 'web' }, { drop: 'me' }));
    const before = structuredClone(original);
    const modified = structuredClone(original);
    delete modified.metadata!.annotations!.drop;
    patchBetween(original, modified);
    assert.deepEqual(original, before);
  });

  it('is empty when nothing changed', () => {
    const original = parsed(deploymentObject('web', 'default', 3, { app: 'web' }));
    assert.deepEqual(patchBetween(original, structuredClone(original)), []);
  });

  it('escapes "/" and "~" in keys as JSON Pointer requires', () => {
    const original: KubeObject = { metadata: { annotations: { 'levee.dev/overridden-by': 'alice', 'a~b': 'x', other: 'y' } } };
    const modified = structuredClone(original);
    delete modified.metadata!.annotations!['levee.dev/overridden-by'];
    delete modified.metadata!.annotations!['a~b'];
    const patch = patchBetween(original, modified);
    const paths = patch.map((op) => op.path).sort();
    assert.deepEqual(paths, ['/metadata/annotations/a~0b', '/metadata/annotations/levee.dev~1overridden-by']);
    assert.deepEqual(applied(original, patch), { metadata: { annotations: { other: 'y' } } });
  });

  it('round-trips arbitrary JSON edits', () => {
    const key = fc.stringMatching(/^[a-z][a-z0-9./~-]{0,12}$/);
    const json = fc.jsonValue({ maxDepth: 3 }).filter((value) => !/"(__proto__|prototype|constructor)"/.test(JSON.stringify(value)));
    const object = fc.record({ metadata: fc.dictionary(key, json, { maxKeys: 4 }), spec: fc.dictionary(key, json, { maxKeys: 4 }) });
    fc.assert(
      fc.property(object, object, (originalRaw, modifiedRaw) => {
        // JSON round trip first: an admission object is always parsed JSON (no -0, no undefined).
        const original = parsed(originalRaw);
        const modified = parsed(modifiedRaw);
        assert.deepEqual(applied(original, patchBetween(original, modified)), modified);
      }),
      { numRuns: 200 },
    );
  });

  it('refuses to hand out a patch that does not apply to the original', () => {
    // A property present but undefined is invisible to JSON, so removing it cannot apply.
    const original: KubeObject = { metadata: { name: 'web', annotations: undefined } };
    const modified: KubeObject = { metadata: { name: 'web' } };
    assert.throws(
      () => patchBetween(original, modified),
      (err: unknown) => err instanceof LeveeError && err.code === 'PATCH_INVALID' && /does not apply/.test(err.message),
    );
  });
});

describe('engine/mutation: a patch that does not apply is described without the object', () => {
  it('names the code, operation and path, never the value or the document fast-json-patch quotes', () => {
    const secret = 'hunter2-token-value';
    const document = { metadata: { name: 'web' }, spec: { env: [{ name: 'PASSWORD', value: secret }] } };
    const problem = fastJsonPatch.validate([{ op: 'replace', path: '/spec/missing/deep', value: { password: secret } }], document);
    assert.ok(problem, 'the patch does not apply');
    assert.match(problem.message, new RegExp(secret), 'fast-json-patch itself quotes the document');
    const described = describePatchProblem(problem);
    assert.doesNotMatch(described, new RegExp(secret));
    assert.match(described, /^OPERATION_PATH_UNRESOLVABLE at operation 0 \(replace \/spec\/missing\/deep\)$/);
  });
});
