import type { AuditFinding, AuditReport } from '../audit.js';
import { summarize } from './summary.js';

const COLOURS = { deny: '\u001b[31m', warn: '\u001b[33m', audit: '\u001b[36m', overridden: '\u001b[35m', reset: '\u001b[0m' } as const;

function objectName(finding: AuditFinding): string {
  const { kind, namespace, name } = finding.object;
  return namespace ? `${kind} ${namespace}/${name}` : `${kind} ${name}`;
}

/** For people: one line per finding, then a summary. Colour only when writing to a terminal. */
export function renderTable(report: AuditReport, colour: boolean): string {
  const paint = (what: keyof typeof COLOURS, text: string): string => (colour ? `${COLOURS[what]}${text}${COLOURS.reset}` : text);
  const rows = report.findings.map((finding) => {
    const action = finding.overridden ? 'overridden' : finding.action;
    const message = [finding.message, ...(finding.overrideIgnored ?? []).map((why) => `override ignored: ${why}`)].join('; ');
    return [action, finding.policy, objectName(finding), finding.source, message, action] as const;
  });
  const header = ['ACTION', 'POLICY', 'OBJECT', 'SOURCE'] as const;
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const pad = (text: string, column: number): string => text.padEnd(widths[column]!);
  const lines: string[] = [];
  if (rows.length > 0) {
    lines.push(`${header.map(pad).join('  ')}  MESSAGE`);
    for (const row of rows) {
      const cells = [paint(row[5] as keyof typeof COLOURS, pad(row[0], 0)), pad(row[1], 1), pad(row[2], 2), pad(row[3], 3)];
      lines.push(`${cells.join('  ')}  ${row[4]}`);
    }
    lines.push('');
  }
  const summary = summarize(report);
  const skipped = Object.entries(summary.skipped).map(([kind, count]) => `${kind} x${count}`).join(', ');
  const unjudged = [
    summary.notKubernetes > 0 ? `${summary.notKubernetes} not Kubernetes` : '',
    summary.templates > 0 ? `${summary.templates} template file(s)` : '',
    summary.errors > 0 ? `${summary.errors} unreadable (see stderr)` : '',
  ].filter(Boolean);
  lines.push(
    `${summary.objects} objects, ${summary.judged} judged, ${summary.objects - summary.judged} skipped${skipped ? ` (${skipped})` : ''}: ` +
      `${summary.deny} deny, ${summary.warn} warn, ${summary.audit} audit, ${summary.overridden} overridden` +
      (unjudged.length > 0 ? `; ${unjudged.join(', ')}` : ''),
  );
  for (const [policy, counts] of Object.entries(summary.byPolicy)) {
    lines.push(`  ${policy}: ${counts.deny} deny, ${counts.warn} warn, ${counts.audit} audit`);
  }
  return `${lines.join('\n')}\n`;
}
