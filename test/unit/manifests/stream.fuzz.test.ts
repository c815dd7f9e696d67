import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MAX_DEPTH, depthExceeds } from '../../../src/manifests/limits.js';
import { readStream } from '../../../src/manifests/stream.js';

/**
 * Property: whatever text `levee audit -f` is given, the reader never throws and never hangs:
 * every entry is either a document whose value JSON can represent, within the depth limit, or
 * a problem with a line inside the text.
 */
function check(text: string): void {
  const lastLine = text.split('\n').length + 1;
  for (const entry of readStream(text)) {
    assert.ok(entry.line >= 1 && entry.line <= lastLine, `line ${entry.line} outside the text`);
    if (entry.kind === 'problem') {
      assert.equal(typeof entry.message, 'string');
      continue;
    }
    assert.doesNotThrow(() => JSON.stringify(entry.value), 'a value JSON cannot represent came through');
    assert.ok(!depthExceeds(entry.value, MAX_DEPTH + 1));
  }
}

const VALID = [
  'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  replicas: 0\n  template:\n    metadata:\n      labels: {app: web}\n',
  'apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  selector:\n    app: web\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {generateName: cfg-}\ndata: {a: "1"}\n',
  '{"apiVersion": "v1", "kind": "List", "items": [{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"}}]}{"a": 1}',
  'defaults: &d {apiVersion: v1, kind: ConfigMap}\n---\nbase: &b {replicas: 0}\nspec: {replicas: 2, <<: *b}\n',
];

/** Pieces of YAML syntax that trip parsers: anchors, aliases, tags, merge keys, flow and block markers, directives. */
const TOKENS = [
  'kind: Pod', 'kind: List', 'apiVersion: v1', 'metadata:', '  name: a', 'items:', '- ', '---', '...', '&a ', '*a', '&b ', '*b',
  '<<: *a', '<<: [*a, *b]', '!!binary ', '!!set ', '!!omap ', '!!int ', '!!str ', '!!merge ', '!custom ', '? ', ': ', '{', '}', '[', ']', ',', '"', "'", '#', '|', '>-',
  '%YAML 1.1', '%TAG ! tag:x:', '\t', '  ', '\n', '\r\n', '\u0000', '\ufeff', '0x1F', '1e400', '.nan', '~', 'null', 'true', 'yes', '${VAR}', '__proto__: ',
];

function mutate(text: string, edits: Array<{ at: number; cut: number; insert: string }>): string {
  let out = text;
  for (const { at, cut, insert } of edits) {
    const position = out.length === 0 ? 0 : at % (out.length + 1);
    out = out.slice(0, position) + insert + out.slice(position + cut);
  }
  return out;
}

describe('manifests/stream: fuzzing the reader', () => {
  it('survives arbitrary text', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 400 }), check), { numRuns: 1500 });
  });

  it('survives sequences of YAML syntax', () => {
    fc.assert(fc.property(fc.array(fc.constantFrom(...TOKENS), { maxLength: 60 }).map((tokens) => tokens.join('')), check), { numRuns: 2500 });
  });

  it('survives valid manifests with random edits', () => {
    const edit = fc.record({ at: fc.nat(), cut: fc.nat({ max: 12 }), insert: fc.oneof(fc.constantFrom(...TOKENS), fc.string({ maxLength: 4 })) });
    fc.assert(fc.property(fc.constantFrom(...VALID), fc.array(edit, { minLength: 1, maxLength: 6 }), (text, edits) => check(mutate(text, edits))), { numRuns: 2500 });
  });

  it('survives JSON values of any shape', () => {
    fc.assert(fc.property(fc.jsonValue({ maxDepth: 5 }), (value) => check(JSON.stringify(value) ?? 'null')), { numRuns: 1000 });
  });
});
