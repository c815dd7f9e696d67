import assert from 'node:assert/strict';
import { itJudgesTheSharedCases, shippedEvaluator, sharedCases } from '../support/bundle.js';

describe('policies/scale_to_zero.rego through the compiled wasm bundle', () => {
  itJudgesTheSharedCases('scale_to_zero.json', 'scale_to_zero');

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
