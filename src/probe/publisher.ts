import type { Logger } from '../logger.js';
import { expectStatus, type KubeApi } from './kube-api.js';
import type { VerdictDocument } from '../probe-verdict.js';
import { documentOfStatus, PROBE_VERDICT_API, PROBE_VERDICT_NAME, PROBE_VERDICTS_PATH, statusOf, summarize, type ProbeVerdictObject } from '../probe-verdict-status.js';

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
    const path = `${PROBE_VERDICTS_PATH}/${PROBE_VERDICT_NAME}`;
    let current = await this.api.get<ProbeVerdictObject>(path);
    if (current.status === 404) {
      const created = await this.api.post<ProbeVerdictObject>(PROBE_VERDICTS_PATH, {
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

/** The ProbeVerdict `cluster` as it is now, or undefined when it does not exist. */
export async function readProbeVerdict(api: KubeApi, signal?: AbortSignal): Promise<ProbeVerdictObject | undefined> {
  const response = await api.get<ProbeVerdictObject>(`${PROBE_VERDICTS_PATH}/${PROBE_VERDICT_NAME}`, signal ? { signal } : {});
  if (response.status === 404) return undefined;
  return expectStatus(response, `reading ProbeVerdict ${PROBE_VERDICT_NAME}`, 200).body;
}

/** The verdict the leader last published, or undefined when there is none (no object, no status yet). */
export async function readPublishedVerdict(api: KubeApi, signal?: AbortSignal): Promise<VerdictDocument | undefined> {
  const object = await readProbeVerdict(api, signal);
  return object?.status?.verdict ? documentOfStatus(object) : undefined;
}
