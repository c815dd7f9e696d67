import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeAdmissionReview } from '../../../src/admission/decode.js';
import { ReviewError } from '../../../src/errors.js';
import { applyMutations, BASES, carriesJudgeableRequest, mutation, nearMiss, type Json } from '../../support/fuzz.js';

/**
 * Properties of the AdmissionReview decoder, whatever the (already JSON-parsed) body:
 *  - it throws nothing but a ReviewError with a 4xx status;
 *  - it returns a judgeable request only when the body really carries one (checked here
 *    against the v1 AdmissionReview contract independently of the decoder);
 *  - everything else that has a uid comes back as `ok: false` with a message, which the
 *    server answers with `allowed: false`.
 */

const outcomes = { thrown: 0, refused: 0, judged: 0 };

function checkDecode(body: unknown): void {
  let decoded;
  try {
    decoded = decodeAdmissionReview(body);
  } catch (err) {
    assert.ok(err instanceof ReviewError, `threw ${(err as Error)?.constructor?.name}: ${String((err as Error)?.message ?? err)}`);
    assert.ok(err.httpStatus >= 400 && err.httpStatus < 500, `status ${err.httpStatus}`);
    assert.equal(carriesJudgeableRequest(body), false, 'a judgeable review was rejected outright');
    outcomes.thrown++;
    return;
  }
  const request = (body as { request: Json }).request;
  if (!decoded.ok) {
    assert.equal(decoded.uid, request.uid);
    assert.match(decoded.message, /cannot judge/);
    assert.equal(carriesJudgeableRequest(body), false, `a judgeable review was refused: ${decoded.message}`);
    outcomes.refused++;
    return;
  }
  assert.equal(carriesJudgeableRequest(body), true, 'a review without what a decision needs was passed on for judgement');
  const judged = decoded.request;
  assert.equal(judged.uid, request.uid);
  assert.equal(judged.operation, request.operation);
  assert.equal(typeof judged.userInfo.username, 'string');
  assert.ok(Array.isArray(judged.userInfo.groups) && judged.userInfo.groups.every((group) => typeof group === 'string'));
  assert.equal(typeof judged.dryRun, 'boolean');
  outcomes.judged++;
}

describe('admission/decode: fuzzing the AdmissionReview decoder', () => {
  it('handles any JSON value', () => {
    fc.assert(fc.property(fc.jsonValue({ maxDepth: 6 }), checkDecode), { numRuns: 2000 });
  });

  it('handles unusual objects: null prototypes, boxed values, sparse arrays', () => {
    fc.assert(fc.property(fc.anything({ maxDepth: 4, withNullPrototype: true, withBoxedValues: true, withSparseArray: true }), checkDecode), { numRuns: 1000 });
  });

  it('handles real reviews with fields deleted or replaced anywhere', () => {
    const before = { ...outcomes };
    fc.assert(fc.property(fc.constantFrom(...BASES), fc.array(mutation, { minLength: 1, maxLength: 5 }), (base, mutations) => checkDecode(applyMutations(base, mutations))), { numRuns: 4000 });
    // The mutations reach all three outcomes, so each branch of the property was exercised.
    assert.ok(outcomes.thrown > before.thrown && outcomes.refused > before.refused && outcomes.judged > before.judged, JSON.stringify(outcomes));
  });

  it('handles an envelope around arbitrary requests', () => {
    const request = fc.dictionary(fc.constantFrom('uid', 'kind', 'resource', 'operation', 'userInfo', 'object', 'oldObject', 'name', 'namespace', 'subResource', 'dryRun'), nearMiss);
    fc.assert(fc.property(request, (req) => checkDecode({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: req })), { numRuns: 3000 });
  });

  it('the oracle itself accepts the real reviews the mutations start from', () => {
    for (const base of BASES) {
      assert.equal(carriesJudgeableRequest(base), true);
      assert.equal(decodeAdmissionReview(base).ok, true);
    }
  });
});
