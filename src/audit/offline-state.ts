import type { KubeObject } from '../kube/types.js';
import { workloadKey, type WorkloadView } from '../kube/workload.js';
import type { ClusterOptions } from '../cluster/options.js';
import { CLUSTER_API_GROUP, isWorkerPoolKind } from '../cluster/worker-pools.js';
import { isAutoscaler } from '../cluster/autoscalers.js';
import { ClusterState, ownerKey } from '../cluster/state.js';
import { groupOf } from '../kube/fields.js';
import { objectKey, toEndpointSliceView, toPodView, toReplicaSetView, toServiceView, toWorkloadView } from '../cluster/views.js';
import { controllerOf } from '../kube/owners.js';
import { podTemplateOf } from '../kube/pod-template.js';

/** Endpoints levee imagines per workload; enough to count as "backed", small enough to stay cheap. */
const IMAGINED_ENDPOINTS = 3;

/** Something the manifests run that serves behind the Services selecting its pods' labels. */
interface PlannedBackend {
  namespace: string;
  /** `kind/name` of what runs the pods, and so of the pods' controller. */
  owner: { kind: string; name: string } | undefined;
  name: string;
  podLabels: Readonly<Record<string, string>>;
  pods: number;
}

/**
 * The cluster as the manifests describe it once applied and running: the input objects are
 * context for each other. What runs pods (a workload with replicas > 0, a DaemonSet, a bare
 * Pod) is imagined Ready behind every Service that selects its pods, so a set of manifests is
 * judged as a whole. Objects are added one at a time as they are read; only their views are kept.
 */
export class OfflineState {
  private readonly cluster: ClusterState;
  private readonly backends: PlannedBackend[] = [];
  /** Pods that name a controller: their own backends unless that controller is among the manifests, with that uid. */
  private readonly claimedPods: Array<{ key: string; backend: PlannedBackend }> = [];

  constructor(
    private readonly defaultNamespace: string,
    options?: ClusterOptions,
  ) {
    this.cluster = new ClusterState(options);
  }

  add(raw: KubeObject): void {
    const { cluster } = this;
    const object = withNamespace(raw, this.defaultNamespace);
    const key = objectKey(object.metadata?.namespace, object.metadata?.name ?? '');
    switch (object.kind) {
      case 'Service':
        cluster.services.upsert(key, toServiceView(object));
        break;
      case 'EndpointSlice':
        cluster.endpointSlices.upsert(key, toEndpointSliceView(object));
        break;
      case 'Pod': {
        cluster.pods.upsert(key, toPodView(object));
        // A bare pod is its own backend; one naming a controller is that controller's, once
        // finish() has seen the controller with the uid it names (manifests come in any order).
        if (!controllerOf(object)) this.plan(object, undefined, 1);
        else this.claimedPods.push({ key, backend: this.planned(object, undefined, 1) });
        break;
      }
      case 'DaemonSet': {
        // At least one pod, on whichever nodes it lands (OpenKruise's Advanced DaemonSet too).
        const name = object.metadata?.name ?? '';
        const namespace = object.metadata?.namespace ?? this.defaultNamespace;
        cluster.owners.upsert(ownerKey('DaemonSet', namespace, name), object.metadata?.uid || inventedUid('DaemonSet', namespace, name));
        this.plan(object, { kind: 'DaemonSet', name }, 1);
        break;
      }
      case 'ReplicaSet':
        cluster.replicaSets.upsert(key, toReplicaSetView(object));
        break;
      case 'Node':
        cluster.nodes.upsert(...cluster.nodes.project(object));
        break;
      case 'NodePool':
        if (object.apiVersion?.startsWith('karpenter.sh/')) cluster.nodePools.upsert(...cluster.nodePools.project(object));
        break;
      default:
        addCustomObject(cluster, object);
    }
    const workload = toWorkloadView(object);
    if (workload) {
      // Manifests written by hand carry no uid; the pods levee imagines for them name this one.
      const held = workload.uid ? workload : { ...workload, uid: inventedUid(workload.ref.kind, workload.ref.namespace, workload.ref.name) };
      cluster.workloads.upsert(workloadKey(held.ref), held);
      this.backends.push(backendOf(held));
    }
  }

  private plan(object: KubeObject, owner: PlannedBackend['owner'], pods: number): void {
    this.backends.push(this.planned(object, owner, pods));
  }

  private planned(object: KubeObject, owner: PlannedBackend['owner'], pods: number): PlannedBackend {
    const podLabels = podTemplateOf(object)?.labels ?? {};
    return { namespace: object.metadata?.namespace ?? this.defaultNamespace, owner, name: object.metadata?.name ?? '', podLabels, pods };
  }

  /** The finished state, every store synced; call once, after the last add(). */
  finish(): ClusterState {
    // A pod naming a controller the manifests do not hold with that uid (a ConfigMap, an owner
    // of another uid, one not among them) runs as itself, as it would in a cluster.
    for (const { key, backend } of this.claimedPods) {
      const pod = this.cluster.pods.get(key);
      if (!pod || this.cluster.podController(pod).kind !== 'confirmed') this.backends.push(backend);
    }
    for (const backend of this.backends) imagineEndpoints(this.cluster, backend);
    for (const store of this.cluster.allStores()) store.markSynced();
    return this.cluster;
  }
}

export function stateFromManifests(objects: readonly KubeObject[], defaultNamespace: string, options?: ClusterOptions): ClusterState {
  const state = new OfflineState(defaultNamespace, options);
  for (const object of objects) state.add(object);
  return state.finish();
}

/** Cluster API and provider objects (upgrade intents, worker pools, Clusters, ClusterClasses, what machines are made from) and autoscalers. */
function addCustomObject(cluster: ClusterState, object: KubeObject): void {
  const group = groupOf(object.apiVersion);
  if (isAutoscaler(group, object.kind)) {
    const store = object.kind === 'HorizontalPodAutoscaler' ? cluster.hpas : cluster.kedaScalers;
    const projected = store.project(object, group);
    if (projected) store.upsert(...projected);
    return;
  }
  const intent = cluster.upgradeIntents.project(object);
  if (intent) cluster.upgradeIntents.upsert(...intent);
  if (isWorkerPoolKind(group, object.kind)) cluster.workerPools.upsert(...cluster.workerPools.project(object));
  if (group === CLUSTER_API_GROUP && object.kind === 'Cluster') cluster.clusters.upsert(...cluster.clusters.project(object));
  if (group === CLUSTER_API_GROUP && object.kind === 'ClusterClass') cluster.clusterClasses.upsert(...cluster.clusterClasses.project(object));
  const infrastructure = cluster.infrastructure.project(object, group);
  if (infrastructure) cluster.infrastructure.upsert(...infrastructure);
}

export function withNamespace(object: KubeObject, namespace: string): KubeObject {
  if (object.metadata?.namespace || !NAMESPACED_BY_DEFAULT(object.kind)) return object;
  return { ...object, metadata: { ...object.metadata, namespace } };
}

const CLUSTER_SCOPED = new Set([
  'Namespace', 'Node', 'PersistentVolume', 'ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition', 'StorageClass',
  'PriorityClass', 'ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration', 'NodePool', 'ProbeVerdict', 'IngressClass',
  'RuntimeClass', 'APIService', 'CSIDriver',
]);

function NAMESPACED_BY_DEFAULT(kind: string | undefined): boolean {
  return !CLUSTER_SCOPED.has(kind ?? '');
}

function backendOf(workload: WorkloadView): PlannedBackend {
  const { namespace, name, kind } = workload.ref;
  return { namespace, owner: { kind, name }, name, podLabels: workload.podLabels, pods: workload.replicas };
}

/** The uid levee gives an object of the manifests that has none, so that the pods it imagines for it are confirmed its own. */
function inventedUid(kind: string, namespace: string, name: string): string {
  return `manifest:${ownerKey(kind, namespace, name)}`;
}

/**
 * The controller levee's imagined pods of `owner` name, as a cluster would run them: a
 * Deployment's through a ReplicaSet it controls (imagined too), every other kind directly, each
 * with the uid levee holds, so that the caches confirm them as they would a real cluster's pods.
 */
function imaginedController(cluster: ClusterState, namespace: string, owner: { kind: string; name: string }, backend: PlannedBackend): { kind: string; name: string; uid: string } {
  const uid = cluster.ownerUid(owner.kind, namespace, owner.name) ?? inventedUid(owner.kind, namespace, owner.name);
  if (owner.kind !== 'Deployment') return { kind: owner.kind, name: owner.name, uid };
  const name = `${owner.name}-planned`;
  const replicaSet = inventedUid('ReplicaSet', namespace, name);
  cluster.replicaSets.upsert(objectKey(namespace, name), { namespace, name, owner: { kind: 'Deployment', name: owner.name, uid } });
  const ref = { kind: 'ReplicaSet' as const, namespace, name };
  cluster.workloads.upsert(workloadKey(ref), { ref, uid: replicaSet, replicas: backend.pods, podLabels: backend.podLabels, annotations: {} });
  return { kind: 'ReplicaSet', name, uid: replicaSet };
}

function imagineEndpoints(cluster: ClusterState, backend: PlannedBackend): void {
  if (backend.pods <= 0) return;
  const { namespace, name } = backend;
  const owner = backend.owner && imaginedController(cluster, namespace, backend.owner, backend);
  const pods = owner ? Array.from({ length: Math.min(backend.pods, IMAGINED_ENDPOINTS) }, (_, i) => `${name}-planned-${i}`) : [name];
  if (owner) for (const pod of pods) cluster.pods.upsert(objectKey(namespace, pod), { namespace, name: pod, owner });
  const source = backend.owner ? `${backend.owner.kind.toLowerCase()}-${name}` : `pod-${name}`;
  for (const service of cluster.servicesSelecting(namespace, backend.podLabels)) {
    const slice = `${service.name}-planned-${source}`;
    cluster.endpointSlices.upsert(objectKey(namespace, slice), {
      namespace,
      name: slice,
      serviceName: service.name,
      endpoints: pods.map((podName) => ({ ready: true, podName })),
    });
  }
}
