import assert from 'node:assert/strict';
import type { AuditFinding } from '../../../src/audit/audit.js';
import { buildReports, canonical, keepFirstSeen, MAX_MESSAGE_CHARS, OMITTED_ANNOTATION, sameContent } from '../../../src/reports/openreports.js';

const at = new Date('2026-11-30T07:00:00.000Z');

function finding(overrides: Partial<AuditFinding> & { namespace?: string; name?: string; kind?: string }): AuditFinding {
  const { namespace, name = 'web', kind = 'Deployment', ...rest } = overrides;
  return {
    policy: 'scale-to-zero',
    rule: 'service-without-endpoints',
    action: 'deny',
    overridden: false,
    message: `Service ${name} would have no endpoints`,
    object: { apiVersion: kind === 'Node' ? 'v1' : 'apps/v1', kind, name, ...(namespace !== undefined ? { namespace } : {}) },
    source: 'cluster:deployments',
    ...rest,
  };
}

describe('reports/openreports', () => {
  it('writes one Report per namespace with findings and one ClusterReport for cluster-scoped objects, labelled managed-by levee', () => {
    const reports = buildReports(
      [
        finding({ namespace: 'payments', name: 'ledger' }),
        finding({ namespace: 'shop', name: 'cart' }),
        finding({ kind: 'Node', name: 'node-1', policy: 'spot-capacity', rule: 'all-pools-spot', message: 'every node is spot' }),
      ],
      { maxResults: 10, at },
    );
    assert.deepEqual([...reports.namespaced.keys()].sort(), ['payments', 'shop']);
    const payments = reports.namespaced.get('payments')!;
    assert.equal(payments.kind, 'Report');
    assert.equal(payments.apiVersion, 'openreports.io/v1alpha1');
    assert.deepEqual(payments.metadata, { name: 'levee', namespace: 'payments', labels: { 'app.kubernetes.io/managed-by': 'levee' }, annotations: {} });
    assert.deepEqual(payments.summary, { pass: 0, fail: 1, warn: 0, error: 0, skip: 0 });
    assert.deepEqual(payments.results[0]!.resources, [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'ledger', namespace: 'payments' }]);
    assert.equal(payments.results[0]!.timestamp.seconds, at.getTime() / 1000);
    assert.equal(reports.cluster.kind, 'ClusterReport');
    assert.equal(reports.cluster.metadata.namespace, undefined);
    assert.deepEqual(reports.cluster.results.map((result) => [result.policy, result.rule, result.resources[0]!.name]), [['spot-capacity', 'all-pools-spot', 'node-1']]);
  });

  it('keeps an empty ClusterReport when no cluster-scoped object breaks a rule', () => {
    const reports = buildReports([finding({ namespace: 'payments' })], { maxResults: 10, at });
    assert.equal(reports.cluster.results.length, 0);
    assert.deepEqual(reports.cluster.summary, { pass: 0, fail: 0, warn: 0, error: 0, skip: 0 });
  });

  it('maps deny to fail/high, warn and audit to warn, an override that lifted a finding to skip with overridden=true', () => {
    const reports = buildReports(
      [
        finding({ namespace: 'a', name: 'denied' }),
        finding({ namespace: 'a', name: 'warned', action: 'warn' }),
        finding({ namespace: 'a', name: 'audited', action: 'audit' }),
        finding({ namespace: 'a', name: 'lifted', overridden: true }),
        finding({ namespace: 'a', name: 'ignored', overrideIgnored: ['override ignored: expired'] }),
      ],
      { maxResults: 10, at },
    );
    const byName = new Map(reports.namespaced.get('a')!.results.map((result) => [result.resources[0]!.name, result]));
    assert.deepEqual([byName.get('denied')!.result, byName.get('denied')!.severity], ['fail', 'high']);
    assert.deepEqual([byName.get('warned')!.result, byName.get('warned')!.severity], ['warn', 'medium']);
    assert.deepEqual([byName.get('audited')!.result, byName.get('audited')!.severity], ['warn', 'low']);
    assert.deepEqual([byName.get('lifted')!.result, byName.get('lifted')!.properties.overridden], ['skip', 'true']);
    assert.equal(byName.get('ignored')!.properties['override-ignored'], 'override ignored: expired');
    assert.deepEqual(reports.namespaced.get('a')!.summary, { pass: 0, fail: 2, warn: 2, error: 0, skip: 1 });
  });

  it('caps results per Report, worst first, counting every finding in the summary and the rest in levee.dev/results-omitted', () => {
    const many = Array.from({ length: 30 }, (_, i) => finding({ namespace: 'big', name: `w${String(i).padStart(2, '0')}`, action: i % 3 === 0 ? 'deny' : 'warn' }));
    const report = buildReports(many, { maxResults: 12, at }).namespaced.get('big')!;
    assert.equal(report.results.length, 12);
    assert.deepEqual(report.summary, { pass: 0, fail: 10, warn: 20, error: 0, skip: 0 });
    assert.equal(report.metadata.annotations[OMITTED_ANNOTATION], '18');
    assert.equal(report.configuration.limits.maxResults, 12);
    assert.deepEqual(report.results.slice(0, 10).map((result) => result.result), Array(10).fill('fail'));
    assert.deepEqual(report.results.slice(10).map((result) => result.resources[0]!.name), ['w01', 'w02']);
    const uncapped = buildReports(many.slice(0, 5), { maxResults: 12, at }).namespaced.get('big')!;
    assert.equal(uncapped.metadata.annotations[OMITTED_ANNOTATION], undefined);
  });

  it('orders results the same whatever order the audit found them in', () => {
    const findings = Array.from({ length: 8 }, (_, i) => finding({ namespace: 'n', name: `w${i}`, action: i % 2 ? 'warn' : 'deny' }));
    const forward = buildReports(findings, { maxResults: 5, at }).namespaced.get('n')!;
    const backward = buildReports([...findings].reverse(), { maxResults: 5, at }).namespaced.get('n')!;
    assert.equal(canonical(forward), canonical(backward));
  });

  it('cuts a long message, so one finding cannot decide a Report\'s size', () => {
    const report = buildReports([finding({ namespace: 'n', message: 'x'.repeat(100_000) })], { maxResults: 5, at }).namespaced.get('n')!;
    assert.equal(report.results[0]!.message.length, MAX_MESSAGE_CHARS);
    assert.ok(report.results[0]!.message.endsWith('…'));
  });

  it('keeps the first-seen timestamp of a result the existing Report holds, so an unchanged Report compares equal', () => {
    const first = buildReports([finding({ namespace: 'n' })], { maxResults: 5, at }).namespaced.get('n')!;
    const stored = JSON.parse(canonical({ ...first, metadata: { ...first.metadata, resourceVersion: '7', uid: 'u' } })) as typeof first;
    const later = buildReports([finding({ namespace: 'n' }), finding({ namespace: 'n', name: 'new' })], { maxResults: 5, at: new Date(at.getTime() + 600_000) }).namespaced.get('n')!;
    const kept = keepFirstSeen(later, stored);
    const byName = new Map(kept.results.map((result) => [result.resources[0]!.name, result.timestamp.seconds]));
    assert.equal(byName.get('web'), at.getTime() / 1000);
    assert.equal(byName.get('new'), at.getTime() / 1000 + 600);
    assert.equal(sameContent(keepFirstSeen(buildReports([finding({ namespace: 'n' })], { maxResults: 5, at: new Date(at.getTime() + 600_000) }).namespaced.get('n')!, stored), stored), true);
    assert.equal(sameContent(kept, stored), false);
  });

  it('sees a changed summary, cap or omitted count as a change', () => {
    const report = buildReports([finding({ namespace: 'n' })], { maxResults: 5, at }).namespaced.get('n')!;
    assert.equal(sameContent(report, structuredClone(report)), true);
    assert.equal(sameContent(report, { ...structuredClone(report), configuration: { limits: { maxResults: 6, statusFilter: ['fail', 'warn', 'skip'] } } }), false);
    assert.equal(sameContent(report, { ...structuredClone(report), metadata: { ...report.metadata, annotations: { [OMITTED_ANNOTATION]: '3' } } }), false);
    assert.equal(sameContent(report, undefined), false);
  });
});
