import type { KubeApi } from '../kube-api.js';
import type { ProbeOutcome } from '../types.js';
import type { ReportCheck } from './settings.js';

interface ReportMap {
  metadata?: { creationTimestamp?: string; managedFields?: Array<{ time?: string; manager?: string }> };
  data?: Record<string, string>;
}

/**
 * The result a pod of the user's reported by patching a ConfigMap in levee's namespace
 * (Kuberhealthy's checker pods, with the API server as the authenticated channel: the pod's
 * ServiceAccount may patch that one ConfigMap and nothing else). `data.ok` "true" passes,
 * anything else fails with `data.message`; a report older than `maxAgeSeconds` fails too, by
 * the time the API server recorded the last change (the reporter's own clock is not trusted).
 */
export async function readReport(check: ReportCheck, api: KubeApi, namespace: string, now: Date, signal: AbortSignal): Promise<ProbeOutcome> {
  const where = `ConfigMap ${namespace}/${check.configMap}`;
  const response = await api.get<ReportMap>(`/api/v1/namespaces/${encodeURIComponent(namespace)}/configmaps/${encodeURIComponent(check.configMap)}`, { signal });
  if (response.status === 404) return { ok: false, stage: 'missing', message: `no report yet: ${where} does not exist` };
  if (response.status !== 200) {
    const detail = (response.body as { message?: string } | undefined)?.message ?? response.text.trim().slice(0, 200);
    return { ok: false, stage: 'read', message: `reading ${where}: HTTP ${response.status}${detail ? `: ${detail}` : ''}` };
  }
  const report = response.body;
  const data = report.data ?? {};
  if (data.ok === undefined) return { ok: false, stage: 'missing', message: `${where} carries no report yet (no data.ok)` };
  // A ConfigMap read from the API server always has a creation time; without one the report counts as never written.
  const written = lastWritten(report) ?? 0;
  const ageSeconds = Math.max(0, Math.round((now.getTime() - written) / 1000));
  const message = (data.message ?? '').trim().slice(0, 300);
  const said = message ? `: ${message}` : '';
  const details = { ageSeconds, reportedAt: data.reportedAt ?? null };
  if (ageSeconds > check.maxAgeSeconds) {
    return { ok: false, stage: 'stale', details, message: `the last report in ${where} is ${ageSeconds} s old (more than ${check.maxAgeSeconds} s): has the reporting pod stopped?${said}` };
  }
  if (data.ok.trim().toLowerCase() !== 'true') return { ok: false, stage: 'reported', details, message: `reported failing ${ageSeconds} s ago${said}` };
  return { ok: true, details, message: `reported passing ${ageSeconds} s ago${said}` };
}

/** When the API server last recorded a change to the ConfigMap: its newest managedFields time, else its creation. */
function lastWritten(report: ReportMap): number | undefined {
  const times = (report.metadata?.managedFields ?? []).map((entry) => Date.parse(entry.time ?? '')).filter((time) => !Number.isNaN(time));
  if (times.length > 0) return Math.max(...times);
  const created = Date.parse(report.metadata?.creationTimestamp ?? '');
  return Number.isNaN(created) ? undefined : created;
}
