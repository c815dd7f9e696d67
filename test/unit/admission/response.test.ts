import assert from 'node:assert/strict';
import { refusal, responseFor, reviewOf } from '../../../src/admission/response.js';
import { buildConfig } from '../../../src/config.js';
import { decide, findingsOf, type Decision } from '../../../src/engine/decide.js';
import type { Violation } from '../../../src/engine/evaluator.js';

const config = buildConfig();
const denyViolation: Violation = { policy: 'scale-to-zero', rule: 'scale-to-zero', message: 'would leave Service web with no endpoints' };
const warnViolation: Violation = { policy: 'scale-to-zero', rule: 'autoscaler-to-zero', message: 'HPA web can scale to zero' };

function decisionOf(violations: Violation[]): Decision {
  return decide(findingsOf(config, violations));
}

describe('admission/response', () => {
  describe('responseFor', () => {
    it('allows with nothing else when there are no findings', () => {
      assert.deepEqual(responseFor('uid-1', decisionOf([])), { uid: 'uid-1', allowed: true });
    });

    it('denies with a 403 whose message names the policy and the reason', () => {
      const response = responseFor('uid-2', decisionOf([denyViolation]));
      assert.equal(response.uid, 'uid-2');
      assert.equal(response.allowed, false);
      assert.equal(response.status?.code, 403);
      assert.equal(response.status?.reason, 'Forbidden');
      assert.match(response.status?.message ?? '', /^levee denied this request: \[scale-to-zero\] would leave Service web with no endpoints$/);
    });

    it('allows with warnings for warn-level findings', () => {
      const response = responseFor('uid-3', decisionOf([warnViolation]));
      assert.equal(response.allowed, true);
      assert.equal(response.status, undefined);
      assert.deepEqual(response.warnings, ['levee [scale-to-zero] HPA web can scale to zero']);
    });

    it('carries warnings on a denial too', () => {
      const response = responseFor('uid-4', decisionOf([denyViolation, warnViolation]));
      assert.equal(response.allowed, false);
      assert.equal(response.warnings?.length, 1);
      assert.doesNotMatch(response.status?.message ?? '', /HPA web/);
    });

    it('allows a denial lifted by an honoured override, and warns about the override', () => {
      const honoured = { policy: 'scale-to-zero' as const, reason: 'INC-1: draining', expires: '2026-01-01T00:00:00Z' };
      const response = responseFor('uid-5', decide(findingsOf(config, [denyViolation]), { honoured: [honoured], ignored: [] }));
      assert.equal(response.allowed, true);
      assert.equal(response.status, undefined);
      assert.deepEqual(response.warnings, ['levee [scale-to-zero] overridden until 2026-01-01T00:00:00Z: INC-1: draining']);
    });

    it('tells a refused user why their override did not apply', () => {
      const ignored = { policy: 'scale-to-zero', why: 'expired at 2020-01-01T00:00:00Z' };
      const response = responseFor('uid-6', decide(findingsOf(config, [denyViolation]), { honoured: [], ignored: [ignored] }));
      assert.equal(response.allowed, false);
      assert.match(response.status?.message ?? '', /\[scale-to-zero\] would leave Service web.*; override ignored: expired at 2020-01-01T00:00:00Z$/);
    });
  });

  describe('refusal', () => {
    it('refuses an unreadable review as a bad request', () => {
      assert.deepEqual(refusal('uid-8', 'missing kind'), {
        uid: 'uid-8',
        allowed: false,
        status: { code: 400, reason: 'BadRequest', message: 'missing kind' },
      });
    });

    it('refuses with an internal error for other codes', () => {
      const response = refusal('uid-9', 'evaluation failed', 500);
      assert.equal(response.allowed, false);
      assert.deepEqual(response.status, { code: 500, reason: 'InternalError', message: 'evaluation failed' });
    });
  });

  describe('reviewOf', () => {
    it('wraps a response in an AdmissionReview v1', () => {
      const response = refusal('uid-10', 'no');
      assert.deepEqual(reviewOf(response), { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response });
    });
  });
});
