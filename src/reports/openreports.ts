import type { AuditFinding } from '../audit/audit.js';

/**
 * levee's findings as openreports.io/v1alpha1 objects (github.com/openreports/reports-api, the
 * format Kyverno and Kubewarden write and Policy Reporter reads): one Report per namespace with
 * findings, and one ClusterReport for cluster-scoped objects. Pure: no API calls here.
 */

export const OPENREPORTS_API = 'openreports.io/v1alpha1';
export const REPORT_NAME = 'levee';
export const MANAGED_BY = { 'app.kubernetes.io/managed-by': 'levee' } as const;
/** How many results a capped Report left out (its summary counts them all). */
export const OMITTED_ANNOTATION = 'levee.dev/results-omitted';
/** A result's message is cut here: one message must not decide a Report's size. */
export const MAX_MESSAGE_CHARS = 1024;

export type ResultStatus = 'pass' | 'fail' | 'warn' | 'error' | 'skip';

export interface ReportResult {
  source: string;
  policy: string;
  rule: string;
  result: ResultStatus;
  severity: 'critical' | 'high' | 'medium' | 'low' | 'info';
  scored: boolean;
  message: string;
  category: string;
  resources: Array<{ apiVersion: string; kind: string; name: string; namespace?: string }>;
  timestamp: { seconds: number; nanos: number };
  properties: Record<string, string>;
}

export interface ReportSummary {
  pass: number;
  fail: number;
  warn: number;
  error: number;
  skip: number;
}

/** A Report or ClusterReport as levee writes it. */
export interface OpenReport {
  apiVersion: typeof OPENREPORTS_API;
  kind: 'Report' | 'ClusterReport';
  metadata: {
    name: string;
    namespace?: string;
    labels: Record<string, string>;
    annotations: Record<string, string>;
    resourceVersion?: string;
  };
  source: 'levee';
  configuration: { limits: { maxResults: number; statusFilter: ResultStatus[] } };
  summary: ReportSummary;
  results: ReportResult[];
}

export interface DesiredReports {
  /** By namespace: only namespaces with at least one finding. */
  namespaced: Map<string, OpenReport>;
  /** Always present, empty when no cluster-scoped object breaks a rule. */
  cluster: OpenReport;
}

/** deny that applies: fail; warn: warn; audit-only: warn; lifted by an override: skip (kept, so the override is visible). */
export function statusOf(finding: AuditFinding): ResultStatus {
  if (finding.overridden) return 'skip';
  return finding.action === 'deny' ? 'fail' : 'warn';
}

function severityOf(finding: AuditFinding): ReportResult['severity'] {
  if (finding.overridden) return 'info';
  switch (finding.action) {
    case 'deny':
      return 'high';
    case 'warn':
      return 'medium';
    case 'audit':
      return 'low';
  }
}

const ORDER: Record<ResultStatus, number> = { fail: 0, error: 1, warn: 2, skip: 3, pass: 4 };

/** The key a result keeps across runs: the same rule on the same object. */
export function resultKey(result: Pick<ReportResult, 'policy' | 'rule' | 'resources'>): string {
  const resource = result.resources[0];
  return [result.policy, result.rule, resource?.apiVersion, resource?.kind, resource?.namespace ?? '', resource?.name].join('|');
}

export function resultOf(finding: AuditFinding, at: Date): ReportResult {
  const message = finding.message.length > MAX_MESSAGE_CHARS ? `${finding.message.slice(0, MAX_MESSAGE_CHARS - 1)}…` : finding.message;
  const { apiVersion, kind, name, namespace } = finding.object;
  return {
    source: 'levee',
    policy: finding.policy,
    rule: finding.rule,
    result: statusOf(finding),
    severity: severityOf(finding),
    scored: true,
    message,
    category: 'levee',
    resources: [{ apiVersion, kind, name, ...(namespace ? { namespace } : {}) }],
    timestamp: { seconds: Math.floor(at.getTime() / 1000), nanos: 0 },
    properties: {
      action: finding.action,
      ...(finding.overridden ? { overridden: 'true' } : {}),
      ...(finding.overrideIgnored?.length ? { 'override-ignored': finding.overrideIgnored.join('; ').slice(0, MAX_MESSAGE_CHARS) } : {}),
    },
  };
}

function emptyReport(kind: OpenReport['kind'], namespace: string | undefined, maxResults: number): OpenReport {
  return {
    apiVersion: OPENREPORTS_API,
    kind,
    metadata: { name: REPORT_NAME, ...(namespace ? { namespace } : {}), labels: { ...MANAGED_BY }, annotations: {} },
    source: 'levee',
    configuration: { limits: { maxResults, statusFilter: ['fail', 'warn', 'skip'] } },
    summary: { pass: 0, fail: 0, warn: 0, error: 0, skip: 0 },
    results: [],
  };
}

/**
 * The Reports for one audit's findings. Each keeps at most `maxResults` results, the worst
 * first (fail, warn, skip; then by policy, kind, namespace, name), and counts every finding in
 * its summary; when some were left out, the annotation levee.dev/results-omitted says how many.
 */
export function buildReports(findings: readonly AuditFinding[], options: { maxResults: number; at: Date }): DesiredReports {
  const grouped = new Map<string | undefined, ReportResult[]>();
  for (const finding of findings) {
    const namespace = finding.object.namespace || undefined;
    const list = grouped.get(namespace) ?? [];
    list.push(resultOf(finding, options.at));
    grouped.set(namespace, list);
  }
  const namespaced = new Map<string, OpenReport>();
  let cluster = emptyReport('ClusterReport', undefined, options.maxResults);
  for (const [namespace, results] of grouped) {
    const report = fill(emptyReport(namespace ? 'Report' : 'ClusterReport', namespace, options.maxResults), results, options.maxResults);
    if (namespace) namespaced.set(namespace, report);
    else cluster = report;
  }
  return { namespaced, cluster };
}

function fill(report: OpenReport, results: ReportResult[], maxResults: number): OpenReport {
  const unique = new Map<string, ReportResult>();
  // One object may carry the same rule twice (two messages): both are kept, keyed apart.
  for (const result of results) {
    let key = resultKey(result);
    for (let n = 2; unique.has(key); n++) key = `${resultKey(result)}#${n}`;
    unique.set(key, result);
  }
  const sorted = [...unique.values()].sort(
    (a, b) => ORDER[a.result] - ORDER[b.result] || compare(a.policy, b.policy) || compare(a.rule, b.rule) || compare(resultKey(a), resultKey(b)) || compare(a.message, b.message),
  );
  for (const result of sorted) report.summary[result.result]++;
  report.results = sorted.slice(0, maxResults);
  const omitted = sorted.length - report.results.length;
  if (omitted > 0) report.metadata.annotations[OMITTED_ANNOTATION] = String(omitted);
  return report;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Keeps the timestamps of results the existing Report already holds (first seen, not last
 * audited), so that an unchanged Report is byte-for-byte the same and need not be written.
 */
export function keepFirstSeen(desired: OpenReport, existing: Pick<OpenReport, 'results'> | undefined): OpenReport {
  // The stored object is whatever the API server holds: anyone with write access may have put
  // anything in it, so each result is checked before it is read.
  const stored: unknown = existing?.results;
  if (!Array.isArray(stored) || stored.length === 0) return desired;
  const seen = new Map<string, ReportResult['timestamp']>();
  for (const result of stored as Array<Partial<ReportResult> | null>) {
    if (result?.timestamp && Array.isArray(result.resources) && result.resources.length > 0) seen.set(`${resultKey(result as ReportResult)}|${result.message}`, result.timestamp);
  }
  return { ...desired, results: desired.results.map((result) => ({ ...result, timestamp: seen.get(`${resultKey(result)}|${result.message}`) ?? result.timestamp })) };
}

/** Whether writing `desired` over `existing` would change what a reader sees. */
export function sameContent(desired: OpenReport, existing: Partial<OpenReport> | undefined): boolean {
  if (!existing) return false;
  // The API server returns custom objects with their keys sorted: compare key order aside.
  const view = (report: Partial<OpenReport>) =>
    canonical([report.source, report.configuration, report.summary, report.results, report.metadata?.labels?.['app.kubernetes.io/managed-by'], report.metadata?.annotations?.[OMITTED_ANNOTATION] ?? null]);
  return view(desired) === view(existing);
}

/** JSON with every object's keys sorted. */
export function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) =>
    item && typeof item === 'object' && !Array.isArray(item) ? Object.fromEntries(Object.entries(item).sort(([a], [b]) => compare(a, b))) : item,
  );
}
