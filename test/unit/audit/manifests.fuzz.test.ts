import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseManifest } from '../../../src/audit/manifests.js';
import { LeveeError } from '../../../src/errors.js';

/**
 * Property: whatever text `levee audit -f` is given, the manifest reader either returns
 * Kubernetes-shaped objects (apiVersion, kind, a name, representable as JSON) or throws a
 * MANIFEST_INVALID LeveeError naming the file and line; never any other error, never a hang.
 */

const FILE = 'fuzz.yaml';

function checkParse(text: string): void {
  let objects;
  try {
    objects = parseManifest(text, FILE);
  } catch (err) {
    assert.ok(err instanceof LeveeError, `threw ${(err as Error)?.constructor?.name}: ${(err as Error)?.message}`);
    assert.equal(err.code, 'MANIFEST_INVALID');
    assert.match(err.message, /^fuzz\.yaml:\d+: /);
    return;
  }
  for (const { object, source } of objects) {
    assert.match(source, /^fuzz\.yaml:\d+$/);
    assert.equal(typeof object.apiVersion, 'string');
    assert.equal(typeof object.kind, 'string');
    assert.ok(typeof object.metadata?.name === 'string' || typeof object.metadata?.generateName === 'string', 'an object without a name came through');
    assert.doesNotThrow(() => JSON.stringify(object), 'an object JSON cannot represent came through');
  }
}

const VALID = [
  'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  replicas: 0\n  template:\n    metadata:\n      labels: {app: web}\n',
  'apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  selector:\n    app: web\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {generateName: cfg-}\ndata: {a: "1"}\n',
  '{"apiVersion": "v1", "kind": "List", "items": [{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"}}]}',
  'defaults: &d {apiVersion: v1, kind: ConfigMap}\n---\n<<: *d\nmetadata: {name: merged}\n',
];

/** Pieces of YAML syntax that trip parsers: anchors, aliases, tags, merge keys, flow and block markers, directives. */
const TOKENS = [
  'kind: Pod', 'kind: List', 'apiVersion: v1', 'metadata:', '  name: a', 'items:', '- ', '---', '...', '&a ', '*a', '&b ', '*b',
  '<<: *a', '!!binary ', '!!set ', '!!omap ', '!!int ', '!!str ', '!custom ', '? ', ': ', '{', '}', '[', ']', ',', '"', "'", '#', '|', '>-',
  '%YAML 1.2', '%TAG ! tag:x:', '\t', '  ', '\n', '\r\n', '\u0000', '\ufeff', '0x1F', '1e400', '.nan', '~', 'null', 'true', '${VAR}',
];

function mutate(text: string, edits: Array<{ at: number; cut: number; insert: string }>): string {
  let out = text;
  for (const { at, cut, insert } of edits) {
    const position = out.length === 0 ? 0 : at % (out.length + 1);
    out = out.slice(0, position) + insert + out.slice(position + cut);
  }
  return out;
}

describe('audit/manifests: fuzzing the manifest reader', () => {
  it('survives arbitrary text', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 400 }), checkParse), { numRuns: 1500 });
  });

  it('survives sequences of YAML syntax', () => {
    fc.assert(fc.property(fc.array(fc.constantFrom(...TOKENS), { maxLength: 60 }).map((tokens) => tokens.join('')), checkParse), { numRuns: 2500 });
  });

  it('survives valid manifests with random edits', () => {
    const edit = fc.record({ at: fc.nat(), cut: fc.nat({ max: 12 }), insert: fc.oneof(fc.constantFrom(...TOKENS), fc.string({ maxLength: 4 })) });
    fc.assert(fc.property(fc.constantFrom(...VALID), fc.array(edit, { minLength: 1, maxLength: 6 }), (text, edits) => checkParse(mutate(text, edits))), { numRuns: 2500 });
  });

  it('survives JSON values of any shape', () => {
    fc.assert(fc.property(fc.jsonValue({ maxDepth: 5 }), (value) => checkParse(JSON.stringify(value) ?? 'null')), { numRuns: 1000 });
  });

  it('refuses, with file and line, the inputs the fuzzer found: alias bombs, dangling aliases, self-containing objects', () => {
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x]', ...'bcdefg'.split('').map((name, i) => `${name}: &${name} [${Array(9).fill(`*${'abcdefg'[i]}`).join(', ')}]`), 'kind: Pod', 'apiVersion: v1', 'metadata: {name: p}'].join('\n');
    for (const text of [bomb, 'kind: *nowhere\n', '&x {kind: List, apiVersion: v1, items: [*x]}', 'apiVersion: v1\nkind: Pod\nmetadata: &m {name: a, self: *m}\n']) {
      assert.throws(() => parseManifest(text, FILE), (err: unknown) => err instanceof LeveeError && err.code === 'MANIFEST_INVALID' && /^fuzz\.yaml:1: /.test(err.message));
    }
  });
});
