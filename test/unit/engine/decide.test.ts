import assert from 'node:assert/strict';
import type { AdmissionRequest } from '../../../src/kube/types.js';
import { buildConfig, POLICY_IDS, type PolicyId } from '../../../src/config.js';
import { actionFor, decide, deniedPolicies, denialMessage, exemptPolicies, findingsOf, type Decision } from '../../../src/engine/decide.js';
import type { OverrideOutcome } from '../../../src/engine/overrides.js';
import type { LeveeConfig } from '../../../src/config.js';
import type { Violation } from '../../../src/engine/evaluator.js';
import { admissionRequest, GVK, GVR } from '../../support/requests.js';

const scaleToZero: Violation = { policy: 'scale-to-zero', rule: 'scale-to-zero', message: 'scaling Deployment/web to 0 replicas would leave Service web with no endpoints' };
const autoscaler: Violation = { policy: 'scale-to-zero', rule: 'autoscaler-to-zero', message: 'HorizontalPodAutoscaler/web can scale Deployment/web to 0 replicas' };
const deleted: Violation = { policy: 'scale-to-zero', rule: 'last-backend-deleted', message: 'deleting Deployment/web leaves Service web with no endpoints' };

function request(options: { namespace?: string; username?: string; groups?: readonly string[] } = {}): AdmissionRequest {
  const { groups, ...rest } = options;
  return admissionRequest({ kind: GVK.deployment, resource: GVR.deployments, operation: 'UPDATE', name: 'web', ...rest, ...(groups ? { groups: [...groups] } : {}) });
}

const sorted = (ids: Set<PolicyId>): PolicyId[] => [...ids].sort();

function decisionOf(config: LeveeConfig, violations: readonly Violation[], overrides?: OverrideOutcome): Decision {
  return decide(findingsOf(config, violations), overrides);
}

describe('engine/decide', () => {
  describe('actionFor', () => {
    it('uses the policy action for a rule without its own', () => {
      assert.equal(actionFor(buildConfig(), scaleToZero), 'deny');
      assert.equal(actionFor(buildConfig({ policies: { 'scale-to-zero': { action: 'warn' } } }), scaleToZero), 'warn');
    });

    it('lets a per-rule action override the policy action: autoscaler-to-zero warns by default', () => {
      assert.equal(actionFor(buildConfig(), autoscaler), 'warn');
      assert.equal(actionFor(buildConfig(), deleted), 'warn');
      const strict = buildConfig({ policies: { 'scale-to-zero': { action: 'audit', rules: { 'autoscaler-to-zero': 'deny' } } } });
      assert.equal(actionFor(strict, autoscaler), 'deny');
      assert.equal(actionFor(strict, scaleToZero), 'audit');
    });

    it('denies a violation from a policy it has no configuration for', () => {
      assert.equal(actionFor(buildConfig(), { policy: 'no-such-policy', rule: 'r', message: 'm' }), 'deny');
    });
  });

  describe('decide', () => {
    it('allows when there are no violations', () => {
      assert.deepEqual(decisionOf(buildConfig(), []), { allowed: true, findings: [], denials: [], warnings: [], overrides: { honoured: [], ignored: [] }, refusals: [] });
    });

    it('denies on a deny-level finding and explains it', () => {
      const decision = decisionOf(buildConfig(), [scaleToZero]);
      assert.equal(decision.allowed, false);
      assert.deepEqual(decision.denials, [{ ...scaleToZero, action: 'deny' }]);
      assert.deepEqual(decision.warnings, []);
      assert.equal(denialMessage(decision), `levee denied this request: [scale-to-zero] ${scaleToZero.message}`);
    });

    it('allows with a warning for an autoscaler that can reach zero', () => {
      const decision = decisionOf(buildConfig(), [autoscaler]);
      assert.equal(decision.allowed, true);
      assert.deepEqual(decision.denials, []);
      assert.deepEqual(decision.warnings, [`levee [scale-to-zero] ${autoscaler.message}`]);
    });

    it('records an audit finding but neither denies nor warns', () => {
      const config = buildConfig({ policies: { 'scale-to-zero': { action: 'audit', rules: { 'autoscaler-to-zero': 'audit' } } } });
      const decision = decisionOf(config, [scaleToZero, autoscaler]);
      assert.equal(decision.allowed, true);
      assert.deepEqual(decision.denials, []);
      assert.deepEqual(decision.warnings, []);
      assert.deepEqual(decision.findings.map((finding) => finding.action), ['audit', 'audit']);
    });

    it('joins every denial into one message, each tagged with its policy', () => {
      const config = buildConfig({ policies: { 'scale-to-zero': { rules: { 'last-backend-deleted': 'deny' } } } });
      const decision = decisionOf(config, [scaleToZero, deleted, autoscaler]);
      assert.equal(decision.denials.length, 2);
      assert.equal(decision.warnings.length, 1);
      assert.equal(denialMessage(decision), `levee denied this request: [scale-to-zero] ${scaleToZero.message}; [scale-to-zero] ${deleted.message}`);
    });

    it('keeps the details of a violation in its finding', () => {
      const decision = decisionOf(buildConfig(), [{ ...scaleToZero, details: { services: ['web'] } }]);
      assert.deepEqual(decision.findings[0]?.details, { services: ['web'] });
    });

    it('truncates a warning to 256 characters, ending it with an ellipsis', () => {
      const long: Violation = { ...autoscaler, message: 'x'.repeat(400) };
      const [warning] = decisionOf(buildConfig(), [long]).warnings;
      assert.equal(warning?.length, 256);
      assert.ok(warning?.startsWith('levee [scale-to-zero] xxx'));
      assert.ok(warning?.endsWith('...'));
    });

    it('keeps a warning of exactly 256 characters whole', () => {
      const prefix = 'levee [scale-to-zero] ';
      const exact: Violation = { ...autoscaler, message: 'y'.repeat(256 - prefix.length) };
      const [warning] = decisionOf(buildConfig(), [exact]).warnings;
      assert.equal(warning, prefix + exact.message);
      assert.equal(warning?.length, 256);
    });
  });

  describe('findingsOf and deniedPolicies', () => {
    it('attaches each violation\'s action and names the policies that deny', () => {
      const config = buildConfig({ policies: { 'probe-gate': { action: 'warn' } } });
      const findings = findingsOf(config, [scaleToZero, autoscaler, { policy: 'probe-gate', rule: 'unhealthy', message: 'm' }]);
      assert.deepEqual(findings.map((finding) => finding.action), ['deny', 'warn', 'warn']);
      assert.deepEqual([...deniedPolicies(findings)], ['scale-to-zero']);
      assert.deepEqual([...deniedPolicies(findingsOf(config, [autoscaler]))], []);
    });
  });

  describe('decide with overrides', () => {
    const honoured = { policy: 'scale-to-zero' as const, reason: 'INC-7: moving ledger', expires: '2026-11-23T18:00:00Z', author: 'alice' };

    it('lifts the denials of an overridden policy, marks them, and warns', () => {
      const decision = decisionOf(buildConfig(), [scaleToZero], { honoured: [honoured], ignored: [] });
      assert.equal(decision.allowed, true);
      assert.deepEqual(decision.denials, []);
      assert.equal(decision.findings[0]?.overridden, true);
      assert.deepEqual(decision.warnings, ['levee [scale-to-zero] overridden until 2026-11-23T18:00:00Z by alice: INC-7: moving ledger']);
    });

    it('does not lift the denials of another policy', () => {
      const skew: Violation = { policy: 'version-skew', rule: 'kubelet-ahead', message: 'kubelet newer than the API server' };
      const decision = decisionOf(buildConfig(), [scaleToZero, skew], { honoured: [honoured], ignored: [] });
      assert.equal(decision.allowed, false);
      assert.deepEqual(decision.denials.map((finding) => finding.policy), ['version-skew']);
    });

    it('leaves warn-level findings as warnings, not overridden', () => {
      const decision = decisionOf(buildConfig(), [autoscaler], { honoured: [honoured], ignored: [] });
      assert.equal(decision.findings[0]?.overridden, undefined);
      assert.equal(decision.warnings[0], `levee [scale-to-zero] ${autoscaler.message}`);
    });

    it('explains an ignored override in the denial message', () => {
      const decision = decisionOf(buildConfig(), [scaleToZero], { honoured: [], ignored: [{ policy: 'scale-to-zero', why: 'no reason given' }] });
      assert.equal(decision.allowed, false);
      assert.equal(denialMessage(decision), `levee denied this request: [scale-to-zero] ${scaleToZero.message}; override ignored: no reason given`);
    });
  });

  describe('exemptPolicies', () => {
    it('exempts nothing by default', () => {
      assert.deepEqual(sorted(exemptPolicies(buildConfig(), request())), []);
    });

    it('exempts every policy in levee\'s own namespace', () => {
      assert.deepEqual(sorted(exemptPolicies(buildConfig(), request({ namespace: 'levee-system' }))), [...POLICY_IDS].sort());
      const moved = buildConfig({ leveeNamespace: 'guards' });
      assert.deepEqual(sorted(exemptPolicies(moved, request({ namespace: 'guards' }))), [...POLICY_IDS].sort());
      assert.deepEqual(sorted(exemptPolicies(moved, request({ namespace: 'levee-system' }))), []);
    });

    for (const [what, layer, options] of [
      ['namespace', { exempt: { namespaces: ['kube-system'] } }, { namespace: 'kube-system' }],
      ['user', { exempt: { users: ['system:serviceaccount:ops:janitor'] } }, { username: 'system:serviceaccount:ops:janitor' }],
      ['group', { exempt: { groups: ['system:masters'] } }, { groups: ['system:authenticated', 'system:masters'] }],
    ] as const) {
      it(`exempts every policy for a globally exempt ${what}`, () => {
        const config = buildConfig(layer);
        assert.deepEqual(sorted(exemptPolicies(config, request(options))), [...POLICY_IDS].sort());
        assert.deepEqual(sorted(exemptPolicies(config, request())), []);
      });

      it(`exempts only the policy that lists the ${what}`, () => {
        const config = buildConfig({ policies: { 'scale-to-zero': layer } });
        assert.deepEqual(sorted(exemptPolicies(config, request(options))), ['scale-to-zero']);
        assert.deepEqual(sorted(exemptPolicies(config, request())), []);
      });
    }

    it('does not match a cluster-scoped request against namespace exemptions', () => {
      // The configuration refuses '' as a namespace name; the exemption check must not lean on that.
      const defaults = buildConfig();
      const config = { ...defaults, exempt: { ...defaults.exempt, namespaces: [''] } };
      const clusterScoped: AdmissionRequest = { ...request(), namespace: undefined };
      delete clusterScoped.namespace;
      assert.deepEqual(sorted(exemptPolicies(config, clusterScoped)), []);
    });
  });
});
