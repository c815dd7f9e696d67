import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InputBudget } from '../../../src/audit/limits.js';
import { readInputs, type AuditInput } from '../../../src/audit/reading.js';

async function read(targets: string[], budget = new InputBudget()): Promise<AuditInput[]> {
  const out: AuditInput[] = [];
  for await (const input of readInputs(targets, { budget })) out.push(input);
  return out;
}

const describeInput = (input: AuditInput): string =>
  input.kind === 'object' ? `${input.object.metadata?.name}@${input.source}` : input.kind === 'template' ? `template:${input.file}` : `${input.kind}@${input.source}`;

describe('audit/reading', () => {
  it('walks a directory in name order, manifest files only, passing over hidden directories and node_modules', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'levee-reading-'));
    for (const sub of ['b', '.git', 'node_modules/pkg']) mkdirSync(join(dir, sub), { recursive: true });
    writeFileSync(join(dir, 'a.yaml'), 'apiVersion: v1\nkind: Service\nmetadata: {name: one}\n');
    writeFileSync(join(dir, 'b', 'c.yml'), 'apiVersion: v1\nkind: Service\nmetadata: {name: two}\n');
    writeFileSync(join(dir, 'b', 'd.JSON'), '{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "three"}}');
    writeFileSync(join(dir, 'notes.txt'), 'apiVersion: v1\nkind: Service\nmetadata: {name: never}\n');
    writeFileSync(join(dir, '.git', 'x.yaml'), 'apiVersion: v1\nkind: Service\nmetadata: {name: hidden}\n');
    writeFileSync(join(dir, 'node_modules', 'pkg', 'x.yaml'), 'apiVersion: v1\nkind: Service\nmetadata: {name: vendored}\n');
    assert.deepEqual((await read([dir])).map((input) => input.kind === 'object' && input.object.metadata?.name), ['one', 'two', 'three']);
  });

  it('reads a file named directly whatever its extension, and reports one it cannot read', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'levee-reading-'));
    writeFileSync(join(dir, 'manifest.txt'), 'apiVersion: v1\nkind: Service\nmetadata: {name: direct}\n');
    symlinkSync(join(dir, 'missing'), join(dir, 'dangling.yaml'));
    assert.deepEqual((await read([join(dir, 'manifest.txt')])).map(describeInput), [`direct@${join(dir, 'manifest.txt')}:1`]);
    const [dangling] = await read([dir]);
    assert.equal(dangling?.kind, 'problem');
    assert.match(dangling?.kind === 'problem' ? dangling.message : '', /cannot read: ENOENT/);
  });

  it('reads UTF-16 files that carry a byte order mark', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'levee-reading-'));
    const text = 'apiVersion: v1\nkind: Service\nmetadata: {name: wide}\n';
    writeFileSync(join(dir, 'le.yaml'), Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]));
    assert.deepEqual((await read([dir])).map(describeInput), [`wide@${join(dir, 'le.yaml')}:1`]);
  });

  it('reads a large file in blocks with the same result, lines included', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'levee-reading-'));
    const doc = (i: number): string => `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c${i}}\ndata:\n  k: "${'é'.repeat(300)}"\n---\n`;
    const count = 9000;
    writeFileSync(join(dir, 'big.yaml'), Array.from({ length: count }, (_, i) => doc(i)).join(''));
    const inputs = await read([join(dir, 'big.yaml')]);
    assert.equal(inputs.length, count);
    assert.equal(describeInput(inputs[count - 1]!), `c${count - 1}@${join(dir, 'big.yaml')}:${(count - 1) * 6 + 1}`);
    assert.ok(inputs.every((input) => input.kind === 'object' && (input.object.data as { k: string }).k === 'é'.repeat(300)), 'no character split at a block boundary');
  });

  it('counts every byte against the budget, across files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'levee-reading-'));
    writeFileSync(join(dir, 'a.yaml'), 'x'.repeat(100));
    writeFileSync(join(dir, 'b.yaml'), 'y'.repeat(100));
    const budget = new InputBudget(150);
    await assert.rejects(read([dir], budget), /larger than --max-bytes 150 \(150 bytes\), reached at .*b\.yaml/);
  });
});
