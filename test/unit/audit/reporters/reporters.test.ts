import assert from 'node:assert/strict';
import type { AuditReport } from '../../../../src/audit/audit.js';
import { renderJson } from '../../../../src/audit/reporters/json.js';
import { renderJunit } from '../../../../src/audit/reporters/junit.js';
import { renderTable } from '../../../../src/audit/reporters/table.js';

const report: AuditReport = {
  objects: 4,
  judged: 3,
  skipped: { ConfigMap: 1 },
  notKubernetes: 2,
  templates: 0,
  problems: [],
  notes: [],
  findings: [
    { policy: 'scale-to-zero', rule: 'scale-to-zero', action: 'deny', overridden: false, message: 'would leave Service <ledger> & co', object: { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'pay', name: 'ledger' }, source: 'a.yaml:1', overrideIgnored: ['expired at 2020-01-01T00:00:00Z'] },
    { policy: 'scale-to-zero', rule: 'autoscaler-to-zero', action: 'warn', overridden: false, message: 'can reach zero', object: { apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', namespace: 'pay', name: 'ledger' }, source: 'a.yaml:20' },
    { policy: 'scale-to-zero', rule: 'scale-to-zero', action: 'deny', overridden: true, message: 'overridden one', object: { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'pay', name: 'old' }, source: 'b.yaml:1' },
  ],
};

describe('audit/reporters', () => {
  it('table: one line per finding and a summary, colour only when asked', () => {
    const plain = renderTable(report, false);
    assert.match(plain, /^ACTION\s+POLICY\s+OBJECT\s+SOURCE\s+MESSAGE$/m);
    assert.match(plain, /^deny\s+scale-to-zero\s+Deployment pay\/ledger\s+a\.yaml:1\s+would leave/m);
    assert.match(plain, /^overridden\s+scale-to-zero\s+Deployment pay\/old/m);
    assert.match(plain, /4 objects, 3 judged, 1 skipped \(ConfigMap x1\): 1 deny, 1 warn, 0 audit, 1 overridden; 2 not Kubernetes/);
    assert.match(plain, /would leave Service <ledger> & co; override ignored: expired at 2020-01-01T00:00:00Z/);
    assert.doesNotMatch(plain, /\u001b\[/);
    assert.match(renderTable(report, true), /\u001b\[31mdeny/);
  });

  it('json: the documented schema, with counts per policy', () => {
    const parsed = JSON.parse(renderJson({ ...report, problems: [{ source: 'c.yaml:3', message: 'not valid YAML: x' }], notes: ['a note'] })) as {
      apiVersion: string;
      kind: string;
      summary: Record<string, unknown>;
      findings: Array<{ overrideIgnored?: string[] }>;
      errors: unknown[];
      notes: string[];
    };
    assert.equal(parsed.kind, 'AuditReport');
    assert.equal(parsed.apiVersion, 'levee.dev/v1alpha1');
    // The documented fields keep their names; new ones are only added.
    assert.deepEqual(parsed.summary, {
      objects: 4, judged: 3, skipped: { ConfigMap: 1 }, notKubernetes: 2, templates: 0, errors: 1, deny: 1, warn: 1, audit: 0, overridden: 1,
      byPolicy: { 'scale-to-zero': { deny: 1, warn: 1, audit: 0 } },
    });
    assert.equal(parsed.findings.length, 3);
    assert.deepEqual(parsed.findings[0]!.overrideIgnored, ['expired at 2020-01-01T00:00:00Z']);
    assert.deepEqual(parsed.errors, [{ source: 'c.yaml:3', message: 'not valid YAML: x' }]);
    assert.deepEqual(parsed.notes, ['a note']);
  });

  it('junit: a failure for each refused object, escaped, and passes for the rest', () => {
    const xml = renderJunit(report);
    assert.match(xml, /<testsuites name="levee audit" tests="3" failures="1" errors="0">/);
    assert.match(xml, /<testcase classname="a\.yaml:1" name="Deployment pay\/ledger">\s*<failure type="scale-to-zero\/scale-to-zero" message="would leave Service &lt;ledger&gt; &amp; co; override ignored: expired at 2020-01-01T00:00:00Z"\/>/);
    assert.match(xml, /<system-out>warn \[scale-to-zero\] can reach zero<\/system-out>/);
    assert.doesNotMatch(xml, /<failure[^>]*overridden one/);
  });

  it('junit: input that could not be read is an error test case', () => {
    const xml = renderJunit({ ...report, problems: [{ source: 'c.yaml:3', message: 'not valid YAML: <x>' }] });
    assert.match(xml, /<testsuites name="levee audit" tests="4" failures="1" errors="1">/);
    assert.match(xml, /<testcase classname="c\.yaml:3" name="unreadable input">\s*<error type="input" message="not valid YAML: &lt;x&gt;"\/>/);
  });
});
