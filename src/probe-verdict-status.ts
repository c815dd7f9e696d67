import { LeveeError } from './errors.js';
import { SEVERITIES, VERDICTS, type Cause, type ProbeResult, type ProbeStatus, type Severity, type VerdictDocument } from './probe-verdict.js';

/**
 * The ProbeVerdict resource (**contract**: cluster-scoped `probeverdicts.levee.dev`, object
 * `cluster`, `status.verdict`) and the verdict document, each from the other: the leader
 * writes its document as the object's status; every replica's `serve`, and the probes that do
 * not lead, read the document back from it. Shared by probe and serve like probe-verdict.ts.
 */

export const PROBE_VERDICT_API = 'levee.dev/v1alpha1';
export const PROBE_VERDICTS_PATH = '/apis/levee.dev/v1alpha1/probeverdicts';
/** The object that carries a cluster's own verdict. */
export const PROBE_VERDICT_NAME = 'cluster';

export interface ProbeVerdictStatusProbe {
  name: string;
  status: ProbeStatus;
  critical?: boolean;
  severity?: Severity;
  lastOk?: boolean;
  latencyMs?: number;
  message?: string;
  hint?: string;
  consecutiveFailures?: number;
  consecutiveSuccesses?: number;
  failingSince?: string;
  lastTransitionTime?: string;
  checkedAt?: string;
}

export interface ProbeVerdictStatus {
  /** `Unknown` only in a fleet hub, for a member whose API server does not answer; `cluster` never says it. */
  verdict?: string;
  /** A fleet hub's member: the kubeconfig context it is reached by. Absent on `cluster`. */
  cluster?: string;
  /** A fleet hub's member: whether its API server answers (false: verdict Unknown, message the error). */
  reachable?: boolean;
  since?: string;
  lastProbeTime?: string;
  reporter?: string;
  /** Comma-separated, critical first; "-" when none. */
  failing?: string;
  message?: string;
  cause?: Cause;
  probes?: ProbeVerdictStatusProbe[];
}

export interface ProbeVerdictObject {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; uid?: string; resourceVersion?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  status?: ProbeVerdictStatus;
}

/** One line a human reads first: what fails and the hint, or that everything passes. */
export function summarize(document: VerdictDocument): string {
  if (document.failing.length === 0) {
    const checked = document.probes.filter((probe) => probe.status !== 'Skipped').length;
    return `all ${checked} probes pass`;
  }
  const explained = new Set(document.cause?.explains ?? []);
  const lines = document.failing.map((id) => {
    const result = document.probes.find((probe) => probe.probe === id);
    const hint = result?.hint && !explained.has(id) ? ` (hint: ${result.hint})` : '';
    return `${id}: ${result?.message ?? 'failing'}${hint}`;
  });
  // The cause first: it is what the reader acts on; the probes it explains follow without repeating it.
  return [...(document.cause ? [`cause: ${document.cause.message}`] : []), ...lines].join('; ');
}

const clip = (text: string, limit: number): string => (text.length > limit ? `${text.slice(0, limit - 1)}…` : text);

export function statusOf(document: VerdictDocument): ProbeVerdictStatus {
  return {
    verdict: document.verdict,
    since: document.since,
    lastProbeTime: document.generatedAt,
    reporter: document.reporter,
    failing: document.failing.length > 0 ? document.failing.join(', ') : '-',
    message: clip(summarize(document), 2048),
    ...(document.cause ? { cause: { ...document.cause, message: clip(document.cause.message, 1024) } } : {}),
    probes: document.probes.map((probe) => ({
      name: probe.probe,
      status: probe.status,
      critical: probe.critical,
      ...(probe.severity ? { severity: probe.severity } : {}),
      lastOk: probe.lastOk,
      latencyMs: probe.latencyMs,
      message: clip(probe.message, 1024),
      ...(probe.hint ? { hint: probe.hint } : {}),
      consecutiveFailures: probe.consecutiveFailures,
      consecutiveSuccesses: probe.consecutiveSuccesses,
      ...(probe.failingSince ? { failingSince: probe.failingSince } : {}),
      lastTransitionTime: probe.lastTransitionTime,
      checkedAt: probe.checkedAt,
    })),
  };
}

/** The document a ProbeVerdict's status describes; an object without a complete status is an error naming what is missing. */
export function documentOfStatus(object: ProbeVerdictObject, source = `ProbeVerdict ${object.metadata?.name ?? '?'}`): VerdictDocument {
  const status = object.status;
  if (!status) throw new LeveeError('VERDICT_INVALID', `${source} has no status yet`);
  if (!(VERDICTS as readonly unknown[]).includes(status.verdict)) throw new LeveeError('VERDICT_INVALID', `${source} has no status.verdict`);
  if (typeof status.lastProbeTime !== 'string' || Number.isNaN(Date.parse(status.lastProbeTime))) {
    throw new LeveeError('VERDICT_INVALID', `${source} has no valid status.lastProbeTime`);
  }
  const failing = !status.failing || status.failing === '-' ? [] : status.failing.split(',').map((name) => name.trim()).filter(Boolean);
  const probes: ProbeResult[] = (status.probes ?? []).map((probe) => ({
    probe: probe.name,
    status: probe.status,
    critical: probe.critical ?? false,
    ...((SEVERITIES as readonly unknown[]).includes(probe.severity) ? { severity: probe.severity } : {}),
    lastOk: probe.lastOk ?? probe.status !== 'Failing',
    latencyMs: probe.latencyMs ?? 0,
    message: probe.message ?? '',
    ...(probe.hint ? { hint: probe.hint } : {}),
    consecutiveFailures: probe.consecutiveFailures ?? 0,
    consecutiveSuccesses: probe.consecutiveSuccesses ?? 0,
    ...(probe.failingSince ? { failingSince: probe.failingSince } : {}),
    lastTransitionTime: probe.lastTransitionTime ?? status.lastProbeTime!,
    checkedAt: probe.checkedAt ?? status.lastProbeTime!,
  }));
  return {
    verdict: status.verdict as VerdictDocument['verdict'],
    since: status.since ?? status.lastProbeTime,
    generatedAt: status.lastProbeTime,
    reporter: status.reporter ?? '',
    leader: true,
    run: 0,
    failing,
    probes,
    ...(status.cause?.rule && status.cause.message ? { cause: { rule: status.cause.rule, message: status.cause.message, explains: status.cause.explains ?? [] } } : {}),
  };
}
