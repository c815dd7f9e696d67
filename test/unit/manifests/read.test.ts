import assert from 'node:assert/strict';
import { LeveeError } from '../../../src/errors.js';
import { manifestObjects } from '../../../src/manifests/read.js';

describe('manifests/read', () => {
  it('gives the objects of a stream, Lists expanded, other documents left out', () => {
    const text = 'apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Service, metadata: {name: a}}\n---\nfoo: bar\n---\n{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b"}}\n';
    assert.deepEqual(manifestObjects(text).map((object) => `${object.kind}/${object.metadata?.name}`), ['Service/a', 'ConfigMap/b']);
  });

  it('throws on a document that does not parse, naming the line', () => {
    assert.throws(() => manifestObjects('a: 1\n---\nb: [\n', 'webhooks.yaml'), (err: unknown) => err instanceof LeveeError && err.code === 'MANIFEST_INVALID' && /^webhooks\.yaml:\d+: not valid YAML/.test(err.message));
  });
});
