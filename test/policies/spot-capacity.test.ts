import assert from 'node:assert/strict';
import { itJudgesTheSharedCases, shippedEvaluator, sharedCases } from '../support/bundle.js';

describe('policies/spot_capacity.rego through the compiled wasm bundle', () => {
  itJudgesTheSharedCases('spot_capacity.json', 'spot_capacity');

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

describe('policies/spot_capacity.rego messages for MachineDeployments', () => {
  const byName = (name: string) => {
    const found = sharedCases('spot_capacity.json', 'spot_capacity').find((policyCase) => policyCase.name === name);
    assert.ok(found, name);
    return found;
  };

  it('names the MachineDeployment, its workload cluster, the template and the field that asks for spot', async () => {
    const evaluator = await shippedEvaluator();
    const [violation] = evaluator.evaluate(byName("a spot MachineDeployment as the workload cluster's only one").input).violations;
    assert.equal(
      violation?.message.split(' (rule')[0],
      'MachineDeployment capi/prod-md-spot of cluster prod would make only spot machines (AWSMachineTemplate/prod-spot sets spotMarketOptions) and no other MachineDeployment of the cluster can make on-demand machines',
    );
  });

  it('on delete, says how many MachineDeployments would remain', async () => {
    const evaluator = await shippedEvaluator();
    const [violation] = evaluator.evaluate(byName('deleting the only on-demand MachineDeployment while spot ones remain').input).violations;
    assert.match(violation?.message ?? '', /^deleting MachineDeployment capi\/prod-md-0 leaves 1 MachineDeployment\(s\) of cluster prod, none of which can make on-demand machines/);
  });
});
