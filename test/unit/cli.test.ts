import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { buildConfig } from '../../src/config.js';
import { mutateConditionExpression, registeredMutateCondition } from '../../src/policies/mutate-condition.js';

interface Registration {
  kind: string;
  webhooks?: Array<{ name: string; matchConditions?: Array<{ name: string; expression: string }> }>;
}

function levee(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['bin/levee.js', ...args], { encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('cli: levee webhook-condition', function () {
  this.timeout(30_000);
  let dir = '';
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'levee-webhook-condition-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("prints a patch that kustomize lays over manifests/base: /mutate's condition follows the configuration, the rest stays", () => {
    const layer = { policies: { 'spot-capacity': { critical: { labels: { 'tier.example.com/class': 'gold' }, namespaces: ['ledger-prod'] } } } };
    writeFileSync(join(dir, 'config.yaml'), JSON.stringify(layer));
    const printed = levee(['webhook-condition', '--config', join(dir, 'config.yaml')]);
    assert.equal(printed.status, 0, printed.stderr);
    writeFileSync(join(dir, 'mutate-condition.yaml'), printed.stdout);
    writeFileSync(join(dir, 'kustomization.yaml'), JSON.stringify({ resources: [relative(dir, resolve('manifests/base'))], patches: [{ path: 'mutate-condition.yaml' }] }));
    const built = spawnSync('kubectl', ['kustomize', '--load-restrictor', 'LoadRestrictionsNone', dir], { encoding: 'utf8' });
    assert.equal(built.status, 0, built.stderr);
    const objects = parseAllDocuments(built.stdout).map((doc) => doc.toJSON() as Registration);
    const base = spawnSync('kubectl', ['kustomize', 'manifests/base'], { encoding: 'utf8' });
    const shipped = parseAllDocuments(base.stdout).map((doc) => doc.toJSON() as Registration);
    const mutating = (list: Registration[]) => list.find((object) => object.kind === 'MutatingWebhookConfiguration')!;
    const expected = structuredClone(mutating(shipped));
    const condition = registeredMutateCondition(expected.webhooks ?? [])!;
    condition.expression = mutateConditionExpression(buildConfig(layer).policies['spot-capacity']);
    assert.notEqual(condition.expression, mutateConditionExpression(buildConfig().policies['spot-capacity']));
    assert.deepEqual(mutating(objects), expected);
    assert.deepEqual(objects.filter((object) => object.kind !== 'MutatingWebhookConfiguration'), shipped.filter((object) => object.kind !== 'MutatingWebhookConfiguration'));
  });

  it('refuses a configuration levee would refuse, saying what is wrong', () => {
    writeFileSync(join(dir, 'config.yaml'), JSON.stringify({ policies: { 'spot-capacity': { critical: { namespaces: 'ledger-prod' } } } }));
    const printed = levee(['webhook-condition', '--config', join(dir, 'config.yaml')]);
    assert.equal(printed.status, 2);
    assert.equal(printed.stdout, '');
    assert.match(printed.stderr, /critical\.namespaces/);
  });
});
