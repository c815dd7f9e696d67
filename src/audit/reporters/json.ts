import type { AuditReport } from '../audit.js';
import { summarize } from './summary.js';

/** The stable JSON schema documented in the README (`kind: AuditReport`): fields are added, never renamed. */
export function renderJson(report: AuditReport): string {
  const document = { apiVersion: 'levee.dev/v1alpha1', kind: 'AuditReport', summary: summarize(report), findings: report.findings, errors: report.problems, notes: report.notes };
  return `${JSON.stringify(document, null, 2)}\n`;
}
