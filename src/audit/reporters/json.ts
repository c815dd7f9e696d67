import type { AuditReport } from '../audit.js';
import { summarize } from './summary.js';

/** The stable JSON schema documented in the README (`kind: AuditReport`). */
export function renderJson(report: AuditReport): string {
  return `${JSON.stringify({ apiVersion: 'levee.dev/v1alpha1', kind: 'AuditReport', summary: summarize(report), findings: report.findings }, null, 2)}\n`;
}
