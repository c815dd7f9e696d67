import assert from 'node:assert/strict';
import { ManifestLimitError } from '../../../src/manifests/limits.js';
import { decodeYamlDocument, YamlSyntaxError } from '../../../src/manifests/yaml.js';

const value = (text: string): unknown => decodeYamlDocument(text).value;

function refuses(text: string, pattern: RegExp, kind: typeof YamlSyntaxError | typeof ManifestLimitError = YamlSyntaxError): void {
  assert.throws(() => decodeYamlDocument(text), (err: unknown) => err instanceof kind && pattern.test(err.message), text.slice(0, 80));
}

/** What kubectl applies, as go-yaml v2 (through sigs.k8s.io/yaml) reads these documents. */
describe('manifests/yaml: one document as kubectl reads it', () => {
  describe('merge keys', () => {
    it('a merge before an explicit key: the explicit key wins', () => {
      assert.deepEqual(value('base: &b {replicas: 0}\nspec: {<<: *b, replicas: 3}\n'), { base: { replicas: 0 }, spec: { replicas: 3 } });
    });

    it('a merge after an explicit key overrides it, as go-yaml v2 writes merges in order', () => {
      // The bypass of issue 12: an auditor that let the explicit key win saw 3 replicas.
      assert.deepEqual(value('base: &b {replicas: 0}\nspec:\n  replicas: 3\n  <<: *b\n'), { base: { replicas: 0 }, spec: { replicas: 0 } });
    });

    it('an inline mapping as the merge value, nested merges, and a sequence of merges where earlier ones win', () => {
      assert.deepEqual(value('spec: {<<: {replicas: 0, paused: true}}\n'), { spec: { replicas: 0, paused: true } });
      assert.deepEqual(value('a: &a {x: 1}\nb: &b {<<: *a, z: 3}\nc: {<<: *b}\n'), { a: { x: 1 }, b: { x: 1, z: 3 }, c: { x: 1, z: 3 } });
      assert.deepEqual(value('a: &a {x: 1}\nb: &b {x: 2, w: 2}\nc: {<<: [*a, *b]}\n'), { a: { x: 1 }, b: { x: 2, w: 2 }, c: { x: 1, w: 2 } });
    });

    it('a quoted "<<" is a plain key; !!merge makes a merge', () => {
      assert.deepEqual(value('m: &m {a: 1}\nx: {"<<": *m}\n'), { m: { a: 1 }, x: { '<<': { a: 1 } } });
      assert.deepEqual(value('m: &m {a: 1}\nx: {!!merge <<: *m}\n'), { m: { a: 1 }, x: { a: 1 } });
    });

    it('refuses a merge of something that is not a mapping', () => {
      refuses('s: &s hello\nx: {<<: *s}\n', /map merge requires map/);
      refuses('x: {<<: [a, b]}\n', /map merge requires map/);
    });
  });

  it('duplicate keys: the last one wins', () => {
    assert.deepEqual(value('replicas: 0\nreplicas: 2\n'), { replicas: 2 });
  });

  it('YAML 1.1 scalars, as go-yaml v2 resolves them', () => {
    assert.deepEqual(value('a: yes\nb: "yes"\nc: off\nd: 0755\ne: 08\nf: 0o17\ng: 0x1F\nh: 1_000\ni: 1e3\nj: .5\nk: ~\nl: -0b101\nm: 2024-01-02\nq: 2024-01-02T03:04:05.120+02:00\no: 12:30\np: y\n'), {
      a: true, b: 'yes', c: false, d: 493, e: 8, f: 15, g: 31, h: 1000, i: 1000, j: 0.5, k: null, l: -5, m: '2024-01-02T00:00:00Z', q: '2024-01-02T03:04:05.12+02:00', o: '12:30', p: true,
    });
  });

  it('keys become JSON keys as sigs.k8s.io/yaml makes them', () => {
    assert.deepEqual(value('1: a\nyes: b\n1.5: c\nn: d\n0x10: e\n'), { 1: 'a', true: 'b', '1.5': 'c', false: 'd', 16: 'e' });
  });

  it('explicit tags: standard ones resolve, unknown ones keep the text, a wrong one is refused', () => {
    assert.deepEqual(value('a: !!int "12"\nb: !custom 5\nc: !!str 12\nd: !!float 3\ne: !!binary aGVsbG8=\n'), { a: 12, b: '5', c: '12', d: 3, e: 'hello' });
    refuses('a: !!int twelve\n', /cannot resolve a node with !<tag:yaml.org,2002:int> explicit tag/);
  });

  it('values JSON cannot hold are refused, as kubectl refuses them', () => {
    refuses('a: .nan\n', /NaN cannot be written as JSON/);
    refuses('a: .inf\n', /Infinity cannot be written as JSON/);
  });

  it('a key named __proto__ is an ordinary key, never a prototype', () => {
    const decoded = value('__proto__: {polluted: true}\n') as Record<string, unknown>;
    assert.deepEqual(Object.keys(decoded), ['__proto__']);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(Object.getPrototypeOf(decoded), Object.prototype);
  });

  describe('aliases', () => {
    it('accepts an anchor reused many times', () => {
      const text = `common: &c {app: web, tier: front, team: shop}\nitems:\n${Array.from({ length: 3000 }, (_, i) => `- {name: n${i}, labels: *c}`).join('\n')}\n`;
      const decoded = value(text) as { items: Array<{ labels: unknown }> };
      assert.equal(decoded.items.length, 3000);
      assert.deepEqual(decoded.items[2999]!.labels, { app: 'web', tier: 'front', team: 'shop' });
      assert.notEqual(decoded.items[0]!.labels, decoded.items[1]!.labels, 'each alias is its own copy');
    });

    it('refuses a billion-laughs document quickly, without expanding it', () => {
      const levels = 'abcdefghi'.split('');
      const bomb = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]', ...levels.slice(1).map((name, i) => `${name}: &${name} [${Array(9).fill(`*${levels[i]}`).join(',')}]`)].join('\n');
      const started = Date.now();
      refuses(bomb, /excessive aliasing/, ManifestLimitError);
      assert.ok(Date.now() - started < 5000);
    });

    it('refuses an alias to no anchor, and an anchor that contains itself', () => {
      refuses('a: *nowhere\n', /unidentified alias "nowhere"/);
      refuses('a: &x {b: [*x]}\n', /anchor value contains itself/);
    });
  });

  it('refuses nesting past the limit with a clear message instead of overflowing the stack', () => {
    for (const text of ['['.repeat(100_000) + ']'.repeat(100_000), '- '.repeat(100_000) + 'x', '{a: '.repeat(100_000) + '}'.repeat(100_000)]) {
      refuses(text, /nested deeper than 1000 levels/, ManifestLimitError);
    }
    assert.doesNotThrow(() => decodeYamlDocument('['.repeat(900) + ']'.repeat(900)));
  });

  it('an empty document has no value', () => {
    assert.equal(value(''), undefined);
    assert.equal(value('# a comment only\n'), undefined);
    assert.equal(value('~\n'), null);
  });

  it('says where each item of a top-level items sequence starts', () => {
    const text = 'apiVersion: v1\nkind: List\nitems:\n- kind: A\n  apiVersion: v1\n  # a comment\n\n- kind: B\n  apiVersion: v1\nmetadata: {}\n';
    const { itemOffsets } = decodeYamlDocument(text);
    assert.deepEqual(itemOffsets.map((offset) => text.slice(offset, offset + 9)), ['- kind: A', '- kind: B']);
    const indented = 'kind: List\nitems:\n  - {kind: A}\n  - kind: B\n    x: 1\n';
    assert.deepEqual(decodeYamlDocument(indented).itemOffsets.map((offset) => indented.slice(offset, offset + 3)), ['- {', '- k']);
  });

  it('reads flow collections whose lines are not indented under their key, as kubectl does', () => {
    assert.deepEqual(value('c:\n  args: [\n      "a", "b",\n  ]\n  more: [\n  "c",\n    "d"]\n'), { c: { args: ['a', 'b'], more: ['c', 'd'] } });
    assert.deepEqual(value('args: [\n  "a",\n]\n'), { args: ['a'] });
  });

  it('refuses a document that repeats a key and also merges keys, rather than guess which value wins', () => {
    refuses('base: &b {replicas: 0}\nspec: {replicas: 3, <<: *b, replicas: 2}\n', /repeated in a document that also uses merge keys/);
  });
});
