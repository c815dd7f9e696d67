import assert from 'node:assert/strict';
import { buildConfig } from '../../src/config.js';
import { decide, findingsOf } from '../../src/engine/decide.js';
import { itJudgesTheSharedCases, shippedEvaluator, sharedCases } from '../support/bundle.js';

describe('policies/probe_gate.rego through the compiled wasm bundle', () => {
  itJudgesTheSharedCases('probe_gate.json', 'probe_gate');

  it('refuses with a message naming the failing probe, its hint, since when, and the override', async () => {
    const evaluator = await shippedEvaluator();
    const [unhealthy] = sharedCases('probe_gate.json', 'probe_gate');
    const violations = evaluator.evaluate(unhealthy!.input).violations;
    const decision = decide(findingsOf(buildConfig(), violations));
    assert.equal(decision.allowed, false);
    const [denial] = decision.denials;
    assert.equal(denial?.policy, 'probe-gate');
    assert.match(denial!.message, /^creating Deployment web is a rollout, and rollouts are paused while the cluster is Unhealthy \(since 2026-11-23T10:00:00\.000Z\)/);
    assert.match(denial!.message, /workload-lifecycle failing since 2026-11-23T10:00:00\.000Z: .*\(hint: Deployment never gets a ReplicaSet: is kube-controller-manager running\?\)/);
    assert.match(denial!.message, /override with levee\.dev\/override: probe-gate$/);
  });

  it('by default only warns on a missing or stale verdict, and denies when unknownAction says so', async () => {
    const missing = sharedCases('probe_gate.json', 'probe_gate').find((c) => c.name === 'no verdict at all')!;
    const defaults = buildConfig();
    const warned = decide(findingsOf(defaults, (await shippedEvaluator()).evaluate(missing.input).violations));
    assert.equal(warned.allowed, true);
    assert.equal(warned.warnings.length, 1);
    assert.match(warned.warnings[0]!, /^levee \[probe-gate\] cluster health unknown: no probe verdict in \/var\/run\/levee\/verdict\.json; is levee probe running\?$/);

    const strict = buildConfig({ policies: { 'probe-gate': { unknownAction: 'deny' } } });
    const denied = decide(findingsOf(strict, (await shippedEvaluator(strict.policies)).evaluate(missing.input).violations));
    assert.equal(denied.allowed, false);
  });
});
