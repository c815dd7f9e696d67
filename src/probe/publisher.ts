import type { Logger } from '../logger.js';
import { expectStatus, type KubeApi } from './kube-api.js';
import type { VerdictDocument } from '../probe-verdict.js';

/** ProbeVerdict (**contract**): cluster-scoped `probeverdicts.levee.dev`, object `cluster`, `status.verdict`. */
export const PROBE_VERDICT_API = 'levee.dev/v1alpha1';
export const PROBE_VERDICT_PATH = '/apis/levee.dev/v1alpha1/probeverdicts';
export const PROBE_VERDICT_NAME = 'cluster';

interface ProbeVerdictObject {
  metadata?: { uid?: string };
  status?: { verdict?: string };
}

/** One line a human reads first: what fails and the hint, or that everything passes. */
export function summarize(document: VerdictDocument): string {
  if (document.failing.length === 0) {
    const checked = document.probes.filter((probe) => probe.status !== 'Skipped').length;
    return `all ${checked} probes pass`;
  }
  return document.failing
    .map((id) => {
      const result = document.probes.find((probe) => probe.probe === id);
      return `${id}: ${result?.message ?? 'failing'}${result?.hint ? ` (hint: ${result.hint})` : ''}`;
    })
    .join('; ');
}

/**
 * What the elected leader tells the cluster: the `cluster` ProbeVerdict's status (so that
 * `kubectl get probeverdicts` shows it) and an Event whenever the verdict it replaces differs,
 * which also covers a new leader taking over from an old one.
 */
export class VerdictPublisher {
  constructor(
    private readonly api: KubeApi,
    private readonly logger: Logger,
    private readonly eventNamespace = 'default',
  ) {}

  async publish(document: VerdictDocument): Promise<void> {
    const path = `${PROBE_VERDICT_PATH}/${PROBE_VERDICT_NAME}`;
    let current = await this.api.get<ProbeVerdictObject>(path);
    if (current.status === 404) {
      const created = await this.api.post<ProbeVerdictObject>(PROBE_VERDICT_PATH, {
        apiVersion: PROBE_VERDICT_API,
        kind: 'ProbeVerdict',
        metadata: { name: PROBE_VERDICT_NAME, labels: { 'app.kubernetes.io/name': 'levee' } },
        spec: {},
      });
      current = expectStatus(created, `creating ProbeVerdict ${PROBE_VERDICT_NAME} (is the CRD manifests/crds/probeverdicts.levee.dev.yaml applied?)`, 201, 409);
    } else {
      expectStatus(current, `reading ProbeVerdict ${PROBE_VERDICT_NAME}`, 200);
    }
    const before = current.body?.status?.verdict;
    const patched = await this.api.mergePatch<ProbeVerdictObject>(`${path}/status`, { status: statusOf(document) });
    const uid = expectStatus(patched, `updating ProbeVerdict ${PROBE_VERDICT_NAME} status`, 200).body.metadata?.uid;
    if (before !== document.verdict) await this.recordChange(before, document, uid);
  }

  private async recordChange(before: string | undefined, document: VerdictDocument, uid: string | undefined): Promise<void> {
    const now = new Date().toISOString();
    const message = `cluster verdict ${before ?? 'none'} -> ${document.verdict}: ${summarize(document)}`;
    const event = await this.api.post(`/api/v1/namespaces/${encodeURIComponent(this.eventNamespace)}/events`, {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { generateName: 'levee-probe-', namespace: this.eventNamespace },
      involvedObject: { apiVersion: PROBE_VERDICT_API, kind: 'ProbeVerdict', name: PROBE_VERDICT_NAME, ...(uid ? { uid } : {}) },
      reason: 'VerdictChanged',
      type: document.verdict === 'Healthy' ? 'Normal' : 'Warning',
      message: message.slice(0, 1024),
      source: { component: 'levee-probe' },
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
      reportingComponent: 'levee.dev/probe',
      reportingInstance: document.reporter,
    });
    if (event.status !== 201) this.logger.warn({ status: event.status }, 'verdict change Event not recorded');
  }
}

function statusOf(document: VerdictDocument): Record<string, unknown> {
  return {
    verdict: document.verdict,
    since: document.since,
    lastProbeTime: document.generatedAt,
    reporter: document.reporter,
    failing: document.failing.length > 0 ? document.failing.join(', ') : '-',
    message: summarize(document).slice(0, 2048),
    probes: document.probes.map((probe) => ({
      name: probe.probe,
      status: probe.status,
      critical: probe.critical,
      lastOk: probe.lastOk,
      latencyMs: probe.latencyMs,
      message: probe.message.slice(0, 1024),
      ...(probe.hint ? { hint: probe.hint } : {}),
      consecutiveFailures: probe.consecutiveFailures,
      consecutiveSuccesses: probe.consecutiveSuccesses,
      ...(probe.failingSince ? { failingSince: probe.failingSince } : {}),
      lastTransitionTime: probe.lastTransitionTime,
      checkedAt: probe.checkedAt,
    })),
  };
}
