import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { helmPath, renderChart } from '../support/helm.js';

interface ChartSchemaScript {
  SCHEMA_PATH: string;
  chartValuesSchema(): Promise<unknown>;
  renderSchema(schema: unknown): string;
}

/** charts/levee/values.schema.json is generated from the configuration schema in src/config.ts. */
describe('charts/levee/values.schema.json', () => {
  it('is what scripts/lib/chart-schema.mjs generates from levee\'s configuration schema (rerun it after changing src/config.ts)', async () => {
    const script = (await import(pathToFileURL(join(process.cwd(), 'scripts', 'lib', 'chart-schema.mjs')).href)) as ChartSchemaScript;
    assert.equal(readFileSync(script.SCHEMA_PATH, 'utf8'), script.renderSchema(await script.chartValuesSchema()));
  });

  it('puts levee\'s configuration under `config`, closed to unknown keys at every level', () => {
    const schema = JSON.parse(readFileSync(join(process.cwd(), 'charts', 'levee', 'values.schema.json'), 'utf8')) as {
      properties: { config: { additionalProperties: boolean; properties: { policies: { additionalProperties: boolean; properties: Record<string, { additionalProperties: boolean }> } } } };
    };
    const config = schema.properties.config;
    assert.equal(config.additionalProperties, false);
    assert.equal(config.properties.policies.additionalProperties, false);
    assert.deepEqual(Object.keys(config.properties.policies.properties).sort(), ['probe-gate', 'probe-on-change', 'scale-to-zero', 'spot-capacity', 'version-skew']);
    for (const policy of Object.values(config.properties.policies.properties)) assert.equal(policy.additionalProperties, false);
  });

  describe('under helm (the pinned helm, as `helm install` checks values)', function () {
    let scratch = '';
    before(function () {
      this.timeout(1_800_000);
      helmPath();
      scratch = mkdtempSync(join(tmpdir(), 'levee-chart-schema-'));
    });
    after(() => rmSync(scratch, { recursive: true, force: true }));

    // Names no cluster can hold: refused before anything is installed, naming the value (levee would refuse them at start).
    const refused: Array<[string, unknown, RegExp]> = [
      ['a critical label key with a space', { config: { policies: { 'spot-capacity': { critical: { labels: { 'tier class': 'gold' } } } } } }, /'tier class' does not match pattern/],
      ['a spread topology key whose prefix is longer than 253 characters', { config: { policies: { 'spot-capacity': { spread: { topologyKey: `${'p'.repeat(254)}/capacity` } } } } }, /'p{254}\/capacity' does not match pattern/],
      ['an exempt namespace in upper case', { config: { exempt: { namespaces: ['Batch'] } } }, /'Batch' does not match pattern/],
      ['a namespace the webhooks leave out, with spaces', { admission: { excludeNamespaces: ['Not A Namespace'] } }, /'Not A Namespace' does not match pattern/],
    ];
    refused.forEach(([what, values, message], index) => {
      it(`refuses ${what}`, async () => {
        const file = join(scratch, `refused-${index}.json`);
        writeFileSync(file, JSON.stringify(values));
        await assert.rejects(renderChart('levee', 'levee-system', ['--values', file]), (error: Error) => {
          assert.match(error.message, /values don't meet the specifications of the schema/);
          assert.match(error.message, message);
          return true;
        });
      });
    });

    it('takes the names a cluster can hold: a long label-key prefix, mixed-case names, an empty label value', async () => {
      const file = join(scratch, 'taken.json');
      const config = { policies: { 'spot-capacity': { critical: { labels: { [`a${'b'.repeat(70)}c.example.com/Tier_1`]: '' } }, spread: { topologyKey: 'topology.example.com/Capacity' } } } };
      writeFileSync(file, JSON.stringify({ config, admission: { excludeNamespaces: ['batch-0'] } }));
      const objects = await renderChart('levee', 'levee-system', ['--values', file]);
      assert.ok(objects.some((object) => object.kind === 'ConfigMap'));
    });
  });
});
