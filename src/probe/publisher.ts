import type { Logger } from '../logger.js';
import { expectStatus, type KubeApi } from './kube-api.js';
import type { VerdictDocument } from '../probe-verdict.js';
import { documentOfStatus, PROBE_VERDICT_API, PROBE_VERDICT_NAME, PROBE_VERDICTS_PATH, statusOf, summarize, type ProbeVerdictObject, type ProbeVerdictStatus } from '../probe-verdict-status.js';

/** Which ProbeVerdict a publisher writes: `cluster` in the cluster itself, or a fleet member's in the hub. */
export interface VerdictTarget {
  name: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /** Where the VerdictChanged Events go: `default`, the one namespace an Event about a cluster-scoped object may be in. */
  eventNamespace: string;
  /** How the Event names what changed: "cluster verdict", "fleet member prod verdict". */
  subject: string;
}

const OWN_VERDICT: VerdictTarget = { name: PROBE_VERDICT_NAME, eventNamespace: 'default', subject: 'cluster verdict' };

/**
 * What the elected leader tells the cluster: the `cluster` ProbeVerdict's status (so that
 * `kubectl get probeverdicts` shows it) and an Event whenever the verdict it replaces differs,
 * which also covers a new leader taking over from an old one. A fleet probe writes each
 * member's verdict into the hub the same way, under the member's name.
 */
export class VerdictPublisher {
  private readonly target: VerdictTarget;

  constructor(
    private readonly api: KubeApi,
    private readonly logger: Logger,
    target: Partial<VerdictTarget> = {},
  ) {
    this.target = { ...OWN_VERDICT, ...target };
  }

  publish(document: VerdictDocument): Promise<void> {
    return this.publishStatus(statusOf(document), summarize(document));
  }

  /** Writes `status` as the object's status (creating the object first if needed); `summary` goes in the Event when the verdict changes. */
  async publishStatus(status: ProbeVerdictStatus, summary: string): Promise<void> {
    const { name, labels, annotations } = this.target;
    const path = `${PROBE_VERDICTS_PATH}/${encodeURIComponent(name)}`;
    let current = await this.api.get<ProbeVerdictObject>(path);
    if (current.status === 404) {
      const created = await this.api.post<ProbeVerdictObject>(PROBE_VERDICTS_PATH, {
        apiVersion: PROBE_VERDICT_API,
        kind: 'ProbeVerdict',
        metadata: { name, labels: { 'app.kubernetes.io/name': 'levee', ...labels }, ...(annotations ? { annotations } : {}) },
        spec: {},
      });
      current = expectStatus(created, `creating ProbeVerdict ${name} (is the CRD manifests/crds/probeverdicts.levee.dev.yaml applied?)`, 201, 409);
    } else {
      expectStatus(current, `reading ProbeVerdict ${name}`, 200);
    }
    const before = current.body?.status?.verdict;
    const patched = await this.api.mergePatch<ProbeVerdictObject>(`${path}/status`, { status });
    const uid = expectStatus(patched, `updating ProbeVerdict ${name} status`, 200).body.metadata?.uid;
    if (before !== status.verdict) await this.recordChange(before, status, summary, uid);
  }

  private async recordChange(before: string | undefined, status: ProbeVerdictStatus, summary: string, uid: string | undefined): Promise<void> {
    const { name, eventNamespace, subject } = this.target;
    const now = new Date().toISOString();
    const message = `${subject} ${before ?? 'none'} -> ${status.verdict ?? 'none'}: ${summary}`;
    const event = await this.api.post(`/api/v1/namespaces/${encodeURIComponent(eventNamespace)}/events`, {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { generateName: 'levee-probe-', namespace: eventNamespace },
      involvedObject: { apiVersion: PROBE_VERDICT_API, kind: 'ProbeVerdict', name, ...(uid ? { uid } : {}) },
      reason: 'VerdictChanged',
      type: status.verdict === 'Healthy' ? 'Normal' : 'Warning',
      message: message.slice(0, 1024),
      source: { component: 'levee-probe' },
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
      reportingComponent: 'levee.dev/probe',
      reportingInstance: status.reporter ?? '',
    });
    if (event.status !== 201) this.logger.warn({ status: event.status, message: (event.body as { message?: string } | undefined)?.message }, 'verdict change Event not recorded');
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
