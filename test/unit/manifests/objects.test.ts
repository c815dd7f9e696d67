import assert from 'node:assert/strict';
import type { KubeObject } from '../../../src/kube/types.js';
import { documentContents } from '../../../src/manifests/objects.js';

const judged = (object: KubeObject): boolean => object.kind === 'Deployment';

describe('manifests/objects: what a document holds', () => {
  it('a Kubernetes object', () => {
    const [content] = documentContents({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'a' } }, 3);
    assert.deepEqual(content, { kind: 'object', object: { apiVersion: 'v1', kind: 'Service', metadata: { name: 'a' } }, line: 3 });
  });

  it('YAML and JSON that are not Kubernetes objects are "other", never problems', () => {
    for (const value of [{ name: 'pkg', version: '1.0.0' }, { openapi: '3.0.0' }, ['a', 'b'], 'text', 12, { apiVersion: 'v2', name: 'chart' }]) {
      assert.equal(documentContents(value, 1)[0]?.kind, 'other', JSON.stringify(value));
    }
    assert.deepEqual(documentContents(null, 1), []);
    assert.deepEqual(documentContents(undefined, 1), []);
  });

  it('an object without a name: a problem for a judged kind, otherwise not an API object', () => {
    assert.deepEqual(documentContents({ apiVersion: 'apps/v1', kind: 'Deployment', spec: {} }, 5, [], judged), [{ kind: 'problem', line: 5, message: 'Deployment has no metadata.name' }]);
    const [kustomization] = documentContents({ apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', resources: [] }, 1, [], judged);
    assert.equal(kustomization?.kind, 'other');
  });

  it('expands Lists, with each item on its own line; an item that is no object is a problem', () => {
    const list = { apiVersion: 'v1', kind: 'List', items: [{ apiVersion: 'v1', kind: 'Service', metadata: { name: 'a' } }, 'junk', { apiVersion: 'apps/v1', kind: 'DeploymentList', items: [{ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' } }] }] };
    const contents = documentContents(list, 1, [2, 5, 6]);
    assert.deepEqual(contents.map((content) => `${content.kind}@${content.line}`), ['object@2', 'problem@5', 'object@6']);
  });
});
