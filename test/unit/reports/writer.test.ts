import assert from 'node:assert/strict';
import type { AuditFinding } from '../../../src/audit/audit.js';
import { createLogger } from '../../../src/logger.js';
import { buildReports } from '../../../src/reports/openreports.js';
import { ReportWriter } from '../../../src/reports/writer.js';
import { FakeOpenReports } from '../../support/fake-openreports.js';

const at = new Date('2026-11-30T07:00:00.000Z');
const logger = createLogger('silent');

function finding(namespace: string | undefined, name: string): AuditFinding {
  return {
    policy: 'scale-to-zero',
    rule: 'service-without-endpoints',
    action: 'deny',
    overridden: false,
    message: `Service ${name} would have no endpoints`,
    object: { apiVersion: 'apps/v1', kind: 'Deployment', name, ...(namespace ? { namespace } : {}) },
    source: 'cluster:deployments',
  };
}

const desired = (findings: AuditFinding[], maxResults = 50) => buildReports(findings, { maxResults, at });

describe('reports/writer', () => {
  it('creates the Reports, then replaces them in place (PUT with the resourceVersion it read), never delete and create', async () => {
    const fake = new FakeOpenReports();
    const writer = new ReportWriter(fake.api, logger);
    assert.deepEqual(await writer.apply(desired([finding('payments', 'ledger')])), { created: 2, updated: 0, unchanged: 0, deleted: 0, skipped: 0, failed: [] });
    const uid = fake.report('payments')!.metadata.uid;
    fake.requests.length = 0;
    assert.deepEqual(await writer.apply(desired([finding('payments', 'ledger'), finding('payments', 'cart')])), { created: 0, updated: 1, unchanged: 1, deleted: 0, skipped: 0, failed: [] });
    assert.equal(fake.report('payments')!.metadata.uid, uid, 'the same object, replaced in place');
    assert.deepEqual(fake.requests.filter((request) => !request.startsWith('GET')), ['PUT /apis/openreports.io/v1alpha1/namespaces/payments/reports/levee']);
    assert.equal((fake.report('payments')!['results'] as unknown[]).length, 2);
  });

  it('writes nothing when nothing changed', async () => {
    const fake = new FakeOpenReports();
    const writer = new ReportWriter(fake.api, logger);
    await writer.apply(desired([finding('payments', 'ledger')]));
    fake.requests.length = 0;
    const later = buildReports([finding('payments', 'ledger')], { maxResults: 50, at: new Date(at.getTime() + 3_600_000) });
    assert.deepEqual(await writer.apply(later), { created: 0, updated: 0, unchanged: 2, deleted: 0, skipped: 0, failed: [] });
    assert.deepEqual(fake.requests.filter((request) => !request.startsWith('GET')), []);
  });

  it('deletes the Report of a namespace with no finding left, and keeps the ClusterReport', async () => {
    const fake = new FakeOpenReports();
    const writer = new ReportWriter(fake.api, logger);
    await writer.apply(desired([finding('payments', 'ledger'), finding('shop', 'cart')]));
    const outcome = await writer.apply(desired([finding('shop', 'cart')]));
    assert.deepEqual(outcome, { created: 0, updated: 0, unchanged: 2, deleted: 1, skipped: 0, failed: [] });
    assert.equal(fake.report('payments'), undefined);
    assert.ok(fake.report('shop'));
    assert.ok(fake.report());
  });

  it('touches only its own objects: another tool\'s Report, and one without levee\'s label, stay', async () => {
    const fake = new FakeOpenReports();
    fake.seed({ apiVersion: 'openreports.io/v1alpha1', kind: 'Report', metadata: { name: 'kyverno-polr', namespace: 'payments', labels: { 'app.kubernetes.io/managed-by': 'kyverno' } } });
    fake.seed({ apiVersion: 'openreports.io/v1alpha1', kind: 'Report', metadata: { name: 'other', namespace: 'shop', labels: { 'app.kubernetes.io/managed-by': 'levee' } } });
    const writer = new ReportWriter(fake.api, logger);
    await writer.apply(desired([]));
    assert.equal(fake.objects.size, 3, [...fake.objects.keys()].join(', '));
  });

  it('retries once with a fresh read when the Report changed since it was listed (409), and replaces what it finds', async () => {
    const fake = new FakeOpenReports();
    const writer = new ReportWriter(fake.api, logger);
    await writer.apply(desired([finding('payments', 'ledger')]));
    let raced = false;
    fake.beforeAnswer = (method, path) => {
      if (method === 'PUT' && !raced && path.includes('/namespaces/payments/')) {
        raced = true;
        fake.seed({ ...fake.report('payments')!, results: [] });
      }
    };
    const outcome = await writer.apply(desired([finding('payments', 'cart')]));
    assert.equal(raced, true);
    assert.deepEqual(outcome, { created: 0, updated: 1, unchanged: 1, deleted: 0, skipped: 0, failed: [] });
    const results = fake.report('payments')!['results'] as Array<{ resources: Array<{ name: string }> }>;
    assert.deepEqual(results.map((result) => result.resources[0]!.name), ['cart']);
  });

  it('replaces a Report created between its list and its create (409 on create)', async () => {
    const fake = new FakeOpenReports();
    fake.beforeAnswer = (method, path) => {
      if (method === 'POST' && path.includes('/namespaces/payments/') && !fake.report('payments')) {
        fake.seed({ apiVersion: 'openreports.io/v1alpha1', kind: 'Report', metadata: { name: 'levee', namespace: 'payments', labels: { 'app.kubernetes.io/managed-by': 'levee' } } });
      }
    };
    const outcome = await new ReportWriter(fake.api, logger).apply(desired([finding('payments', 'ledger')]));
    assert.deepEqual(outcome, { created: 1, updated: 1, unchanged: 0, deleted: 0, skipped: 0, failed: [] });
    assert.equal((fake.report('payments')!['results'] as unknown[]).length, 1);
  });

  it('leaves a Report rewritten between its list and its delete for the next run (delete precondition)', async () => {
    const fake = new FakeOpenReports();
    const writer = new ReportWriter(fake.api, logger);
    await writer.apply(desired([finding('payments', 'ledger')]));
    fake.beforeAnswer = (method) => {
      if (method === 'DELETE') fake.seed(fake.report('payments')!);
    };
    const outcome = await writer.apply(desired([]));
    assert.equal(outcome.deleted, 0);
    assert.equal(outcome.failed.length, 1);
    assert.match(outcome.failed[0]!, /Report payments\/levee: deleting .*HTTP 409/);
    assert.ok(fake.report('payments'));
  });

  it('replaces a hand-made Report that carries levee\'s name and label, whatever its results hold', async () => {
    const fake = new FakeOpenReports();
    fake.seed({
      apiVersion: 'openreports.io/v1alpha1',
      kind: 'Report',
      metadata: { name: 'levee', namespace: 'payments', labels: { 'app.kubernetes.io/managed-by': 'levee' } },
      results: [{ policy: 'made-up' }, { policy: 'scale-to-zero', rule: 'service-without-endpoints', resources: 'not a list' }, null],
      summary: 'garbage',
    } as never);
    const outcome = await new ReportWriter(fake.api, logger).apply(desired([finding('payments', 'ledger')]));
    assert.deepEqual(outcome, { created: 1, updated: 1, unchanged: 0, deleted: 0, skipped: 0, failed: [] });
    const results = fake.report('payments')!['results'] as Array<{ policy: string; resources: Array<{ name: string }> }>;
    assert.deepEqual(results.map((result) => [result.policy, result.resources[0]!.name]), [['scale-to-zero', 'ledger']]);
  });

  it('skips, without calling it a failure, a namespace that is being deleted (it takes its Report with it)', async () => {
    const fake = new FakeOpenReports();
    fake.terminating.add('leaving');
    const outcome = await new ReportWriter(fake.api, logger).apply(desired([finding('leaving', 'ledger'), finding('payments', 'ledger')]));
    assert.deepEqual(outcome, { created: 2, updated: 0, unchanged: 0, deleted: 0, skipped: 1, failed: [] });
    assert.equal(fake.report('leaving'), undefined);
    fake.terminating.clear();
  });

  it('lists its Reports page by page', async () => {
    const fake = new FakeOpenReports();
    const writer = new ReportWriter(fake.api, logger);
    const namespaces = Array.from({ length: 230 }, (_, i) => `ns-${i}`);
    await writer.apply(desired(namespaces.map((namespace) => finding(namespace, 'w'))));
    fake.requests.length = 0;
    const outcome = await writer.apply(desired([]));
    assert.equal(outcome.deleted, 230);
    assert.equal(fake.requests.filter((request) => request === 'GET /apis/openreports.io/v1alpha1/reports').length, 3);
  });

  it('tells whether openreports.io is served', async () => {
    const fake = new FakeOpenReports();
    assert.equal(await new ReportWriter(fake.api, logger).installed(), true);
    fake.installed = false;
    assert.equal(await new ReportWriter(fake.api, logger).installed(), false);
  });
});
