import assert from 'node:assert/strict';
import { shippedEvaluator, sharedCases } from '../support/bundle.js';

describe('policies/spot_capacity.rego through the compiled wasm bundle', () => {
  for (const policyCase of sharedCases('spot_capacity.json', 'spot_capacity')) {
    it(policyCase.name, async () => {
      const evaluator = await shippedEvaluator(policyCase.config?.policies);
      const rules = evaluator.evaluate(policyCase.input).violations.map((violation) => violation.rule).sort();
      assert.deepEqual(rules, [...new Set(policyCase.expect)].sort());
    });
  }

  it('a failure handler gets a finding that says so, never the deny-level rule', async () => {
    const evaluator = await shippedEvaluator();
    const handled = sharedCases('spot_capacity.json', 'spot_capacity').find((policyCase) => policyCase.name.startsWith('the node itself'));
    assert.ok(handled);
    const violations = evaluator.evaluate(handled.input).violations;
    assert.deepEqual(violations.map((violation) => violation.rule), ['on-demand-floor-by-failure-handler']);
    assert.equal(violations[0]!.policy, 'spot-capacity');
    assert.match(violations[0]!.message, /failure handlers/);
  });
});
