import assert from 'node:assert/strict';
import { readStream, readYamlBlocks, type StreamEntry } from '../../../src/manifests/stream.js';

const entries = (text: string): StreamEntry[] => [...readStream(text)];
const summary = (text: string): string[] =>
  entries(text).map((entry) => (entry.kind === 'document' ? `${entry.line}:${JSON.stringify(entry.value)}` : `${entry.line}!${entry.message}`));

describe('manifests/stream: splitting a stream into documents as kubectl does', () => {
  it('splits YAML at lines that start with ---, with the line where each document begins', () => {
    assert.deepEqual(summary('# head\na: 1\n---\n\n# c\nb: 2\n--- # note\nc: 3\n'), ['2:{"a":1}', '6:{"b":2}', '8:{"c":3}']);
  });

  it('reports a separator followed by content, as kubectl does, and reads on', () => {
    assert.deepEqual(summary('a: 1\n--- b: 2\nc: 3\n'), ['1:{"a":1}', '2!invalid YAML document separator: b: 2', '3:{"c":3}']);
  });

  it('reports a broken document with its line and still reads the ones after it', () => {
    const result = summary('a: 1\n---\nb: [1,\n---\nc: 3\n');
    assert.equal(result[0], '1:{"a":1}');
    assert.equal(result[2], '5:{"c":3}');
    const broken = entries('a: 1\n---\nb: [1,\n---\nc: 3\n')[1]!;
    assert.equal(broken.kind, 'problem');
    assert.ok(broken.line >= 3 && broken.line <= 4, `line ${broken.line}`);
  });

  it('reads a stream of concatenated JSON objects', () => {
    assert.deepEqual(summary('{"a":1}{"b":2}\n  {"c":\n3}'), ['1:{"a":1}', '1:{"b":2}', '2:{"c":3}']);
  });

  it('falls back to YAML when a stream that starts with { is a flow mapping, or JSON then YAML', () => {
    assert.deepEqual(summary('{a: 1, b: [x]}\n'), ['1:{"a":1,"b":["x"]}']);
    assert.deepEqual(summary('{"a":1}\n---\nb: 2\n'), ['1:{"a":1}', '3:{"b":2}']);
  });

  it('after two JSON objects, a third that is not JSON is an error', () => {
    const result = summary('{"a":1}\n{"b":2}\n{"c":}\n');
    assert.deepEqual(result.slice(0, 2), ['1:{"a":1}', '2:{"b":2}']);
    assert.match(result[2]!, /^3!not valid JSON/);
  });

  it('refuses JSON nested past the limit with a clear message', () => {
    assert.deepEqual(summary(`{"a":${'['.repeat(100_000)}${']'.repeat(100_000)}}`), ['1!nested deeper than 1000 levels']);
  });

  it('drops a byte order mark, and an empty or comment-only stream has no document', () => {
    assert.deepEqual(summary('\ufeffa: 1\n'), ['1:{"a":1}']);
    assert.deepEqual(entries('').filter((entry) => entry.kind === 'document' && entry.value !== undefined), []);
    assert.deepEqual(entries('# nothing\n---\n---\n').filter((entry) => entry.kind === 'document' && entry.value !== undefined), []);
  });

  it('gives the lines of List items', () => {
    const [list] = entries('apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: A\n- apiVersion: v1\n  kind: B\n');
    assert.equal(list?.kind, 'document');
    assert.deepEqual(list?.kind === 'document' ? list.itemLines : [], [4, 6]);
  });

  it('reads the same documents whether the text arrives whole or in blocks of any size', () => {
    const text = Array.from({ length: 40 }, (_, i) => `# doc ${i}\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c${i}}\ndata: {k: "${'x'.repeat(i * 7)}"}\n---\n`).join('') + 'a: [1,\n---\nlast: true';
    const whole = entries(text);
    for (const size of [1, 7, 64, 1000]) {
      const blocks: string[] = [];
      for (let i = 0; i < text.length; i += size) blocks.push(text.slice(i, i + size));
      assert.deepEqual([...readYamlBlocks(blocks)], whole, `blocks of ${size}`);
    }
  });
});
