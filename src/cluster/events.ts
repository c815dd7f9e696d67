import { CoreV1Api, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import type { AdmissionRequest } from '../kube/types.js';
import { scaleTarget } from '../kube/workload.js';
import { apiClientWithDeadline } from '../kube/deadline.js';
import type { Logger } from '../logger.js';

export interface AdmissionEvent {
  request: AdmissionRequest;
  reason: 'LeveeDenied' | 'LeveeOverride';
  type: 'Warning' | 'Normal';
  message: string;
}

export interface EventRecorder {
  record(event: AdmissionEvent): void;
}

export const noEvents: EventRecorder = { record: () => undefined };

/** What `kubectl describe` matches an Event to its object by: apiVersion, kind, name, namespace and uid. */
export interface InvolvedObject {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
  uid?: string;
}

/**
 * The object a request's Event is about, as the review names it and nothing else: the object
 * under review, or for `scale` the parent workload (whose uid the Scale object carries). Its
 * namespace is the request's own, so a review can never place an Event elsewhere.
 */
export function involvedObjectOf(request: AdmissionRequest): InvolvedObject {
  const uid = request.object?.metadata?.uid ?? request.oldObject?.metadata?.uid;
  const parentKind = request.subResource === 'scale' ? (scaleTarget(request)?.kind ?? SCALED_KINDS[request.resource.resource]) : undefined;
  // For `scale`, the parent is the resource the request names, in that resource's group and version.
  const { group, version, kind } = parentKind ? { ...request.resource, kind: parentKind } : request.kind;
  const namespace = request.namespace || undefined;
  return {
    apiVersion: group ? `${group}/${version}` : version,
    kind: parentKind ?? kind,
    name: request.name ?? request.object?.metadata?.name ?? request.oldObject?.metadata?.name ?? '',
    ...(namespace ? { namespace } : {}),
    ...(uid ? { uid } : {}),
  };
}

/** Kinds beside apps' workloads that levee judges through their `scale` subresource. */
const SCALED_KINDS: Readonly<Record<string, string>> = { machinedeployments: 'MachineDeployment', machinepools: 'MachinePool' };

/** Events of cluster-scoped objects (Nodes, NodePools) go where Kubernetes puts them: `default`. */
export function eventNamespace(object: InvolvedObject): string {
  return object.namespace ?? 'default';
}

/** The event recorder's aggregation key: one Event per object, type, reason and message. */
function aggregationKey(object: InvolvedObject, event: AdmissionEvent, message: string): string {
  return JSON.stringify([object.apiVersion, object.kind, object.namespace ?? '', object.name, object.uid ?? '', event.type, event.reason, message]);
}

/** Where the calls to the API server go; the recorder below decides when to make them. */
export interface EventSink {
  create(namespace: string, body: EventBody): Promise<string>;
  /** Raises the count and last time of the Event `name`. */
  update(namespace: string, name: string, count: number, at: Date): Promise<void>;
}

export interface EventBody {
  involvedObject: InvolvedObject;
  reason: string;
  type: string;
  message: string;
  count: number;
  at: Date;
}

export interface RecorderOptions {
  sink: EventSink;
  logger: Logger;
  /** Counts an Event levee could not record, by why: `overload` (too many in flight) or `failed`. */
  dropped: (why: 'overload' | 'failed') => void;
  now?: () => Date;
  /** Distinct Events being written at once; past it a new one is dropped (and counted). */
  maxInFlight?: number;
  /** How long a repeat still raises the count of the first Event rather than making a new one. */
  aggregateMs?: number;
  /** How many objects' Events are remembered for aggregation. */
  maxRemembered?: number;
}

interface Series {
  namespace: string;
  name?: string;
  /** Occurrences seen, and the count the API server has. */
  count: number;
  written: number;
  firstAt: number;
  busy: boolean;
}

const MAX_IN_FLIGHT = 32;
// client-go's EventCorrelator keeps its cache for 10 minutes.
const AGGREGATE_MS = 10 * 60_000;
const MAX_REMEMBERED = 4096;
const MESSAGE_LIMIT = 1024;

/**
 * Events off the admission path, aggregated as the Kubernetes event recorder does: a repeat of
 * the same Event (object, type, reason, message) within ten minutes raises the `count` and
 * `lastTimestamp` of the first instead of making another, so a controller retrying a refused
 * change leaves one Event that counts. Writes are bounded: one in flight per Event, repeats
 * meanwhile folded into the next update, and at most `maxInFlight` distinct Events being written;
 * past that a new Event is dropped and counted in `levee_events_dropped_total`, never queued.
 */
export function aggregatingRecorder(options: RecorderOptions): EventRecorder {
  const { sink, logger, dropped } = options;
  const now = options.now ?? (() => new Date());
  const maxInFlight = options.maxInFlight ?? MAX_IN_FLIGHT;
  const aggregateMs = options.aggregateMs ?? AGGREGATE_MS;
  const maxRemembered = options.maxRemembered ?? MAX_REMEMBERED;
  const series = new Map<string, Series>();
  let inFlight = 0;

  const write = (key: string, entry: Series, body: Omit<EventBody, 'count' | 'at'>): void => {
    entry.busy = true;
    inFlight++;
    const count = entry.count;
    const at = now();
    const call = entry.name === undefined ? sink.create(entry.namespace, { ...body, count, at }).then((name) => void (entry.name = name)) : sink.update(entry.namespace, entry.name, count, at);
    call
      .then(
        () => void (entry.written = count),
        (err: unknown) => {
          dropped('failed');
          logger.warn({ err: String((err as Error)?.message ?? err), reason: body.reason }, 'event not recorded');
          // A lost create starts over; a lost update is carried by the next repeat's count.
          if (entry.name === undefined) series.delete(key);
          else entry.written = count;
        },
      )
      .finally(() => {
        inFlight--;
        entry.busy = false;
        if (series.get(key) === entry && entry.count > entry.written) write(key, entry, body);
      });
  };

  return {
    record(event) {
      const involvedObject = involvedObjectOf(event.request);
      const message = event.message.slice(0, MESSAGE_LIMIT);
      const key = aggregationKey(involvedObject, event, message);
      const at = now().getTime();
      let entry = series.get(key);
      if (entry && at - entry.firstAt > aggregateMs && !entry.busy) {
        series.delete(key);
        entry = undefined;
      }
      if (entry) {
        entry.count++;
        // Refresh its place: the map's order is the order of last use.
        series.delete(key);
        series.set(key, entry);
        if (!entry.busy) write(key, entry, { involvedObject, reason: event.reason, type: event.type, message });
        return;
      }
      if (inFlight >= maxInFlight) {
        dropped('overload');
        return;
      }
      entry = { namespace: eventNamespace(involvedObject), count: 1, written: 0, firstAt: at, busy: false };
      series.set(key, entry);
      for (const [oldest, old] of series) {
        if (series.size <= maxRemembered) break;
        if (!old.busy) series.delete(oldest);
      }
      write(key, entry, { involvedObject, reason: event.reason, type: event.type, message });
    },
  };
}

/**
 * The sink that writes core/v1 Events, with levee as their source. Each call has a deadline, so
 * calls to an API server that stopped answering end and free their place in the bound.
 */
export function kubeEventSink(kubeconfig: KubeConfig, timeoutMs = 10_000): EventSink {
  const core = apiClientWithDeadline(kubeconfig, CoreV1Api, timeoutMs);
  return {
    async create(namespace, body) {
      const created = await core.createNamespacedEvent({
        namespace,
        body: {
          metadata: { generateName: 'levee-', namespace },
          involvedObject: body.involvedObject,
          reason: body.reason,
          type: body.type,
          message: body.message,
          source: { component: 'levee' },
          firstTimestamp: body.at,
          lastTimestamp: body.at,
          count: body.count,
          reportingComponent: 'levee.dev/admission',
          reportingInstance: 'levee',
        },
      });
      return created.metadata?.name ?? '';
    },
    async update(namespace, name, count, at) {
      await core.patchNamespacedEvent({ namespace, name, body: { count, lastTimestamp: at.toISOString() } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    },
  };
}

export function kubeEventRecorder(kubeconfig: KubeConfig, logger: Logger, dropped: RecorderOptions['dropped'], timeoutMs = 10_000): EventRecorder {
  return aggregatingRecorder({ sink: kubeEventSink(kubeconfig, timeoutMs), logger, dropped });
}
