import assert from 'node:assert/strict';
import type { AdmissionResponse, AdmissionReview } from '../../src/admission/types.js';
import type { AdmissionEvent } from '../../src/cluster/events.js';
import { EXPIRES_ANNOTATION, OVERRIDE_ANNOTATION, REASON_ANNOTATION } from '../../src/engine/overrides.js';
import { call, type TestCerts } from '../support/https.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { deploymentReview } from '../support/reviews.js';

describe('server: overrides', () => {
  let certs: TestCerts;
  let running: TestServer;
  const events: AdmissionEvent[] = [];
  const asked: string[] = [];
  const override = (expires: string) => ({
    [OVERRIDE_ANNOTATION]: 'scale-to-zero',
    [REASON_ANNOTATION]: 'INC-1: retiring the ledger',
    [EXPIRES_ANNOTATION]: expires,
  });
  const inOneHour = () => new Date(Date.now() + 3_600_000).toISOString();

  before(async () => {
    running = await startTestServer({
      events: { record: (event) => events.push(event) },
      authorizer: {
        mayOverride: async (user, policy) => {
          asked.push(`${user.username}:${policy}`);
          // Argo CD's default ClusterRole allows every verb on everything, `override` included.
          return { allowed: user.username === 'admin' || user.username === 'system:serviceaccount:argocd:argocd-application-controller' };
        },
      },
    });
    certs = running.certs;
  });

  after(() => running.close());

  const review = async (path: string, body: unknown): Promise<AdmissionResponse> => {
    const answer = await call(running.port, certs.ca, { path, body: JSON.stringify(body) });
    assert.equal(answer.status, 200, answer.text);
    return (answer.json() as AdmissionReview).response!;
  };

  it('lets an authorized user through with a warning and an Event', async () => {
    const response = await review('/validate', deploymentReview({ replicas: 0, username: 'admin', annotations: override(inOneHour()), oldAnnotations: {} }));
    assert.equal(response.allowed, true);
    assert.match(response.warnings?.join('\n') ?? '', /\[scale-to-zero\] overridden until .*INC-1: retiring the ledger/);
    assert.equal(events.at(-1)?.reason, 'LeveeOverride');
    assert.match(events.at(-1)!.message, /admin overrode scale-to-zero/);
  });

  it('stamps who overrode and when through /mutate, without refusing there', async () => {
    const response = await review('/mutate', deploymentReview({ replicas: 0, username: 'admin', annotations: override(inOneHour()), oldAnnotations: {} }));
    assert.equal(response.allowed, true);
    const patch = JSON.parse(Buffer.from(response.patch!, 'base64').toString('utf8')) as Array<{ op: string; path: string; value: string }>;
    const stamps = Object.fromEntries(patch.map((op) => [op.path, op.value]));
    assert.equal(stamps['/metadata/annotations/levee.dev~1overridden-by'], 'admin');
    assert.equal(JSON.parse(stamps['/metadata/annotations/levee.dev~1override-authorized-by']!).username, 'admin');
    assert.match(stamps['/metadata/annotations/levee.dev~1overridden-at']!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });

  it('refuses an unauthorized user and says the override was ignored and why', async () => {
    const response = await review('/validate', deploymentReview({ replicas: 0, username: 'developer', annotations: override(inOneHour()), oldAnnotations: {} }));
    assert.equal(response.allowed, false);
    assert.match(response.status!.message, /\[scale-to-zero\].*override ignored: not authorized: developer may not override scale-to-zero/);
    const mutate = await review('/mutate', deploymentReview({ replicas: 0, username: 'developer', annotations: override(inOneHour()), oldAnnotations: {} }));
    assert.equal(mutate.allowed, true);
    assert.equal(mutate.patch, undefined, 'an unhonoured override must not be stamped');
  });

  it('never honours an override Argo CD\'s controller applies, though the authorizer would say yes to anyone', async () => {
    const argo = 'system:serviceaccount:argocd:argocd-application-controller';
    const response = await review('/validate', deploymentReview({ replicas: 0, username: argo, annotations: override(inOneHour()), oldAnnotations: {} }));
    assert.equal(response.allowed, false);
    assert.match(response.status!.message, /override ignored: not authorized: system:serviceaccount:argocd:argocd-application-controller sets this override but is an automation identity/);
  });

  it('lets Argo CD apply a change under an override an admin set and levee recorded, naming both in the Event', async () => {
    const annotations = override(inOneHour());
    const mutated = await review('/mutate', deploymentReview({ replicas: 3, username: 'admin', annotations, oldAnnotations: {} }));
    const patch = JSON.parse(Buffer.from(mutated.patch!, 'base64').toString('utf8')) as Array<{ path: string; value: string }>;
    const record = patch.find((op) => op.path === '/metadata/annotations/levee.dev~1override-authorized-by')!.value;
    const stored = { ...annotations, 'levee.dev/override-authorized-by': record };
    const argo = 'system:serviceaccount:argocd:argocd-application-controller';
    const response = await review('/validate', deploymentReview({ replicas: 0, username: argo, annotations: stored }));
    assert.equal(response.allowed, true, response.status?.message);
    assert.equal(response.auditAnnotations?.['overridden-by'], 'admin');
    assert.equal(events.at(-1)?.message, `admin overrode scale-to-zero (until ${annotations[EXPIRES_ANNOTATION]}: INC-1: retiring the ledger) for a change by ${argo}`);
  });

  it('refuses a request that forges levee\'s record of who set an override', async () => {
    const forged = JSON.stringify({ username: 'admin', groups: ['system:masters'], override: 'sha256:0' });
    const response = await review('/validate', deploymentReview({ replicas: 2, username: 'developer', annotations: { 'levee.dev/override-authorized-by': forged }, oldAnnotations: {} }));
    assert.equal(response.allowed, false);
    assert.match(response.status!.message, /levee\.dev\/override-authorized-by is written by levee alone/);
  });

  it('refuses an expired override without asking the API server', async () => {
    const before = asked.length;
    const response = await review('/validate', deploymentReview({ replicas: 0, username: 'admin', annotations: override('2020-01-01T00:00:00Z'), oldAnnotations: {} }));
    assert.equal(response.allowed, false);
    assert.match(response.status!.message, /override ignored: expired at 2020-01-01T00:00:00Z/);
    assert.equal(asked.length, before);
  });

  it('does not consult overrides when nothing is denied', async () => {
    const before = asked.length;
    const response = await review('/validate', deploymentReview({ replicas: 2, username: 'admin', annotations: override(inOneHour()) }));
    assert.deepEqual(response, { uid: 'uid-1', allowed: true });
    assert.equal(asked.length, before);
  });
});
