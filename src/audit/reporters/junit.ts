import type { AuditFinding, AuditReport } from '../audit.js';
import { summarize } from './summary.js';

function xml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

function caseName(finding: Pick<AuditFinding, 'object'>): string {
  const { kind, namespace, name } = finding.object;
  return namespace ? `${kind} ${namespace}/${name}` : `${kind} ${name}`;
}

function withOverrideNotes(finding: AuditFinding): string {
  return [finding.message, ...(finding.overrideIgnored ?? []).map((why) => `override ignored: ${why}`)].join('; ');
}

/**
 * JUnit XML that CI systems render: one test case per judged object that has findings, one
 * per clean policy run, and a failure for each deny-level finding.
 */
export function renderJunit(report: AuditReport): string {
  const byObject = new Map<string, AuditFinding[]>();
  for (const finding of report.findings) {
    const key = `${finding.source}\u0000${caseName(finding)}`;
    byObject.set(key, [...(byObject.get(key) ?? []), finding]);
  }
  const cases: string[] = [];
  let failures = 0;
  for (const findings of byObject.values()) {
    const first = findings[0]!;
    const denials = findings.filter((finding) => finding.action === 'deny' && !finding.overridden);
    failures += denials.length > 0 ? 1 : 0;
    const body = [
      ...denials.map((finding) => `      <failure type="${xml(finding.policy)}/${xml(finding.rule)}" message="${xml(withOverrideNotes(finding))}"/>`),
      ...findings
        .filter((finding) => !denials.includes(finding))
        .map((finding) => `      <system-out>${xml(`${finding.overridden ? 'overridden' : finding.action} [${finding.policy}] ${finding.message}`)}</system-out>`),
    ];
    cases.push(`    <testcase classname="${xml(first.source)}" name="${xml(caseName(first))}">\n${body.join('\n')}\n    </testcase>`);
  }
  const clean = report.judged - byObject.size;
  if (clean > 0) cases.push(`    <testcase classname="levee" name="${clean} other judged object(s) without findings"/>`);
  // Input that could not be judged is an error in the report, as CI systems show test errors.
  for (const problem of report.problems) {
    cases.push(`    <testcase classname="${xml(problem.source)}" name="unreadable input">\n      <error type="input" message="${xml(problem.message)}"/>\n    </testcase>`);
  }
  const summary = summarize(report);
  const errors = report.problems.length;
  const tests = byObject.size + (clean > 0 ? 1 : 0) + errors;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="levee audit" tests="${tests}" failures="${failures}" errors="${errors}">`,
    `  <testsuite name="levee audit" tests="${tests}" failures="${failures}" errors="${errors}" skipped="${summary.objects - summary.judged}">`,
    ...cases,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}
