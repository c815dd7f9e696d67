import type { AdmissionRequest, KubeObject } from './types.js';

/**
 * One normalized view of the workloads levee judges, so policies never dig through
 * Deployment, StatefulSet, ReplicaSet and Scale shapes themselves.
 */

export const SCALABLE_KINDS = ['Deployment', 'StatefulSet', 'ReplicaSet', 'ReplicationController'] as const;
export type ScalableKind = (typeof SCALABLE_KINDS)[number];

export interface WorkloadRef {
  kind: ScalableKind;
  namespace: string;
  name: string;
}

/**
 * What can back a Service: a scalable workload, a DaemonSet (it has no replicas to scale, but
 * it can be deleted or relabelled), or a Pod no controller owns.
 */
export interface BackendRef {
  kind: ScalableKind | 'DaemonSet' | 'Pod';
  namespace: string;
  name: string;
}

export interface WorkloadView {
  ref: WorkloadRef;
  /** Which object of that name: an ownerReference names its owner by uid. Absent in manifests. */
  uid?: string;
  /** Effective replicas: an absent spec.replicas means 1, as the API server defaults it. */
  replicas: number;
  podLabels: Readonly<Record<string, string>>;
  /**
   * Only levee's own annotations (overrides and their stamps): the cache never holds the
   * rest, such as a `kubectl.kubernetes.io/last-applied-configuration` of several KiB.
   */
  annotations: Readonly<Record<string, string>>;
}

/** `group/resource` of each scalable kind, as a `<resource>/scale` request names it. */
const RESOURCE_TO_KIND: Readonly<Record<string, ScalableKind>> = {
  'apps/deployments': 'Deployment',
  'apps/statefulsets': 'StatefulSet',
  'apps/replicasets': 'ReplicaSet',
  '/replicationcontrollers': 'ReplicationController',
};

export function workloadKey(ref: BackendRef): string {
  return `${ref.kind}/${ref.namespace}/${ref.name}`;
}

export function isScalableKind(kind: string | undefined): kind is ScalableKind {
  return (SCALABLE_KINDS as readonly string[]).includes(kind ?? '');
}

const GROUP_OF: Readonly<Record<ScalableKind, string>> = { Deployment: 'apps', StatefulSet: 'apps', ReplicaSet: 'apps', ReplicationController: '' };

/** The apiVersion of a scalable kind: `apps/v1`, or `v1` for a ReplicationController. */
export function apiVersionOf(kind: ScalableKind): string {
  return GROUP_OF[kind] ? `${GROUP_OF[kind]}/v1` : 'v1';
}

/** Whether `group`/`kind` is a scalable workload (a `Deployment` of another API group is not). */
export function isScalableGroupKind(group: string, kind: string | undefined): kind is ScalableKind {
  return isScalableKind(kind) && GROUP_OF[kind] === group;
}

/** The workload a `<resource>/scale` request targets, or undefined for other requests. */
export function scaleTarget(request: AdmissionRequest): WorkloadRef | undefined {
  if (request.subResource !== 'scale') return undefined;
  const kind = RESOURCE_TO_KIND[`${request.resource.group}/${request.resource.resource}`];
  if (!kind || !request.name || !request.namespace) return undefined;
  return { kind, namespace: request.namespace, name: request.name };
}

/**
 * Reads spec.replicas. On a workload an absent value means the API default of 1; on an
 * autoscaling/v1 Scale it means 0, because ScaleSpec.replicas is `omitempty`: a scale to
 * zero arrives as `spec: {}`.
 */
export function replicasOf(object: KubeObject | null): number | undefined {
  if (!object) return undefined;
  const absent = object.kind === 'Scale' ? 0 : 1;
  const spec = object.spec;
  if (typeof spec !== 'object' || spec === null) return absent;
  const replicas = (spec as { replicas?: unknown }).replicas;
  return typeof replicas === 'number' ? replicas : absent;
}

/** Builds the view of a Deployment, StatefulSet, ReplicaSet or ReplicationController; undefined for anything else. */
export function workloadFromObject(object: KubeObject | null, fallbackNamespace?: string): WorkloadView | undefined {
  if (!object || !isScalableKind(object.kind)) return undefined;
  const metadata = object.metadata ?? {};
  const spec = (typeof object.spec === 'object' && object.spec !== null ? object.spec : {}) as {
    template?: { metadata?: { labels?: Record<string, string> } };
  };
  const ref: WorkloadRef = { kind: object.kind, namespace: metadata.namespace ?? fallbackNamespace ?? 'default', name: metadata.name ?? '' };
  const replicas = replicasOf(object) ?? 1;
  const podLabels = stringMap(spec.template?.metadata?.labels);
  const annotations = leveeAnnotations(metadata.annotations);
  // Literals of one shape each (see cluster/views.ts): tens of thousands of these are cached.
  return typeof metadata.uid === 'string' && metadata.uid !== ''
    ? { ref, uid: metadata.uid, replicas, podLabels, annotations }
    : { ref, replicas, podLabels, annotations };
}

const LEVEE_PREFIX = 'levee.dev/';
const NONE: Readonly<Record<string, string>> = Object.freeze({});

/** The `levee.dev/` annotations of an object (overrides, stamps): all levee keeps of its annotations. */
export function leveeAnnotations(value: unknown): Readonly<Record<string, string>> {
  if (typeof value !== 'object' || value === null) return NONE;
  let out: Record<string, string> | undefined;
  for (const [key, entry] of Object.entries(value)) {
    if (key.startsWith(LEVEE_PREFIX) && typeof entry === 'string') (out ??= {})[key] = entry;
  }
  return out ?? NONE;
}

function stringMap(value: unknown): Record<string, string> {
  if (typeof value !== 'object' || value === null) return {};
  const out: Record<string, string> = {};
  for (const [key, entry] of Object.entries(value)) if (typeof entry === 'string') out[key] = entry;
  return out;
}
