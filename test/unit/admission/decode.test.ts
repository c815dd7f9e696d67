import assert from 'node:assert/strict';
import { decodeAdmissionReview } from '../../../src/admission/decode.js';
import { ReviewError } from '../../../src/errors.js';
import { deploymentReview } from '../../support/reviews.js';

describe('admission/decode', () => {
  it('decodes a complete AdmissionReview v1', () => {
    const decoded = decodeAdmissionReview(deploymentReview({ replicas: 3 }));
    assert.equal(decoded.ok, true);
    if (!decoded.ok) return;
    assert.equal(decoded.request.kind.kind, 'Deployment');
    assert.equal(decoded.request.operation, 'UPDATE');
    assert.equal(decoded.request.dryRun, false);
  });

  for (const [what, body, pattern] of [
    ['an array', [], /not a JSON object/],
    ['a string', 'hello', /not a JSON object/],
    ['another kind', { apiVersion: 'admission.k8s.io/v1', kind: 'Pod' }, /expected kind AdmissionReview/],
    ['v1beta1', { apiVersion: 'admission.k8s.io/v1beta1', kind: 'AdmissionReview', request: { uid: 'x' } }, /admission.k8s.io\/v1/],
    ['no request', { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }, /no request/],
    ['no uid', { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { kind: {} } }, /no uid/],
  ] as const) {
    it(`rejects ${what} with a 400 ReviewError`, () => {
      assert.throws(
        () => decodeAdmissionReview(body),
        (err: unknown) => err instanceof ReviewError && err.httpStatus === 400 && pattern.test(err.message),
      );
    });
  }

  it('refuses a review with a uid but no kind, naming what is missing', () => {
    const review = deploymentReview({ replicas: 1 }) as { request: Record<string, unknown> };
    delete review.request.kind;
    const decoded = decodeAdmissionReview(review);
    assert.equal(decoded.ok, false);
    if (decoded.ok) return;
    assert.equal(decoded.uid, 'uid-1');
    assert.match(decoded.message, /kind/);
  });
});
