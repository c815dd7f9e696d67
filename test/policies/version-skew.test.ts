import assert from 'node:assert/strict';
import { itJudgesTheSharedCases, shippedEvaluator, sharedCases } from '../support/bundle.js';

describe('policies/version_skew.rego through the compiled wasm bundle', () => {
  itJudgesTheSharedCases('version_skew.json', 'version_skew');

  it('every violation names the policy and rule, quotes both versions, and carries the context as details', async () => {
    const evaluator = await shippedEvaluator();
    const [replay] = sharedCases('version_skew.json', 'version_skew');
    const violations = evaluator.evaluate(replay!.input).violations;
    assert.equal(violations.length, 2);
    for (const violation of violations) {
      assert.equal(violation.policy, 'version-skew');
      assert.match(violation.message, /v1\.12\.10/);
      assert.match(violation.message, /v1\.20\.2/);
      assert.ok(violation.message.includes(`rule ${violation.rule}`), violation.message);
      assert.equal((violation.details as { subject?: string }).subject, 'intent');
    }
  });
});
