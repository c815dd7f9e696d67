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

describe('policies/spot_capacity.rego messages for Cluster API workload clusters', () => {
  const byName = (name: string) => {
    const found = sharedCases('spot_capacity.json', 'spot_capacity').find((policyCase) => policyCase.name === name);
    assert.ok(found, name);
    return found;
  };

  it('names the change, the workload cluster and the spot pools with what makes them spot', async () => {
    const evaluator = await shippedEvaluator();
    const [violation] = evaluator.evaluate(byName("a spot MachineDeployment as the workload cluster's only one").input).violations;
    assert.equal(
      violation?.message.split(' (rule')[0],
      'creating MachineDeployment capi/prod-md-spot would leave workload cluster capi/prod with spot machines only: 3 spot replica(s) (MachineDeployment prod-md-spot (AWSMachineTemplate/prod-spot sets spotMarketOptions): 3 replica(s)) and no on-demand replica',
    );
  });

  it('a scale to 0 says from and to', async () => {
    const evaluator = await shippedEvaluator();
    const [violation] = evaluator.evaluate(byName('scaling the on-demand MachineDeployment to 0 next to a spot one (the cnblogs end state)').input).violations;
    assert.match(violation?.message ?? '', /^scaling MachineDeployment capi\/prod-md-0 from 3 to 0 replica\(s\) would leave workload cluster capi\/prod with spot machines only/);
  });

  it('warns, never refuses, about what levee cannot tell', async () => {
    const evaluator = await shippedEvaluator();
    const violations = evaluator.evaluate(byName('a MachineDeployment whose template levee cannot read is warned about, never held against it').input).violations;
    assert.deepEqual(violations.map((violation) => violation.rule), ['unknown-capacity']);
    assert.match(violations[0]!.message, /counts them as on-demand: MachineDeployment prod-md-x \(AWSMachineTemplate\/later is not known to levee \(yet\)\)/);
  });
});
