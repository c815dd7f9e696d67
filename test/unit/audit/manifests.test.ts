import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseManifest, readManifests } from '../../../src/audit/manifests.js';
import { LeveeError } from '../../../src/errors.js';

function rejectsWith(run: () => unknown, pattern: RegExp): void {
  assert.throws(run, (err: unknown) => err instanceof LeveeError && err.code === 'MANIFEST_INVALID' && pattern.test(err.message));
}

describe('audit/manifests', () => {
  it('reads multi-document YAML with comments, keeping ${VAR} placeholders as plain strings', () => {
    const objects = parseManifest(
      ['# a comment', 'apiVersion: v1', 'kind: Service', 'metadata: {name: a}', '---', 'apiVersion: apps/v1', 'kind: Deployment', 'metadata:', '  name: b', '  labels: {tag: "${TAG}"}', '---', ''].join('\n'),
      'app.yaml',
    );
    assert.deepEqual(objects.map((o) => `${o.object.kind}/${o.object.metadata?.name}@${o.source}`), ['Service/a@app.yaml:2', 'Deployment/b@app.yaml:6']);
    assert.equal(objects[1]!.object.metadata?.labels?.tag, '${TAG}');
  });

  it('reads JSON and expands Lists', () => {
    const list = JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [{ apiVersion: 'v1', kind: 'Service', metadata: { name: 'x' } }, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'y' } }] });
    assert.deepEqual(parseManifest(list, 'list.json').map((o) => o.object.kind), ['Service', 'ConfigMap']);
  });

  it('reads a directory recursively, in name order, only manifest files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'levee-manifests-'));
    mkdirSync(join(dir, 'b-sub'));
    writeFileSync(join(dir, 'a.yaml'), 'apiVersion: v1\nkind: Service\nmetadata: {name: one}\n');
    writeFileSync(join(dir, 'b-sub', 'c.yml'), 'apiVersion: v1\nkind: Service\nmetadata: {name: two}\n');
    writeFileSync(join(dir, 'notes.txt'), 'not a manifest');
    assert.deepEqual(readManifests(dir).map((o) => o.object.metadata?.name), ['one', 'two']);
  });

  it('reads stdin for -', () => {
    const objects = readManifests('-', () => 'apiVersion: v1\nkind: Service\nmetadata: {name: piped}\n');
    assert.equal(objects[0]!.source, '<stdin>:1');
  });

  it('names the file and line of broken YAML', () => {
    rejectsWith(() => parseManifest('apiVersion: v1\nkind: Service\nmetadata: {name: x\n', 'broken.yaml'), /^broken\.yaml:\d+: not valid YAML/);
  });

  it('names a document without apiVersion or kind, and one without a name', () => {
    rejectsWith(() => parseManifest('apiVersion: v1\nkind: Service\nmetadata: {name: ok}\n---\nkind: Deployment\nmetadata: {name: y}\n', 'f.yaml'), /^f\.yaml:5: object has no apiVersion or kind/);
    rejectsWith(() => parseManifest('apiVersion: v1\nkind: Service\nspec: {}\n', 'g.yaml'), /^g\.yaml:1: Service has no metadata\.name/);
    rejectsWith(() => parseManifest('- a\n- b\n', 'h.yaml'), /expected a Kubernetes object/);
  });

  it('names a path that does not exist', () => {
    rejectsWith(() => readManifests('/nonexistent/levee/manifests'), /no such file or directory/);
  });
});
