import assert from 'node:assert/strict';
import { admissionResponse, conflictRefusal, refusal, responseFor, reviewOf } from '../../../src/admission/response.js';
import { buildConfig } from '../../../src/config.js';
import { decide, findingsOf, type Decision } from '../../../src/engine/decide.js';
import type { Violation } from '../../../src/engine/evaluator.js';
import { LeveeError } from '../../../src/errors.js';

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
      const honoured = { policy: 'scale-to-zero' as const, reason: 'INC-1: draining', expires: '2026-01-01T00:00:00Z', author: 'alice' };
      const response = responseFor('uid-5', decide(findingsOf(config, [denyViolation]), { honoured: [honoured], ignored: [] }));
      assert.equal(response.allowed, true);
      assert.equal(response.status, undefined);
      assert.deepEqual(response.warnings, ['levee [scale-to-zero] overridden until 2026-01-01T00:00:00Z by alice: INC-1: draining']);
    });

    it('files an honoured override in the API server\'s audit log, through auditAnnotations', () => {
      const honoured = { policy: 'scale-to-zero' as const, reason: 'INC-1: draining', expires: '2026-01-01T00:00:00Z', author: 'alice' };
      const response = responseFor('uid-7', decide(findingsOf(config, [denyViolation]), { honoured: [honoured], ignored: [] }));
      assert.deepEqual(response.auditAnnotations, {
        'overridden-policies': 'scale-to-zero',
        'overridden-by': 'alice',
        'override-reason': 'INC-1: draining',
        'override-expires': '2026-01-01T00:00:00Z',
      });
      assert.equal(responseFor('uid-8', decide(findingsOf(config, [denyViolation]))).auditAnnotations, undefined);
    });

    it('refuses for a reason no policy gives, such as a forged stamp, and no override lifts it', () => {
      const honoured = { policy: 'scale-to-zero' as const, reason: 'INC-1: draining', expires: '2026-01-01T00:00:00Z', author: 'alice' };
      const forged = 'levee.dev/overridden-by is written by levee alone, and this request sets it to "mallory"; leave levee\'s stamps as they are';
      const response = responseFor('uid-9', decide(findingsOf(config, [denyViolation]), { honoured: [honoured], ignored: [] }, [forged]));
      assert.equal(response.allowed, false);
      assert.equal(response.status?.message, `levee denied this request: ${forged}`);
      assert.equal(response.auditAnnotations, undefined);
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

    it('refuses a decision given up on with a conflict, never an allow', () => {
      assert.deepEqual(conflictRefusal('uid-13', 'send it again'), {
        uid: 'uid-13',
        allowed: false,
        status: { code: 409, reason: 'Conflict', message: 'send it again' },
      });
    });
  });

  describe('reviewOf', () => {
    it('wraps a response in an AdmissionReview v1', () => {
      const response = refusal('uid-10', 'no');
      assert.deepEqual(reviewOf(response), { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response });
    });
  });

  describe('admissionResponse', () => {
    const stale = () => [{ name: 'services', ageSeconds: 73 }];

    it('answers /validate with the decision, and warns when the caches it read are stale', () => {
      const judgement = { decision: decisionOf([denyViolation]), judged: ['scale-to-zero' as const] };
      assert.deepEqual(admissionResponse('uid-11', judgement, { route: 'validate' }), responseFor('uid-11', judgement.decision));
      const response = admissionResponse('uid-11', judgement, { route: 'validate', stale });
      assert.equal(response.allowed, false);
      assert.deepEqual(response.warnings, ['levee: cluster state may be out of date: caches services (73 s) not synced with the API server']);
    });

    it('says nothing about stale caches when no policy judged the request, or on /mutate', () => {
      let asked = 0;
      const counting = () => (asked++, stale());
      assert.deepEqual(admissionResponse('uid-12', { decision: decisionOf([]), judged: [] }, { route: 'validate', stale: counting }), { uid: 'uid-12', allowed: true });
      assert.deepEqual(admissionResponse('uid-12', { decision: decisionOf([]), judged: ['scale-to-zero'] }, { route: 'mutate', stale: counting }), { uid: 'uid-12', allowed: true });
      assert.equal(asked, 0);
    });

    it('turns a refusal into an allow carrying the reasons on the warn-only route', () => {
      const judgement = { decision: decisionOf([denyViolation, warnViolation]), judged: ['scale-to-zero' as const] };
      assert.deepEqual(admissionResponse('uid-13', judgement, { route: 'validate', warnOnly: true }), {
        uid: 'uid-13',
        allowed: true,
        warnings: ['levee [scale-to-zero] HPA web can scale to zero', 'levee (warn-only) [scale-to-zero] would leave Service web with no endpoints'],
      });
    });

    it('answers /mutate with an allow and the base64 JSON Patch, or no patch at all', () => {
      const patch = [{ op: 'add' as const, path: '/metadata/annotations/team', value: 'ledger' }];
      const response = admissionResponse('uid-14', { decision: decisionOf([denyViolation]), patch, judged: ['scale-to-zero'] }, { route: 'mutate' });
      assert.equal(response.allowed, true);
      assert.equal(response.patchType, 'JSONPatch');
      assert.deepEqual(JSON.parse(Buffer.from(response.patch!, 'base64').toString('utf8')), patch);
      assert.deepEqual(admissionResponse('uid-14', { decision: decisionOf([]), patch: [], judged: [] }, { route: 'mutate' }), { uid: 'uid-14', allowed: true });
    });

    it('refuses with a 500 naming the error when the request could not be judged, on every route', () => {
      const error = new LeveeError('POLICY_EVALUATION', 'wasm trap');
      for (const options of [{ route: 'validate' as const }, { route: 'validate' as const, warnOnly: true }, { route: 'mutate' as const }]) {
        const response = admissionResponse('uid-15', { judged: [], error }, options);
        assert.equal(response.allowed, false);
        assert.deepEqual(response.status, { code: 500, reason: 'InternalError', message: 'levee could not judge this request (POLICY_EVALUATION): wasm trap' });
      }
    });
  });
});
