import type { AdmissionRequest, KubeObject } from './types.js';

/**
 * One normalized view of the workloads levee judges, so policies never dig through
 * Deployment, StatefulSet, ReplicaSet and Scale shapes themselves.
 */

export const SCALABLE_KINDS = ['Deployment', 'StatefulSet', 'ReplicaSet'] as const;
export type ScalableKind = (typeof SCALABLE_KINDS)[number];

export interface WorkloadRef {
  kind: ScalableKind;
  namespace: string;
  name: string;
}

export interface WorkloadView {
  ref: WorkloadRef;
  /** Effective replicas: an absent spec.replicas means 1, as the API server defaults it. */
  replicas: number;
  podLabels: Readonly<Record<string, string>>;
  /**
   * Only levee's own annotations (overrides and their stamps): the cache never holds the
   * rest, such as a `kubectl.kubernetes.io/last-applied-configuration` of several KiB.
   */
  annotations: Readonly<Record<string, string>>;
}

const RESOURCE_TO_KIND: Readonly<Record<string, ScalableKind>> = {
  deployments: 'Deployment',
  statefulsets: 'StatefulSet',
  replicasets: 'ReplicaSet',
};

export function workloadKey(ref: WorkloadRef): string {
  return `${ref.kind}/${ref.namespace}/${ref.name}`;
}

export function isScalableKind(kind: string | undefined): kind is ScalableKind {
  return (SCALABLE_KINDS as readonly string[]).includes(kind ?? '');
}

/** The workload a `<resource>/scale` request targets, or undefined for other requests. */
export function scaleTarget(request: AdmissionRequest): WorkloadRef | undefined {
  if (request.subResource !== 'scale' || request.resource.group !== 'apps') return undefined;
  const kind = RESOURCE_TO_KIND[request.resource.resource];
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

/** Builds the view of a Deployment, StatefulSet or ReplicaSet object; undefined for anything else. */
export function workloadFromObject(object: KubeObject | null, fallbackNamespace?: string): WorkloadView | undefined {
  if (!object || !isScalableKind(object.kind)) return undefined;
  const metadata = object.metadata ?? {};
  const spec = (typeof object.spec === 'object' && object.spec !== null ? object.spec : {}) as {
    template?: { metadata?: { labels?: Record<string, string> } };
  };
  return {
    ref: { kind: object.kind, namespace: metadata.namespace ?? fallbackNamespace ?? 'default', name: metadata.name ?? '' },
    replicas: replicasOf(object) ?? 1,
    podLabels: stringMap(spec.template?.metadata?.labels),
    annotations: leveeAnnotations(metadata.annotations),
  };
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
