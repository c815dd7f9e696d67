import assert from 'node:assert/strict';
import { Agent } from 'node:https';
import type { AdmissionResponse, AdmissionReview } from '../../src/admission/types.js';
import { ClusterState } from '../../src/cluster/state.js';
import type { AdmissionEvent } from '../../src/cluster/events.js';
import { call, type TestCerts } from '../support/https.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { deploymentReview, scaleReview } from '../support/reviews.js';

describe('server: /validate and /mutate over HTTPS', () => {
  let certs: TestCerts;
  let running: TestServer;
  let agent: Agent;
  const events: AdmissionEvent[] = [];

  before(async () => {
    running = await startTestServer({ config: { server: { bodyLimitBytes: 64 * 1024 } }, events: { record: (e) => events.push(e) } });
    certs = running.certs;
    agent = new Agent({ keepAlive: true });
  });

  after(async () => {
    agent.destroy();
    await running.close();
  });

  const review = async (path: string, body: unknown): Promise<AdmissionResponse> => {
    const answer = await call(running.port, certs.ca, { path, body: JSON.stringify(body), agent });
    assert.equal(answer.status, 200, answer.text);
    const parsed = answer.json() as AdmissionReview;
    assert.equal(parsed.apiVersion, 'admission.k8s.io/v1');
    assert.equal(parsed.kind, 'AdmissionReview');
    return parsed.response!;
  };

  it('denies scaling a Deployment to zero behind its Service, naming the Service and the way out', async () => {
    const response = await review('/validate', deploymentReview({ uid: 'u-monzo', replicas: 0 }));
    assert.equal(response.uid, 'u-monzo');
    assert.equal(response.allowed, false);
    assert.equal(response.status?.code, 403);
    assert.match(response.status!.message, /\[scale-to-zero\].*Service web in namespace default/);
    assert.match(response.status!.message, /levee\.dev\/override/);
  });

  it('denies the same change through the scale subresource', async () => {
    const response = await review('/validate', scaleReview({ replicas: 0 }));
    assert.equal(response.allowed, false);
    assert.match(response.status!.message, /scaling Deployment\/web to 0 replicas/);
  });

  it('allows a scale down that keeps a replica', async () => {
    const response = await review('/validate', scaleReview({ replicas: 1 }));
    assert.deepEqual(response, { uid: 'uid-scale', allowed: true });
  });

  it('allows creating a workload with replicas', async () => {
    const response = await review('/validate', deploymentReview({ operation: 'CREATE', name: 'api', replicas: 2 }));
    assert.equal(response.allowed, true);
  });

  it('warns, but allows, deleting the last backend of a Service', async () => {
    const response = await review('/validate', deploymentReview({ operation: 'DELETE', replicas: 3 }));
    assert.equal(response.allowed, true);
    assert.equal(response.warnings?.length, 1);
    assert.match(response.warnings![0]!, /last|no endpoints/);
  });

  it('gives a dry-run the same answer and records no Event for it', async () => {
    const before = events.length;
    const dry = await review('/validate', deploymentReview({ uid: 'u-dry', replicas: 0, dryRun: true }));
    assert.equal(events.length, before, 'a dry-run recorded an Event');
    const real = await review('/validate', deploymentReview({ uid: 'u-dry', replicas: 0 }));
    assert.deepEqual(dry, real);
    assert.equal(events.length, before + 1);
    assert.equal(events.at(-1)?.reason, 'LeveeDenied');
  });

  it('allows kinds no policy judges', async () => {
    const body = deploymentReview({ replicas: 0 }) as { request: Record<string, unknown> };
    body.request.kind = { group: '', version: 'v1', kind: 'ConfigMap' };
    body.request.resource = { group: '', version: 'v1', resource: 'configmaps' };
    body.request.object = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'default' }, data: { a: 'b' } };
    body.request.oldObject = null;
    body.request.operation = 'CREATE';
    const response = await review('/validate', body);
    assert.equal(response.allowed, true);
  });

  it('/mutate removes a levee.dev/overridden-by stamp that the request forged', async () => {
    const response = await review('/mutate', deploymentReview({ replicas: 3, annotations: { 'levee.dev/overridden-by': 'mallory', team: 'a' }, oldAnnotations: { team: 'a' } }));
    assert.equal(response.allowed, true);
    assert.equal(response.patchType, 'JSONPatch');
    const patch = JSON.parse(Buffer.from(response.patch!, 'base64').toString('utf8')) as Array<{ op: string; path: string }>;
    assert.deepEqual(patch, [{ op: 'remove', path: '/metadata/annotations/levee.dev~1overridden-by' }]);
  });

  it('/mutate sends no patch when nothing needs changing', async () => {
    const response = await review('/mutate', deploymentReview({ replicas: 3 }));
    assert.equal(response.patch, undefined);
  });

  it('answers the paths as the API server calls them: with its timeout query, a trailing slash, any case', async () => {
    for (const path of ['/validate?timeout=10s', '/validate/', '/Validate', '/mutate?timeout=30s', '/validate/warn-only?timeout=5s']) {
      const response = await review(path, scaleReview({ uid: `u-${path}`, replicas: 2 }));
      assert.equal(response.uid, `u-${path}`, path);
    }
    const refused = await review('/validate?timeout=10s', scaleReview({ replicas: 0 }));
    assert.equal(refused.allowed, false);
  });

  it('answers review paths only to POST, and JSON with its length', async () => {
    const get = await call(running.port, certs.ca, { method: 'GET', path: '/validate', agent });
    assert.equal(get.status, 404);
    const answer = await call(running.port, certs.ca, { path: '/validate', body: JSON.stringify(scaleReview({ replicas: 2 })), agent });
    assert.match(String(answer.headers['content-type']), /^application\/json; charset=utf-8$/);
    assert.equal(Number(answer.headers['content-length']), Buffer.byteLength(answer.text));
  });

  describe('bad input', () => {
    it('answers 400 with a code to a body that is not JSON', async () => {
      const answer = await call(running.port, certs.ca, { path: '/validate', body: '{"apiVersion": ', agent });
      assert.equal(answer.status, 400);
      assert.equal((answer.json() as { code: string }).code, 'REVIEW_NOT_JSON');
    });

    it('answers 415 to a body that is not declared as JSON', async () => {
      const answer = await call(running.port, certs.ca, { path: '/validate', body: '{}', headers: { 'content-type': 'text/plain' }, agent });
      assert.equal(answer.status, 415);
      assert.match(answer.text, /application\/json/);
    });

    it('answers 413 to a body over the limit', async () => {
      const huge = JSON.stringify({ ...(deploymentReview({ replicas: 1 }) as object), padding: 'x'.repeat(100 * 1024) });
      const answer = await call(running.port, certs.ca, { path: '/validate', body: huge, agent });
      assert.equal(answer.status, 413);
      assert.equal((answer.json() as { code: string }).code, 'REVIEW_TOO_LARGE');
    });

    it('answers 400 to JSON that is not an AdmissionReview', async () => {
      const answer = await call(running.port, certs.ca, { path: '/validate', body: '{"kind":"Pod"}', agent });
      assert.equal(answer.status, 400);
      assert.match(answer.text, /AdmissionReview/);
    });

    it('answers 400 to a review without a request uid', async () => {
      const body = deploymentReview({ replicas: 1 }) as { request: Record<string, unknown> };
      delete body.request.uid;
      const answer = await call(running.port, certs.ca, { path: '/validate', body: JSON.stringify(body), agent });
      assert.equal(answer.status, 400);
      assert.match(answer.text, /uid/);
    });

    it('answers 200 allowed:false to a review with a uid but no operation or object', async () => {
      const body = deploymentReview({ uid: 'u-half', replicas: 0 }) as { request: Record<string, unknown> };
      delete body.request.operation;
      body.request.object = 'not an object';
      const response = await review('/validate', body);
      assert.equal(response.uid, 'u-half');
      assert.equal(response.allowed, false);
      assert.match(response.status!.message, /operation/);
    });

    it('answers 404 for unknown paths and keeps serving afterwards', async () => {
      const answer = await call(running.port, certs.ca, { method: 'GET', path: '/nope', agent });
      assert.equal(answer.status, 404);
      const response = await review('/validate', scaleReview({ replicas: 2 }));
      assert.equal(response.allowed, true);
    });
  });

  describe('operations endpoints', () => {
    it('/healthz answers ok', async () => {
      const answer = await call(running.port, certs.ca, { method: 'GET', path: '/healthz', agent });
      assert.equal(answer.status, 200);
    });

    it('/readyz answers ok when every cache has synced', async () => {
      const answer = await call(running.port, certs.ca, { method: 'GET', path: '/readyz', agent });
      assert.equal(answer.status, 200, answer.text);
    });

    it('/metrics exposes decisions, findings, latency, cache sizes and the bundle', async () => {
      const answer = await call(running.port, certs.ca, { method: 'GET', path: '/metrics', agent });
      assert.equal(answer.status, 200);
      assert.match(answer.text, /levee_decisions_total\{route="validate",outcome="denied"\} [1-9]/);
      assert.match(answer.text, /levee_policy_findings_total\{policy="scale-to-zero",rule="scale-to-zero",action="deny"\} [1-9]/);
      assert.match(answer.text, /levee_admission_duration_seconds_bucket/);
      assert.match(answer.text, /levee_cache_objects\{cache="services"\} 1/);
      assert.match(answer.text, /levee_policy_bundle_info\{digest="[0-9a-f]{16}"/);
    });

    it('keeps idle connections longer than the API server does (90 s)', () => {
      assert.ok(running.server.keepAliveTimeout > 90_000, `keepAliveTimeout ${running.server.keepAliveTimeout}`);
    });
  });
});

describe('server: readiness before caches sync', () => {
  it('/readyz answers 503 naming the caches still syncing', async () => {
    const cluster = new ClusterState();
    cluster.services.markSynced();
    const running = await startTestServer({ cluster });
    const { certs } = running;
    try {
      const answer = await call(running.port, certs.ca, { method: 'GET', path: '/readyz' });
      assert.equal(answer.status, 503);
      assert.match(answer.text, /endpointslices/);
      assert.doesNotMatch(answer.text, /services/);
    } finally {
      await running.close();
    }
  });
});

describe('server: /validate/warn-only (the fail-open kube-system registration)', () => {
  it('turns a refusal into an allow that carries the reason as a warning', async () => {
    const events: AdmissionEvent[] = [];
    const running = await startTestServer({ events: { record: (e) => events.push(e) } });
    const { certs } = running;
    try {
      const answer = await call(running.port, certs.ca, { path: '/validate/warn-only', body: JSON.stringify(scaleReview({ replicas: 0 })) });
      const response = (answer.json() as AdmissionReview).response!;
      assert.equal(response.allowed, true);
      assert.equal(response.status, undefined);
      assert.match(response.warnings!.join('\n'), /warn-only\) \[scale-to-zero\] scaling Deployment\/web to 0 replicas/);
      assert.equal(events.length, 0);
    } finally {
      await running.close();
    }
  });
});

describe('server: findings metrics', () => {
  it('counts a finding once per request, though the request passes /mutate and /validate', async () => {
    const running = await startTestServer();
    const { certs } = running;
    try {
      const body = JSON.stringify(deploymentReview({ replicas: 0 }));
      for (const path of ['/mutate', '/validate']) assert.equal((await call(running.port, certs.ca, { path, body })).status, 200);
      const metrics = await call(running.port, certs.ca, { method: 'GET', path: '/metrics' });
      assert.match(metrics.text, /levee_policy_findings_total\{policy="scale-to-zero",rule="scale-to-zero",action="deny"\} 1\n/);
    } finally {
      await running.close();
    }
  });
});
