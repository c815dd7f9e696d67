import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { buildConfig } from '../../src/config.js';
import { ENTRYPOINT, SDK_BUILTINS } from '../../src/engine/evaluator.js';
import { shippedEvaluator } from '../support/bundle.js';

describe('the compiled policy bundle', () => {
  it(`exposes the single entrypoint ${ENTRYPOINT} and loads`, async () => {
    const evaluator = await shippedEvaluator();
    assert.deepEqual(evaluator.evaluate({ context: {} }), { violations: [] });
  });

  it('calls only builtins that the JavaScript wasm host provides', async () => {
    const evaluator = await shippedEvaluator();
    const missing = evaluator.builtins.filter((name) => !SDK_BUILTINS.has(name));
    assert.deepEqual(missing, []);
    // sprintf is one of the few host-provided builtins, and the policies use it for messages.
    assert.ok(evaluator.builtins.includes('sprintf'), `builtins seen: ${evaluator.builtins.join(', ')}`);
  });

  it('the Rego tests run against the same policy configuration the webhook uses by default', () => {
    const regoConfig = JSON.parse(readFileSync('policies/cases/config.json', 'utf8')) as { config: { policies: unknown } };
    assert.deepEqual(regoConfig.config.policies, JSON.parse(JSON.stringify(buildConfig().policies)));
  });
});
