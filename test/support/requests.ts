import { decodeAdmissionReview } from '../../src/admission/decode.js';
import type { AdmissionRequest, GroupVersionKind, GroupVersionResource, KubeObject, Operation, OwnerReference } from '../../src/kube/types.js';

/** Decodes a review body built by ./reviews.ts; a fixture that does not decode is a broken test. */
export function requestOf(review: unknown): AdmissionRequest {
  const decoded = decodeAdmissionReview(review);
  if (!decoded.ok) throw new Error(`test fixture does not decode: ${decoded.message}`);
  return decoded.request;
}

export interface RequestOptions {
  kind: GroupVersionKind;
  resource: GroupVersionResource;
  operation: Operation;
  namespace?: string;
  name?: string;
  subResource?: string;
  object?: KubeObject | null;
  oldObject?: KubeObject | null;
  username?: string;
  groups?: string[];
  dryRun?: boolean;
}

/** An already decoded AdmissionRequest for any kind, as decodeAdmissionReview would return it. */
export function admissionRequest(options: RequestOptions): AdmissionRequest {
  return {
    uid: 'uid-request',
    kind: options.kind,
    resource: options.resource,
    ...(options.subResource ? { subResource: options.subResource } : {}),
    ...(options.name ? { name: options.name } : {}),
    namespace: options.namespace ?? 'default',
    operation: options.operation,
    userInfo: { username: options.username ?? 'alice', groups: options.groups ?? ['system:authenticated'] },
    object: options.object ?? null,
    oldObject: options.oldObject ?? null,
    dryRun: options.dryRun ?? false,
  };
}

/** A `/scale` UPDATE of `resource`, as the API server sends it: ScaleSpec.replicas is omitempty, so 0 is absent. */
export function scaleRequest(
  resource: GroupVersionResource,
  name: string,
  from: number,
  to: number,
  options: Pick<RequestOptions, 'namespace' | 'username' | 'dryRun'> = {},
): AdmissionRequest {
  const namespace = options.namespace ?? 'default';
  const scale = (replicas: number): KubeObject => ({ apiVersion: 'autoscaling/v1', kind: 'Scale', metadata: { name, namespace }, spec: replicas === 0 ? {} : { replicas } });
  return admissionRequest({ ...options, kind: GVK.scale, resource, subResource: 'scale', operation: 'UPDATE', name, namespace, object: scale(to), oldObject: scale(from) });
}

export const GVK = {
  deployment: { group: 'apps', version: 'v1', kind: 'Deployment' },
  statefulSet: { group: 'apps', version: 'v1', kind: 'StatefulSet' },
  replicaSet: { group: 'apps', version: 'v1', kind: 'ReplicaSet' },
  hpa: { group: 'autoscaling', version: 'v2', kind: 'HorizontalPodAutoscaler' },
  scaledObject: { group: 'keda.sh', version: 'v1alpha1', kind: 'ScaledObject' },
  configMap: { group: '', version: 'v1', kind: 'ConfigMap' },
  scale: { group: 'autoscaling', version: 'v1', kind: 'Scale' },
  daemonSet: { group: 'apps', version: 'v1', kind: 'DaemonSet' },
  pod: { group: '', version: 'v1', kind: 'Pod' },
} as const satisfies Record<string, GroupVersionKind>;

export const GVR = {
  deployments: { group: 'apps', version: 'v1', resource: 'deployments' },
  statefulsets: { group: 'apps', version: 'v1', resource: 'statefulsets' },
  replicasets: { group: 'apps', version: 'v1', resource: 'replicasets' },
  hpas: { group: 'autoscaling', version: 'v2', resource: 'horizontalpodautoscalers' },
  scaledObjects: { group: 'keda.sh', version: 'v1alpha1', resource: 'scaledobjects' },
  configMaps: { group: '', version: 'v1', resource: 'configmaps' },
  daemonSets: { group: 'apps', version: 'v1', resource: 'daemonsets' },
  replicationControllers: { group: '', version: 'v1', resource: 'replicationcontrollers' },
  pods: { group: '', version: 'v1', resource: 'pods' },
  jobs: { group: 'batch', version: 'v1', resource: 'jobs' },
  cronJobs: { group: 'batch', version: 'v1', resource: 'cronjobs' },
} as const satisfies Record<string, GroupVersionResource>;

export function controllerRef(kind: string, name: string): OwnerReference {
  return { apiVersion: 'apps/v1', kind, name, uid: `uid-${name}`, controller: true };
}

export function replicaSetObject(name: string, namespace: string, replicas: number, labels: Record<string, string>, owner?: OwnerReference): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name, namespace, uid: `uid-${name}`, labels, ...(owner ? { ownerReferences: [owner] } : {}) },
    spec: { replicas, selector: { matchLabels: labels }, template: { metadata: { labels } } },
  };
}

export function statefulSetObject(name: string, namespace: string, replicas: number, labels: Record<string, string>): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name, namespace, uid: `uid-${name}`, labels },
    spec: { replicas, serviceName: name, selector: { matchLabels: labels }, template: { metadata: { labels } } },
  };
}

export function hpaObject(name: string, namespace: string, target: string, minReplicas?: number): KubeObject {
  return {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: { name, namespace },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: target },
      ...(minReplicas !== undefined ? { minReplicas } : {}),
      maxReplicas: 10,
    },
  };
}

export function scaledObject(
  name: string,
  namespace: string,
  target: string,
  options: { minReplicaCount?: number; annotations?: Record<string, string> } = {},
): KubeObject {
  return {
    apiVersion: 'keda.sh/v1alpha1',
    kind: 'ScaledObject',
    metadata: { name, namespace, ...(options.annotations ? { annotations: options.annotations } : {}) },
    spec: {
      scaleTargetRef: { name: target },
      ...(options.minReplicaCount !== undefined ? { minReplicaCount: options.minReplicaCount } : {}),
      triggers: [{ type: 'cpu', metricType: 'Utilization', metadata: { value: '60' } }],
    },
  };
}
