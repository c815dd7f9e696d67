import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { subjectAccessReviewAuthorizer } from '../../../src/cluster/authorizer.js';
import type { UserInfo } from '../../../src/kube/types.js';

interface AskedReview {
  spec: { user: string; uid?: string; groups?: string[]; resourceAttributes: { verb: string; group: string; resource: string; name: string } };
}

/**
 * The SubjectAccessReview authorizer against an API server stand-in that allows only
 * `system:masters` and counts what it is asked: its 10 s cache must never hand one user's
 * answer to another, not even to the same name with other groups or uid, nor keep a failure.
 */
describe('cluster/authorizer: cached answers across users asking at the same moment', () => {
  let server: Server;
  const asked: AskedReview[] = [];
  let failNext = 0;
  let clock = 1_000_000;
  let kubeconfig: KubeConfig;

  before(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        const review = JSON.parse(body) as AskedReview;
        asked.push(review);
        if (failNext > 0) {
          failNext--;
          res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ kind: 'Status', status: 'Failure', message: 'etcd timeout', code: 500 }));
          return;
        }
        const allowed = (review.spec.groups ?? []).includes('system:masters');
        setTimeout(() => res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ ...review, status: { allowed, ...(allowed ? {} : { reason: 'no RBAC rule' }) } })), 30);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    kubeconfig = new KubeConfig();
    kubeconfig.loadFromOptions({
      clusters: [{ name: 'stand-in', server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, skipTLSVerify: true }],
      users: [{ name: 'levee', token: 'levee-token' }],
      contexts: [{ name: 'stand-in', cluster: 'stand-in', user: 'levee' }],
      currentContext: 'stand-in',
    });
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  beforeEach(() => {
    asked.length = 0;
    failNext = 0;
  });

  const admin: UserInfo = { username: 'alice', uid: 'full', groups: ['system:masters', 'system:authenticated'] };
  const scoped: UserInfo = { username: 'alice', uid: 'scoped', groups: ['system:authenticated'] };

  it('answers two credentials of one user asking at the same moment each for itself', async () => {
    const authorizer = subjectAccessReviewAuthorizer(kubeconfig, () => clock);
    const answers = await Promise.all([authorizer.mayOverride(admin, 'scale-to-zero'), authorizer.mayOverride(scoped, 'scale-to-zero'), authorizer.mayOverride(admin, 'scale-to-zero'), authorizer.mayOverride(scoped, 'scale-to-zero')]);
    assert.deepEqual(answers.map((a) => a.allowed), [true, false, true, false]);
    assert.equal(asked.length, 2, 'one review per whole user');
    assert.deepEqual(asked.map((r) => r.spec.uid).sort(), ['full', 'scoped']);
    for (const review of asked) assert.deepEqual(review.spec.resourceAttributes, { verb: 'override', group: 'levee.dev', resource: 'policies', name: 'scale-to-zero' });
  });

  it('asks again per policy, and again once 10 s have passed', async () => {
    const authorizer = subjectAccessReviewAuthorizer(kubeconfig, () => clock);
    await authorizer.mayOverride(admin, 'scale-to-zero');
    await authorizer.mayOverride(admin, 'probe-gate');
    assert.equal(asked.length, 2);
    clock += 9_000;
    await authorizer.mayOverride(admin, 'scale-to-zero');
    assert.equal(asked.length, 2, 'answered from the cache within 10 s');
    clock += 1_001;
    await authorizer.mayOverride(admin, 'scale-to-zero');
    assert.equal(asked.length, 3, 'asked again after 10 s');
  });

  it('never keeps a failed check: the next request asks again and can be allowed', async () => {
    const authorizer = subjectAccessReviewAuthorizer(kubeconfig, () => clock);
    failNext = 1;
    const failed = await authorizer.mayOverride(admin, 'spot-capacity');
    assert.equal(failed.allowed, false);
    assert.match(failed.reason ?? '', /authorization check failed/);
    const retried = await authorizer.mayOverride(admin, 'spot-capacity');
    assert.equal(retried.allowed, true);
    assert.equal(asked.length, 2);
  });
});
