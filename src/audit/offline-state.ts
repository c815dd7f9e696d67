import type { KubeObject } from '../kube/types.js';
import { workloadKey, type WorkloadView } from '../kube/workload.js';
import type { ClusterOptions } from '../cluster/options.js';
import { CLUSTER_API_GROUP, isWorkerPoolKind } from '../cluster/worker-pools.js';
import { isAutoscaler } from '../cluster/autoscalers.js';
import { ClusterState } from '../cluster/state.js';
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
        // A bare pod is its own backend; one naming a controller is that controller's.
        if (!controllerOf(object)) this.plan(object, undefined, 1);
        break;
      }
      case 'DaemonSet':
        // At least one pod, on whichever nodes it lands (OpenKruise's Advanced DaemonSet too).
        this.plan(object, { kind: 'DaemonSet', name: object.metadata?.name ?? '' }, 1);
        break;
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
      cluster.workloads.upsert(workloadKey(workload.ref), workload);
      this.backends.push(backendOf(workload));
    }
  }

  private plan(object: KubeObject, owner: PlannedBackend['owner'], pods: number): void {
    const podLabels = podTemplateOf(object)?.labels ?? {};
    this.backends.push({ namespace: object.metadata?.namespace ?? this.defaultNamespace, owner, name: object.metadata?.name ?? '', podLabels, pods });
  }

  /** The finished state, every store synced; call once, after the last add(). */
  finish(): ClusterState {
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

function imagineEndpoints(cluster: ClusterState, backend: PlannedBackend): void {
  if (backend.pods <= 0) return;
  const { namespace, name, owner } = backend;
  const pods = owner ? Array.from({ length: Math.min(backend.pods, IMAGINED_ENDPOINTS) }, (_, i) => `${name}-planned-${i}`) : [name];
  if (owner) for (const pod of pods) cluster.pods.upsert(objectKey(namespace, pod), { namespace, name: pod, owner });
  const source = owner ? `${owner.kind.toLowerCase()}-${name}` : `pod-${name}`;
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
