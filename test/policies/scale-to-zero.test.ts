import assert from 'node:assert/strict';
import { shippedEvaluator, sharedCases } from '../support/bundle.js';

describe('policies/scale_to_zero.rego through the compiled wasm bundle', () => {
  for (const policyCase of sharedCases('scale_to_zero.json', 'scale_to_zero')) {
    it(policyCase.name, async () => {
      const evaluator = await shippedEvaluator(policyCase.config?.policies);
      const rules = evaluator.evaluate(policyCase.input).violations.map((violation) => violation.rule).sort();
      assert.deepEqual(rules, [...policyCase.expect].sort());
    });
  }

  it('every violation carries the policy id, a rule, a message and details', async () => {
    const evaluator = await shippedEvaluator();
    const [first] = sharedCases('scale_to_zero.json', 'scale_to_zero');
    const [violation] = evaluator.evaluate(first!.input).violations;
    assert.ok(violation);
    assert.equal(violation.policy, 'scale-to-zero');
    assert.equal(typeof violation.rule, 'string');
    assert.match(violation.message, /Service web in namespace default/);
    assert.deepEqual(violation.details?.services, ['web']);
  });
});
