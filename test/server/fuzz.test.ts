import assert from 'node:assert/strict';
import { Agent } from 'node:https';
import fc from 'fast-check';
import type { AdmissionReview } from '../../src/admission/types.js';
import { applyMutations, BASES, carriesJudgeableRequest, mutation } from '../support/fuzz.js';
import { call, type TestCerts } from '../support/https.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { scaleReview } from '../support/reviews.js';

/**
 * Random and mutated bodies through the real HTTPS server: never a 5xx (the API server would
 * apply the failure policy, which fails open on some registrations), never `allowed: true`
 * for a body that does not carry a judgeable request, and the process keeps serving.
 */
describe('server: fuzzing /validate and /mutate', function () {
  this.timeout(60_000);
  let certs: TestCerts;
  let running: TestServer;
  let agent: Agent;
  const seen = { status: new Map<number, number>(), allowed: 0 };

  before(async () => {
    running = await startTestServer({ config: { server: { bodyLimitBytes: 16 * 1024 } } });
    certs = running.certs;
    agent = new Agent({ keepAlive: true, maxSockets: 4 });
  });

  after(async () => {
    agent.destroy();
    await running.close();
  });

  const send = async (path: string, body: Buffer | string, contentType = 'application/json', judgeable = false): Promise<void> => {
    const answer = await call(running.port, certs.ca, { path, body, agent, headers: { 'content-type': contentType } });
    seen.status.set(answer.status, (seen.status.get(answer.status) ?? 0) + 1);
    assert.ok(answer.status < 500, `HTTP ${answer.status} for ${String(body).slice(0, 200)}: ${answer.text.slice(0, 200)}`);
    if (answer.status !== 200) {
      assert.equal(typeof (answer.json() as { code?: unknown }).code, 'string', 'a rejection without an error code');
      return;
    }
    const review = answer.json() as AdmissionReview;
    assert.equal(review.kind, 'AdmissionReview');
    if (review.response?.allowed === true) {
      seen.allowed++;
      assert.ok(judgeable, `allowed a body without a judgeable request: ${String(body).slice(0, 300)}`);
    }
  };

  const asyncProperty = <T>(arbitrary: fc.Arbitrary<T>, run: (value: T) => Promise<void>, numRuns: number): Promise<void> =>
    fc.assert(fc.asyncProperty(arbitrary, run), { numRuns });

  it('random bytes', async () => {
    await asyncProperty(fc.uint8Array({ maxLength: 2048 }), (bytes) => send('/validate', Buffer.from(bytes)), 150);
  });

  it('random JSON documents, on both routes', async () => {
    await asyncProperty(
      fc.tuple(fc.jsonValue({ maxDepth: 5 }), fc.constantFrom('/validate', '/mutate', '/validate/warn-only')),
      ([value, path]) => send(path, JSON.stringify(value) ?? 'null', 'application/json', carriesJudgeableRequest(value)),
      250,
    );
  });

  it('real reviews with fields deleted or replaced anywhere', async () => {
    await asyncProperty(
      fc.tuple(fc.constantFrom(...BASES), fc.array(mutation, { minLength: 1, maxLength: 4 }), fc.constantFrom('/validate', '/mutate')),
      ([base, mutations, path]) => {
        const body = applyMutations(base, mutations);
        return send(path, JSON.stringify(body) ?? 'null', 'application/json', carriesJudgeableRequest(body));
      },
      400,
    );
  });

  it('truncated and padded reviews, and odd content types', async () => {
    const text = JSON.stringify(scaleReview({ replicas: 0 }));
    await asyncProperty(
      fc.tuple(fc.nat({ max: text.length }), fc.constantFrom('', ' ', '\u0000', '}', '\ufeff', 'x'.repeat(20_000)), fc.constantFrom('application/json', 'application/json; charset=utf-16', 'application/json; charset=latin1', 'text/json', 'application/jsonx')),
      ([cut, tail, contentType]) => send('/validate', text.slice(0, cut) + tail, contentType),
      250,
    );
  });

  it('kept serving and judging afterwards, having seen rejections and answers alike', async () => {
    const health = await call(running.port, certs.ca, { method: 'GET', path: '/healthz', agent });
    assert.equal(health.status, 200);
    const answer = await call(running.port, certs.ca, { path: '/validate', body: JSON.stringify(scaleReview({ replicas: 0 })), agent });
    assert.equal((answer.json() as AdmissionReview).response?.allowed, false, 'the scale to zero behind a Service is still refused');
    assert.ok((seen.status.get(200) ?? 0) > 0 && (seen.status.get(400) ?? 0) > 0, `statuses seen: ${JSON.stringify([...seen.status])}`);
    assert.ok(seen.allowed > 0, 'no fuzzed review was ever allowed, so the allow check never ran');
  });
});
