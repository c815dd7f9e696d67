import assert from 'node:assert/strict';
import type { AuditReport } from '../../../../src/audit/audit.js';
import { renderSarif } from '../../../../src/audit/reporters/sarif.js';
import { POLICY_RULES } from '../../../../src/policies/rules.js';
import { sarifSchemaErrors } from '../../../support/sarif-schema.js';

export const sarifReport: AuditReport = {
  objects: 3,
  judged: 3,
  skipped: {},
  notKubernetes: 0,
  templates: 0,
  notes: [],
  problems: [{ source: 'deploy/broken.yaml:7', message: 'not valid YAML: x' }],
  findings: [
    { policy: 'scale-to-zero', rule: 'scale-to-zero', action: 'deny', overridden: false, message: 'would leave Service ledger', object: { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'pay', name: 'ledger' }, source: 'deploy/ledger.yaml:2', overrideIgnored: ['expired at x'] },
    { policy: 'scale-to-zero', rule: 'autoscaler-to-zero', action: 'warn', overridden: false, message: 'can reach zero', object: { apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', namespace: 'pay', name: 'ledger' }, source: './deploy/hpa one.yaml:4' },
    { policy: 'spot-capacity', rule: 'on-demand-floor-by-failure-handler', action: 'audit', overridden: false, message: 'node drained', object: { apiVersion: 'v1', kind: 'Node', name: 'n1' }, source: '<stdin>:1' },
  ],
};

interface SarifLog {
  version: string;
  runs: Array<{
    tool: { driver: { name: string; rules: Array<{ id: string; help: { text: string; markdown: string } }> } };
    invocations: Array<{ executionSuccessful: boolean; toolExecutionNotifications: Array<{ level: string; message: { text: string } }> }>;
    results: Array<{ ruleId: string; ruleIndex: number; level: string; message: { text: string }; locations: Array<{ physicalLocation?: { artifactLocation: { uri: string; uriBaseId?: string }; region?: { startLine: number } } }> }>;
  }>;
}

describe('audit/reporters/sarif', () => {
  const log = JSON.parse(renderSarif(sarifReport)) as SarifLog;
  const run = log.runs[0]!;

  it('one rule per policy rule, with help', () => {
    assert.equal(log.version, '2.1.0');
    assert.equal(run.tool.driver.name, 'levee');
    assert.deepEqual(run.tool.driver.rules.map((rule) => rule.id), POLICY_RULES.map((rule) => `${rule.policy}/${rule.rule}`));
    assert.ok(run.tool.driver.rules.every((rule) => rule.help.text.length > 20 && /README section/.test(rule.help.markdown)));
  });

  it('results at file and line, levels from the action, pointing at their rule', () => {
    assert.deepEqual(run.results.map((result) => result.level), ['error', 'warning', 'note']);
    for (const result of run.results) assert.equal(run.tool.driver.rules[result.ruleIndex]!.id, result.ruleId);
    assert.deepEqual(run.results[0]!.locations[0]!.physicalLocation, { artifactLocation: { uri: 'deploy/ledger.yaml', uriBaseId: '%SRCROOT%' }, region: { startLine: 2 } });
    assert.equal(run.results[1]!.locations[0]!.physicalLocation!.artifactLocation.uri, 'deploy/hpa%20one.yaml');
    assert.match(run.results[0]!.message.text, /override ignored: expired at x/);
  });

  it('validates against the published SARIF 2.1.0 schema, which does refuse a broken log', function () {
    this.timeout(120_000);
    assert.deepEqual(sarifSchemaErrors(log), []);
    assert.deepEqual(sarifSchemaErrors(JSON.parse(renderSarif({ ...sarifReport, findings: [], problems: [] }))), []);
    const broken = structuredClone(log) as unknown as { runs: Array<{ results: Array<{ level: string }> }> };
    broken.runs[0]!.results[0]!.level = 'fatal';
    assert.ok(sarifSchemaErrors(broken).length > 0, 'the validator accepted an invalid level');
  });

  it('input that could not be judged makes the run unsuccessful, with an error notification', () => {
    assert.equal(run.invocations[0]!.executionSuccessful, false);
    assert.deepEqual(run.invocations[0]!.toolExecutionNotifications.map((note) => [note.level, note.message.text]), [['error', 'not valid YAML: x']]);
  });
});
