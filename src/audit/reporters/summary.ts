import type { EnforcementAction } from '../../config.js';
import type { AuditReport } from '../audit.js';

export interface AuditSummary {
  objects: number;
  judged: number;
  skipped: Record<string, number>;
  /** YAML/JSON documents that are not Kubernetes objects. */
  notKubernetes: number;
  /** Files skipped as templates (Helm chart sources). */
  templates: number;
  /** Files or documents that could not be read or judged (the exit code is then 2). */
  errors: number;
  deny: number;
  warn: number;
  audit: number;
  overridden: number;
  byPolicy: Record<string, Record<EnforcementAction, number>>;
}

/** Counts per action and per policy; overridden findings are counted apart, not as denials. */
export function summarize(report: AuditReport): AuditSummary {
  const summary: AuditSummary = {
    objects: report.objects,
    judged: report.judged,
    skipped: report.skipped,
    notKubernetes: report.notKubernetes,
    templates: report.templates,
    errors: report.problems.length,
    deny: 0,
    warn: 0,
    audit: 0,
    overridden: 0,
    byPolicy: {},
  };
  for (const finding of report.findings) {
    const perPolicy = (summary.byPolicy[finding.policy] ??= { deny: 0, warn: 0, audit: 0 });
    if (finding.overridden) {
      summary.overridden++;
      continue;
    }
    summary[finding.action]++;
    perPolicy[finding.action]++;
  }
  return summary;
}
