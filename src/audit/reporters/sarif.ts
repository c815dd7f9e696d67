import type { EnforcementAction } from '../../config.js';
import { packageInfo } from '../../package.js';
import { POLICIES } from '../../policies/registry.js';
import { POLICY_RULES, type PolicyRule } from '../../policies/rules.js';
import type { AuditFinding, AuditReport } from '../audit.js';

/**
 * SARIF 2.1.0 for code-scanning UIs: one rule per policy rule (help text, and a link to the
 * README section when the package names its homepage), one result per finding at its file
 * and line, levels from the enforcement action, and input that could not be judged as
 * error notifications of an unsuccessful run.
 */

const LEVELS: Record<EnforcementAction, 'error' | 'warning' | 'note'> = { deny: 'error', warn: 'warning', audit: 'note' };

interface Location {
  physicalLocation?: { artifactLocation: { uri: string; uriBaseId?: string }; region?: { startLine: number } };
  logicalLocations?: Array<{ fullyQualifiedName: string; kind: string }>;
}

export function renderSarif(report: AuditReport): string {
  const { name, version, homepage } = packageInfo();
  const rules = [...POLICY_RULES];
  for (const finding of report.findings) {
    if (!rules.some((known) => known.policy === finding.policy && known.rule === finding.rule)) rules.push(unknownRule(finding));
  }
  const ruleIds = rules.map((known) => `${known.policy}/${known.rule}`);
  const run = {
    tool: {
      driver: {
        name,
        version,
        ...(homepage ? { informationUri: homepage } : {}),
        rules: rules.map((known) => ({
          id: `${known.policy}/${known.rule}`,
          name: known.rule,
          shortDescription: { text: known.summary },
          help: { text: `${known.summary} ${known.help}`, markdown: `${known.summary}\n\n${known.help}\n\nPolicy \`${known.policy}\`: see the README section [${known.policy}](${readmeLink(homepage, known.readmeSection)}).` },
          ...(homepage ? { helpUri: `${homepage.replace(/#.*$/, '')}#${known.readmeSection}` } : {}),
          properties: { policy: known.policy },
        })),
      },
    },
    invocations: [
      {
        executionSuccessful: report.problems.length === 0,
        toolExecutionNotifications: report.problems.map((problem) => ({ level: 'error', message: { text: problem.message }, locations: [locationOf(problem.source)] })),
      },
    ],
    results: report.findings.map((finding) => ({
      ruleId: `${finding.policy}/${finding.rule}`,
      ruleIndex: ruleIds.indexOf(`${finding.policy}/${finding.rule}`),
      level: LEVELS[finding.action],
      message: { text: [finding.message, ...(finding.overrideIgnored ?? []).map((why) => `override ignored: ${why}`)].join('; ') },
      locations: [{ ...locationOf(finding.source), logicalLocations: [{ fullyQualifiedName: objectName(finding), kind: 'object' }] }],
      ...(finding.overridden ? { suppressions: [{ kind: 'external', status: 'accepted', justification: 'overridden with levee.dev/override by an authorized user' }] } : {}),
      properties: { action: finding.action, overridden: finding.overridden, object: finding.object },
    })),
  };
  return `${JSON.stringify({ $schema: 'https://json.schemastore.org/sarif-2.1.0.json', version: '2.1.0', runs: [run] }, null, 2)}\n`;
}

function readmeLink(homepage: string | undefined, section: string): string {
  return homepage ? `${homepage.replace(/#.*$/, '')}#${section}` : `README.md#${section}`;
}

function unknownRule(finding: AuditFinding): PolicyRule {
  const summary = POLICIES.find((policy) => policy.id === finding.policy)?.summary ?? `a finding of policy ${finding.policy}`;
  return { policy: finding.policy as PolicyRule['policy'], rule: finding.rule, summary, help: `Rule ${finding.rule} of policy ${finding.policy}.`, readmeSection: finding.policy };
}

function objectName(finding: AuditFinding): string {
  const { kind, namespace, name } = finding.object;
  return namespace ? `${kind} ${namespace}/${name}` : `${kind} ${name}`;
}

/** `file:line` as a SARIF location: a path relative to the repository root, or a file URI. */
function locationOf(source: string): Location {
  const match = /^(.*):(\d+)$/.exec(source);
  const file = match ? match[1]! : source;
  const line = match ? Number(match[2]) : undefined;
  if (file.startsWith('cluster:')) return { logicalLocations: [{ fullyQualifiedName: file, kind: 'resource' }] };
  const uri = file === '<stdin>' ? 'stdin' : file.startsWith('/') ? `file://${encodePath(file)}` : encodePath(file.replace(/^\.\//, ''));
  return {
    physicalLocation: {
      artifactLocation: { uri, ...(file.startsWith('/') ? {} : { uriBaseId: '%SRCROOT%' }) },
      ...(line !== undefined ? { region: { startLine: line } } : {}),
    },
  };
}

function encodePath(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}
