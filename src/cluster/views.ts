import { controllerOf, type OwnerRef } from '../kube/owners.js';
import { recordOf } from '../kube/fields.js';
import type { KubeObject } from '../kube/types.js';
import { isScalableKind, workloadFromObject, type WorkloadView } from '../kube/workload.js';
import { templateHash } from '../kube/template-hash.js';

/** Trimmed views of the objects levee caches: only what a policy asks about is kept in memory. */

export interface ServiceView {
  namespace: string;
  name: string;
  /**
   * Empty for Services without a selector (their endpoints are managed by hand) and for
   * ExternalName Services, which never get endpoints whatever selector is left on them.
   */
  selector: Readonly<Record<string, string>>;
}

export interface EndpointView {
  ready: boolean;
  /** The Pod behind the endpoint, when the slice says which. */
  podName?: string;
}

export interface EndpointSliceView {
  namespace: string;
  name: string;
  serviceName: string;
  endpoints: readonly EndpointView[];
}

export interface PodView {
  namespace: string;
  name: string;
  /**
   * The controller its ownerReferences name, uid included: anyone who may write a pod may name
   * any owner, so the pod is that owner's only when levee holds the owner with this very uid
   * (ClusterState.podController).
   */
  owner?: OwnerWithUid;
}

/** A controller as its ReplicaSets and pods name it, with the uid that says it is that very object. */
export interface OwnerWithUid extends OwnerRef {
  uid: string;
}

export interface ReplicaSetView {
  namespace: string;
  name: string;
  owner?: OwnerWithUid;
  /** Canonical hash of its pod template (pod-template-hash label removed), to recognise rollbacks. */
  templateHash?: string;
}

export function objectKey(namespace: string | undefined, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}

// Views are built as object literals, never by spreading another object: V8 gave most spread
// copies a hidden class of their own, which for tens of thousands of cached objects cost more
// memory than the views themselves.

function namespaceOf(object: KubeObject): string {
  return object.metadata?.namespace ?? '';
}

function nameOf(object: KubeObject): string {
  return object.metadata?.name ?? '';
}

export function toServiceView(object: KubeObject): ServiceView {
  const spec = (recordOf(object.spec) ?? {}) as { selector?: Record<string, string> | null; type?: unknown };
  const selector = spec.type === 'ExternalName' ? {} : (recordOf(spec.selector) as Record<string, string> | undefined) ?? {};
  return { namespace: namespaceOf(object), name: nameOf(object), selector };
}

export function toEndpointSliceView(object: KubeObject): EndpointSliceView {
  const raw = object as KubeObject & {
    endpoints?: Array<{ conditions?: { ready?: boolean | null }; targetRef?: { kind?: string; name?: string } }> | null;
  };
  const endpoints = (raw.endpoints ?? []).map((endpoint): EndpointView => {
    const podName = endpoint.targetRef?.kind === 'Pod' ? endpoint.targetRef.name : undefined;
    // A nil `ready` condition means ready (discovery.k8s.io/v1 EndpointConditions).
    const ready = endpoint.conditions?.ready !== false;
    return podName ? { ready, podName } : { ready };
  });
  return { namespace: namespaceOf(object), name: nameOf(object), serviceName: object.metadata?.labels?.['kubernetes.io/service-name'] ?? '', endpoints };
}

export function toPodView(object: KubeObject): PodView {
  const namespace = namespaceOf(object);
  const name = nameOf(object);
  const controller = controllerOf(object);
  return controller ? { namespace, name, owner: { kind: controller.kind, name: controller.name, uid: controller.uid } } : { namespace, name };
}

export function toReplicaSetView(object: KubeObject): ReplicaSetView {
  const namespace = namespaceOf(object);
  const name = nameOf(object);
  const controller = controllerOf(object);
  const owner = controller ? { kind: controller.kind, name: controller.name, uid: controller.uid } : undefined;
  const template = (object.spec as { template?: unknown } | undefined)?.template;
  if (template === undefined) return owner ? { namespace, name, owner } : { namespace, name };
  const hash = templateHash(template);
  return owner ? { namespace, name, owner, templateHash: hash } : { namespace, name, templateHash: hash };
}

export function toWorkloadView(object: KubeObject): WorkloadView | undefined {
  return isScalableKind(object.kind) ? workloadFromObject(object) : undefined;
}

/** `key=value` pairs, the index entries by which Services are found from a set of pod labels. */
export function selectorPairs(namespace: string, labels: Readonly<Record<string, string>>): string[] {
  return Object.entries(labels).map(([key, value]) => `${namespace}/${key}=${value}`);
}
