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

  it("takes an Eviction whose dry run is written in its deleteOptions as a dry run (the API server's review says dryRun: false for it)", () => {
    const eviction = (deleteOptions: unknown, resource = { group: '', version: 'v1', resource: 'pods' }, subResource = 'eviction') => ({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      request: {
        uid: 'evict-1',
        kind: { group: 'policy', version: 'v1', kind: 'Eviction' },
        resource,
        subResource,
        name: 'solo',
        namespace: 'default',
        operation: 'CREATE',
        userInfo: { username: 'alice', groups: ['system:authenticated'] },
        object: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'solo', namespace: 'default' }, ...(deleteOptions === undefined ? {} : { deleteOptions }) },
        oldObject: null,
        dryRun: false,
      },
    });
    const dryRunOf = (body: unknown) => {
      const decoded = decodeAdmissionReview(body);
      assert.equal(decoded.ok, true);
      return decoded.ok && decoded.request.dryRun;
    };
    assert.equal(dryRunOf(eviction({ dryRun: ['All'] })), true);
    for (const options of [undefined, {}, { dryRun: [] }, { dryRun: 'All' }, { gracePeriodSeconds: 0 }, null]) assert.equal(dryRunOf(eviction(options)), false, JSON.stringify(options));
    // Only the eviction subresource of pods carries one.
    assert.equal(dryRunOf(eviction({ dryRun: ['All'] }, { group: '', version: 'v1', resource: 'pods' }, 'binding')), false);
    assert.equal(dryRunOf(eviction({ dryRun: ['All'] }, { group: 'apps', version: 'v1', resource: 'pods' })), false);
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

  describe('a review that names another namespace in its object than in the request (forged: the API server never sends one)', () => {
    type Review = { request: { namespace: string; object: { metadata: { namespace?: string } } | null; oldObject: { metadata: { namespace?: string } } | null } };

    it('refuses it when the object says another namespace, so nothing of that namespace is read or described', () => {
      const review = deploymentReview({ replicas: 0, namespace: 'attacker' }) as Review;
      review.request.object!.metadata.namespace = 'payments';
      const decoded = decodeAdmissionReview(review);
      assert.equal(decoded.ok, false);
      if (decoded.ok) return;
      assert.match(decoded.message, /namespace "payments" but the request is in "attacker"/);
    });

    it('refuses it when only the old object does', () => {
      const review = deploymentReview({ replicas: 0, namespace: 'attacker' }) as Review;
      review.request.oldObject!.metadata.namespace = 'payments';
      assert.equal(decodeAdmissionReview(review).ok, false);
    });

    it('accepts an object without a namespace, and a cluster-scoped request', () => {
      const review = deploymentReview({ replicas: 0, namespace: 'payments', operation: 'CREATE' }) as Review;
      delete review.request.object!.metadata.namespace;
      assert.equal(decodeAdmissionReview(review).ok, true);
      const clusterScoped = deploymentReview({ replicas: 0 }) as Review;
      clusterScoped.request.namespace = '';
      assert.equal(decodeAdmissionReview(clusterScoped).ok, true);
    });
  });
});
