import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

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
});
