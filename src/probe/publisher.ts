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
 * `kubectl get probeverdicts` shows it), an Event `VerdictChanged` whenever the verdict it
 * replaces differs, which also covers a new leader taking over from an old one, and an Event
 * `FailingProbesChanged` whenever the verdict stays but the set of failing probes changes (a
 * second fault while already Unhealthy, one of two faults healed). A fleet probe writes each
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
    const failingBefore = failingOf(current.body?.status?.failing);
    const patched = await this.api.mergePatch<ProbeVerdictObject>(`${path}/status`, { status });
    const uid = expectStatus(patched, `updating ProbeVerdict ${name} status`, 200).body.metadata?.uid;
    const { subject } = this.target;
    if (before !== status.verdict) {
      const message = `${subject} ${before ?? 'none'} -> ${status.verdict ?? 'none'}: ${summary}`;
      await this.record('VerdictChanged', message, status.verdict === 'Healthy' ? 'Normal' : 'Warning', status, uid);
      return;
    }
    const change = failingChange(failingBefore, failingOf(status.failing));
    if (change) {
      const message = `failing probes changed, ${subject} still ${status.verdict ?? 'none'}: ${change.text}; ${summary}`;
      await this.record('FailingProbesChanged', message, change.added.length > 0 ? 'Warning' : 'Normal', status, uid);
    }
  }

  private async record(reason: string, message: string, type: 'Normal' | 'Warning', status: ProbeVerdictStatus, uid: string | undefined): Promise<void> {
    const { name, eventNamespace } = this.target;
    const now = new Date().toISOString();
    const event = await this.api.post(`/api/v1/namespaces/${encodeURIComponent(eventNamespace)}/events`, {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { generateName: 'levee-probe-', namespace: eventNamespace },
      involvedObject: { apiVersion: PROBE_VERDICT_API, kind: 'ProbeVerdict', name, ...(uid ? { uid } : {}) },
      reason,
      type,
      message: message.slice(0, 1024),
      source: { component: 'levee-probe' },
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
      reportingComponent: 'levee.dev/probe',
      reportingInstance: status.reporter ?? '',
    });
    if (event.status !== 201) this.logger.warn({ status: event.status, reason, message: (event.body as { message?: string } | undefined)?.message }, 'verdict change Event not recorded');
  }
}

/** The probes a status's `failing` names ("-" or empty: none). */
function failingOf(text: string | undefined): string[] {
  return !text || text === '-' ? [] : text.split(',').map((name) => name.trim()).filter(Boolean);
}

/** What differs between two sets of failing probes, or undefined when they are the same set. */
export function failingChange(before: readonly string[], after: readonly string[]): { added: string[]; removed: string[]; text: string } | undefined {
  const added = after.filter((probe) => !before.includes(probe));
  const removed = before.filter((probe) => !after.includes(probe));
  if (added.length === 0 && removed.length === 0) return undefined;
  const parts = [...(added.length > 0 ? [`now failing ${added.join(', ')}`] : []), ...(removed.length > 0 ? [`no longer failing ${removed.join(', ')}`] : [])];
  return { added, removed, text: parts.join('; ') };
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
