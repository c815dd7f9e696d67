import assert from 'node:assert/strict';
import { buildConfig } from '../../src/config.js';
import { decide, findingsOf } from '../../src/engine/decide.js';
import { itJudgesTheSharedCases, shippedEvaluator, sharedCases } from '../support/bundle.js';

describe('policies/probe_on_change.rego through the compiled wasm bundle', () => {
  itJudgesTheSharedCases('probe_on_change.json', 'probe_on_change');

  it('refuses a platform change while the run is pending, naming the change before it and when to retry', async () => {
    const evaluator = await shippedEvaluator();
    const [pending] = sharedCases('probe_on_change.json', 'probe_on_change');
    const decision = decide(findingsOf(buildConfig(), evaluator.evaluate(pending!.input).violations));
    assert.equal(decision.allowed, false);
    assert.match(decision.denials[0]!.message, /^a probe run after creating DaemonSet kube-system\/kube-proxy \(admitted 4 s ago\) is in progress; retry in 6 s\./);
  });

  it('only warns after a run that gave no verdict, and denies when unknownAction says so', async () => {
    const unknown = sharedCases('probe_on_change.json', 'probe_on_change').find((c) => c.name === 'after a run that gave no verdict')!;
    const warned = decide(findingsOf(buildConfig(), (await shippedEvaluator()).evaluate(unknown.input).violations));
    assert.equal(warned.allowed, true);
    assert.match(warned.warnings[0]!, /^levee \[probe-on-change\] the probe run after creating DaemonSet kube-system\/kube-proxy gave no verdict \(levee probe unreachable\)/);
    const strict = buildConfig({ policies: { 'probe-on-change': { unknownAction: 'deny' } } });
    assert.equal(decide(findingsOf(strict, (await shippedEvaluator(strict.policies)).evaluate(unknown.input).violations)).allowed, false);
  });
});
