import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseJsonCooperatively } from '../../../src/server/json.js';

/** JSON.parse's answer, or the fact that it refused. */
function reference(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false };
  }
}

async function cooperative(text: string, sliceBytes: number): Promise<{ ok: true; value: unknown } | { ok: false; message: string }> {
  try {
    return { ok: true, value: await parseJsonCooperatively(text, { sliceBytes, stepBytes: 64 }) };
  } catch (err) {
    assert.ok(err instanceof SyntaxError, `a refusal is a SyntaxError: ${String(err)}`);
    return { ok: false, message: err.message };
  }
}

describe('server/json: parseJsonCooperatively', () => {
  it('gives what JSON.parse gives for any JSON, however small the slices', async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue({ maxDepth: 6 }), fc.integer({ min: 1, max: 64 }), fc.boolean(), async (value, sliceBytes, pretty) => {
        const text = JSON.stringify(value, null, pretty ? 2 : undefined);
        const ours = await cooperative(text, sliceBytes);
        assert.deepStrictEqual(ours, reference(text));
      }),
      { numRuns: 400 },
    );
  });

  it('refuses what JSON.parse refuses, and accepts nothing it would not', async () => {
    const broken = fc.tuple(fc.jsonValue({ maxDepth: 4 }), fc.nat(), fc.constantFrom('', ',', '}', ']', '"', ':', 'x', '{', '[', ' 1', '\\', '\u0001'), fc.boolean());
    await fc.assert(
      fc.asyncProperty(broken, fc.integer({ min: 1, max: 32 }), async ([value, at, insert, cut], sliceBytes) => {
        const text = JSON.stringify(value);
        const index = text.length === 0 ? 0 : at % text.length;
        const mutated = cut ? text.slice(0, index) + text.slice(index + 1) : text.slice(0, index) + insert + text.slice(index);
        const expected = reference(mutated);
        const ours = await cooperative(mutated, sliceBytes);
        assert.equal(ours.ok, expected.ok, `${JSON.stringify(mutated)}: ${ours.ok ? 'accepted' : (ours as { message: string }).message}`);
        if (expected.ok && ours.ok) assert.deepStrictEqual(ours.value, expected.value);
      }),
      { numRuns: 1000 },
    );
  });

  it('keeps "__proto__" an own key, as JSON.parse does, and duplicate keys take the last value', async () => {
    const text = JSON.stringify({ a: Array.from({ length: 50 }, (_, i) => i), padding: 'x'.repeat(100) }).replace('{', '{"__proto__":{"polluted":true},"b":1,"b":2,');
    const value = (await parseJsonCooperatively(text, { sliceBytes: 16 })) as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(value), Object.prototype);
    assert.deepEqual(Object.getOwnPropertyDescriptor(value, '__proto__')?.value, { polluted: true });
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(value.b, 2);
    assert.deepStrictEqual(value, JSON.parse(text));
  });

  it('leaves out the members it is told to omit, wherever the slices fall, and nothing else', async () => {
    const metadata = fc.record({ name: fc.string(), managedFields: fc.array(fc.jsonValue({ maxDepth: 3 })), labels: fc.dictionary(fc.string(), fc.string()) });
    await fc.assert(
      fc.asyncProperty(metadata, metadata, fc.integer({ min: 1, max: 64 }), async (object, oldObject, sliceBytes) => {
        const text = JSON.stringify({ request: { uid: 'u', object: { metadata: object }, oldObject: { metadata: oldObject }, other: { metadata: object } } });
        const omit = [['request', '*', 'metadata', 'managedFields']];
        const ours = (await parseJsonCooperatively(text, { sliceBytes, stepBytes: 64, omit })) as { request: Record<string, { metadata: Record<string, unknown> }> };
        const expected = JSON.parse(text) as typeof ours;
        // A container no larger than one slice is parsed whole, omitted members and all.
        for (const key of ['object', 'oldObject', 'other']) {
          const metadataText = JSON.stringify(expected.request[key]!.metadata);
          if (JSON.stringify(expected.request[key]).length > sliceBytes && metadataText.length > sliceBytes) delete expected.request[key]!.metadata.managedFields;
        }
        assert.deepStrictEqual(ours, expected);
      }),
      { numRuns: 300 },
    );
  });

  it('refuses nesting deeper than 512 levels at once, rather than keeping a record per level', async () => {
    const deep = '['.repeat(1_000_000) + ']'.repeat(1_000_000);
    await assert.rejects(parseJsonCooperatively(deep), /Nesting deeper than 512 levels in JSON at position 512/);
    const fine = '['.repeat(512) + ']'.repeat(512);
    assert.deepStrictEqual(await parseJsonCooperatively(fine, { sliceBytes: 16 }), JSON.parse(fine));
  });

  it('yields to the event loop while it parses a large document', async () => {
    const text = JSON.stringify({ items: Array.from({ length: 20_000 }, (_, i) => ({ name: `SETTING_${i}`, value: `v${i}` })) });
    let ticks = 0;
    const timer = setInterval(() => ticks++, 0);
    const value = await parseJsonCooperatively(text);
    clearInterval(timer);
    assert.deepStrictEqual(value, JSON.parse(text));
    assert.ok(ticks > 1, `other work ran ${ticks} times meanwhile`);
  });
});
