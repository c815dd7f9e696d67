import { fieldAt, textOf } from '../kube/fields.js';
import { controllerOf } from '../kube/owners.js';
import { POD_TEMPLATE_HASH_LABEL } from '../kube/template-hash.js';
import type { KubeObject } from '../kube/types.js';
import { PROBE_LABEL } from '../probe-verdict.js';

/**
 * The few fields of each watched object the probes read, so that a cluster of 50,000 pods
 * costs the probe a few megabytes of views, not the objects themselves.
 */

export interface NodeView {
  name: string;
  labels: Readonly<Record<string, string>>;
  ready: boolean;
  /** The Ready condition's reason when it is not True ('' when Ready or unknown). */
  notReadyReason: string;
  /** When the Ready condition last changed, ms since the epoch (NaN when unknown). */
  readySince: number;
  unschedulable: boolean;
  kubeletVersion: string;
  /** ms since the epoch (NaN when unknown): a node still joining is not yet expected Ready. */
  createdAt: number;
  /** Its taints, for a canary meant to land on it. */
  taints: ReadonlyArray<{ key: string; effect: string }>;
}

export interface ContainerView {
  name: string;
  restartCount: number;
  /** When its last run ended (lastState.terminated.finishedAt), ms since the epoch; NaN when it never ended. */
  lastEndedAt: number;
}

export interface PodView {
  uid: string;
  namespace: string;
  name: string;
  node: string;
  phase: string;
  ready: boolean;
  /** `Kind/name` of the controller that owns the pod ('' for a bare pod). */
  owner: string;
  /** Its `pod-template-hash` label ('' when none): with a ReplicaSet owner, names the Deployment. */
  templateHash: string;
  /** status.startTime, ms since the epoch (NaN when unknown). */
  startedAt: number;
  containers: readonly ContainerView[];
  /** Labels, kept only for levee's own probe pods (`levee.dev/probe`): their run is in them. */
  probeLabels?: Readonly<Record<string, string>>;
}

export interface ServiceView {
  namespace: string;
  name: string;
  type: string;
  hasSelector: boolean;
  /** ms since the epoch (NaN when unknown). */
  createdAt: number;
  deleting: boolean;
}

export interface EndpointSliceView {
  namespace: string;
  name: string;
  /** The Service it belongs to (label kubernetes.io/service-name), '' when none. */
  service: string;
  /** Endpoints not marked not-ready (a nil `ready` means ready, discovery.k8s.io/v1). */
  readyEndpoints: number;
}

export interface LeaseView {
  name: string;
  holder: string;
  /** renewTime, ms since the epoch (NaN when unset). */
  renewedAt: number;
  renewTime: string;
  durationSeconds: number;
}

type Condition = { type?: unknown; status?: unknown; reason?: unknown; lastTransitionTime?: unknown };

const time = (value: unknown): number => (typeof value === 'string' ? Date.parse(value) : Number.NaN);
const record = (value: unknown): Record<string, string> => {
  if (!value || typeof value !== 'object') return {};
  return Object.fromEntries(Object.entries(value as Record<string, unknown>).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
};
const array = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);
const conditionOf = (object: KubeObject, type: string): Condition | undefined =>
  array(fieldAt(object, 'status.conditions')).find((condition): condition is Condition => (condition as Condition | null)?.type === type);

export function toNodeView(object: KubeObject): NodeView {
  const ready = conditionOf(object, 'Ready');
  const isReady = ready?.status === 'True';
  return {
    name: object.metadata?.name ?? '',
    labels: record(object.metadata?.labels),
    ready: isReady,
    notReadyReason: isReady ? '' : textOf(ready?.reason) || (ready ? String(ready.status) : 'no Ready condition'),
    readySince: time(ready?.lastTransitionTime),
    unschedulable: fieldAt(object, 'spec.unschedulable') === true,
    kubeletVersion: textOf(fieldAt(object, 'status.nodeInfo.kubeletVersion')),
    createdAt: time(object.metadata?.creationTimestamp),
    taints: array(fieldAt(object, 'spec.taints')).flatMap((taint) => {
      const { key, effect } = (taint ?? {}) as { key?: unknown; effect?: unknown };
      return typeof key === 'string' && typeof effect === 'string' ? [{ key, effect }] : [];
    }),
  };
}

export function toPodView(object: KubeObject): PodView {
  const labels = record(object.metadata?.labels);
  const owner = controllerOf(object);
  const containers = array(fieldAt(object, 'status.containerStatuses')).map((status): ContainerView => {
    const container = (status ?? {}) as { name?: unknown; restartCount?: unknown; lastState?: { terminated?: { finishedAt?: unknown } } };
    return {
      name: textOf(container.name),
      restartCount: typeof container.restartCount === 'number' ? container.restartCount : 0,
      lastEndedAt: time(container.lastState?.terminated?.finishedAt),
    };
  });
  return {
    uid: textOf(object.metadata?.uid),
    namespace: object.metadata?.namespace ?? '',
    name: object.metadata?.name ?? '',
    node: textOf(fieldAt(object, 'spec.nodeName')),
    phase: textOf(fieldAt(object, 'status.phase')),
    ready: conditionOf(object, 'Ready')?.status === 'True',
    owner: owner ? `${owner.kind}/${owner.name}` : '',
    templateHash: labels[POD_TEMPLATE_HASH_LABEL] ?? '',
    startedAt: time(fieldAt(object, 'status.startTime')),
    containers,
    ...(PROBE_LABEL in labels ? { probeLabels: labels } : {}),
  };
}

export function toServiceView(object: KubeObject): ServiceView {
  return {
    namespace: object.metadata?.namespace ?? '',
    name: object.metadata?.name ?? '',
    type: textOf(fieldAt(object, 'spec.type')) || 'ClusterIP',
    hasSelector: Object.keys(record(fieldAt(object, 'spec.selector'))).length > 0,
    createdAt: time(object.metadata?.creationTimestamp),
    deleting: Boolean(object.metadata?.deletionTimestamp),
  };
}

export function toEndpointSliceView(object: KubeObject): EndpointSliceView {
  const endpoints = array((object as { endpoints?: unknown }).endpoints) as Array<{ conditions?: { ready?: unknown } } | null>;
  return {
    namespace: object.metadata?.namespace ?? '',
    name: object.metadata?.name ?? '',
    service: record(object.metadata?.labels)['kubernetes.io/service-name'] ?? '',
    readyEndpoints: endpoints.filter((endpoint) => endpoint?.conditions?.ready !== false).length,
  };
}

export function toLeaseView(object: KubeObject): LeaseView {
  const renewTime = textOf(fieldAt(object, 'spec.renewTime'));
  const duration = fieldAt(object, 'spec.leaseDurationSeconds');
  return {
    name: object.metadata?.name ?? '',
    holder: textOf(fieldAt(object, 'spec.holderIdentity')),
    renewedAt: time(renewTime),
    renewTime,
    durationSeconds: typeof duration === 'number' ? duration : 15,
  };
}
