import type { EnforcementAction } from '../../config.js';
import type { AuditReport } from '../audit.js';

export interface AuditSummary {
  objects: number;
  judged: number;
  skipped: Record<string, number>;
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
