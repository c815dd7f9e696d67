import type { KubeObject } from '../kube/types.js';
import { workloadKey, type WorkloadView } from '../kube/workload.js';
import type { ClusterOptions } from '../cluster/options.js';
import { CLUSTER_API_GROUP, isWorkerPoolKind } from '../cluster/worker-pools.js';
import { ClusterState } from '../cluster/state.js';
import { groupOf } from '../cluster/upgrade-intents.js';
import { objectKey, toEndpointSliceView, toPodView, toReplicaSetView, toServiceView, toWorkloadView } from '../cluster/views.js';

/** Endpoints levee imagines per workload; enough to count as "backed", small enough to stay cheap. */
const IMAGINED_ENDPOINTS = 3;

/**
 * The cluster as the manifests describe it once applied and running: the input objects are
 * context for each other. A workload with replicas > 0 is imagined Ready behind every
 * Service that selects it, so a set of manifests is judged as a whole. Objects are added one
 * at a time as they are read; only their views are kept.
 */
export class OfflineState {
  private readonly cluster: ClusterState;
  private readonly workloads: WorkloadView[] = [];

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
      case 'Pod':
        cluster.pods.upsert(key, toPodView(object));
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
      this.workloads.push(workload);
    }
  }

  /** The finished state, every store synced; call once, after the last add(). */
  finish(): ClusterState {
    for (const workload of this.workloads) imagineEndpoints(this.cluster, workload);
    for (const store of this.cluster.allStores()) store.markSynced();
    return this.cluster;
  }
}

export function stateFromManifests(objects: readonly KubeObject[], defaultNamespace: string, options?: ClusterOptions): ClusterState {
  const state = new OfflineState(defaultNamespace, options);
  for (const object of objects) state.add(object);
  return state.finish();
}

/** Cluster API and provider objects: upgrade intents, worker pools, Clusters, ClusterClasses and what machines are made from. */
function addCustomObject(cluster: ClusterState, object: KubeObject): void {
  const group = groupOf(object.apiVersion);
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

function imagineEndpoints(cluster: ClusterState, workload: WorkloadView): void {
  if (workload.replicas <= 0) return;
  const { namespace, name, kind } = workload.ref;
  const pods = Array.from({ length: Math.min(workload.replicas, IMAGINED_ENDPOINTS) }, (_, i) => `${name}-planned-${i}`);
  for (const pod of pods) {
    cluster.pods.upsert(objectKey(namespace, pod), { namespace, name: pod, owner: { kind, name } });
  }
  for (const service of cluster.servicesSelecting(namespace, workload.podLabels)) {
    const slice = `${service.name}-planned-${kind.toLowerCase()}-${name}`;
    cluster.endpointSlices.upsert(objectKey(namespace, slice), {
      namespace,
      name: slice,
      serviceName: service.name,
      endpoints: pods.map((podName) => ({ ready: true, podName })),
    });
  }
}
