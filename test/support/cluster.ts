import { isScalableKind, workloadKey } from '../../src/kube/workload.js';
import { ClusterState, ownerKey } from '../../src/cluster/state.js';
import { toEndpointSliceView, toPodView, toReplicaSetView, toServiceView, toWorkloadView } from '../../src/cluster/views.js';
import type { KubeObject } from '../../src/kube/types.js';
import { deploymentObject } from './reviews.js';

/**
 * A ClusterState filled the way informers would fill it: a Deployment `name` with `ready`
 * pods through a ReplicaSet, and a Service selecting them with a slice of ready endpoints.
 */
export function clusterWithBackedService(options: { name?: string; namespace?: string; ready?: number; synced?: boolean } = {}): ClusterState {
  const cluster = new ClusterState();
  const name = options.name ?? 'web';
  const namespace = options.namespace ?? 'default';
  addDeploymentWithPods(cluster, name, namespace, options.ready ?? 3);
  addService(cluster, name, namespace, { app: name }, podNames(name, options.ready ?? 3));
  if (options.synced !== false) for (const store of cluster.allStores()) store.markSynced();
  return cluster;
}

export function podNames(workload: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${workload}-rs-${i}`);
}

export function addDeploymentWithPods(cluster: ClusterState, name: string, namespace: string, pods: number, labels: Record<string, string> = { app: name }): void {
  const view = toWorkloadView(deploymentObject(name, namespace, pods, labels))!;
  cluster.workloads.upsert(workloadKey(view.ref), view);
  const rs = `${name}-rs`;
  // Cached as the ReplicaSet informer does: its view, and its workload view with the uid its pods name.
  addReplicaSet(cluster, {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name: rs, namespace, uid: `uid-${rs}`, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name, uid: `uid-${name}`, controller: true }] },
    spec: { replicas: pods },
  });
  for (const pod of podNames(name, pods)) {
    cluster.pods.upsert(`${namespace}/${pod}`, toPodView({
      kind: 'Pod',
      metadata: { name: pod, namespace, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: rs, uid: `uid-${rs}`, controller: true }] },
    }));
  }
}

/** Caches a workload object as the workload informer would. */
export function addWorkload(cluster: ClusterState, object: KubeObject): void {
  const view = toWorkloadView(object);
  if (!view) throw new Error(`test fixture is not a workload: ${object.kind}`);
  cluster.workloads.upsert(workloadKey(view.ref), view);
}

/** Caches a ReplicaSet object as both the workload and the ReplicaSet informers would. */
export function addReplicaSet(cluster: ClusterState, rs: KubeObject): void {
  addWorkload(cluster, rs);
  cluster.replicaSets.upsert(`${rs.metadata!.namespace}/${rs.metadata!.name}`, toReplicaSetView(rs));
}

export function addService(cluster: ClusterState, name: string, namespace: string, selector: Record<string, string>, readyPods: string[]): void {
  cluster.services.upsert(`${namespace}/${name}`, toServiceView({ kind: 'Service', metadata: { name, namespace }, spec: { selector } }));
  cluster.endpointSlices.upsert(`${namespace}/${name}-abcde`, toEndpointSliceView({
    kind: 'EndpointSlice',
    metadata: { name: `${name}-abcde`, namespace, labels: { 'kubernetes.io/service-name': name } },
    endpoints: readyPods.map((pod) => ({ addresses: ['10.0.0.1'], conditions: { ready: true }, targetRef: { kind: 'Pod', name: pod, namespace } })),
  }));
}

export interface EndpointSpec {
  pod?: string;
  /** `null` and `undefined` both mean ready, as discovery.k8s.io/v1 says. */
  ready?: boolean | null;
}

/** An EndpointSlice for Service `service`, as the EndpointSlice controller would write it. */
export function addEndpointSlice(cluster: ClusterState, service: string, namespace: string, slice: string, endpoints: EndpointSpec[]): void {
  cluster.endpointSlices.upsert(`${namespace}/${slice}`, toEndpointSliceView({
    kind: 'EndpointSlice',
    metadata: { name: slice, namespace, labels: { 'kubernetes.io/service-name': service } },
    endpoints: endpoints.map((endpoint, i) => ({
      addresses: [`10.1.0.${i + 1}`],
      ...(endpoint.ready === undefined ? {} : { conditions: { ready: endpoint.ready } }),
      ...(endpoint.pod ? { targetRef: { kind: 'Pod', name: endpoint.pod, namespace } } : {}),
    })),
  }));
}

/**
 * Caches the controller `addPod` names, with the uid its pods name (`uid-<name>`), as the
 * informers would: a workload levee scales by its view, a DaemonSet, Job or CronJob by its uid.
 * A pod's controller counts only once it is cached so.
 */
export function cacheOwner(cluster: ClusterState, kind: string, namespace: string, name: string, replicas = 1): void {
  if (!isScalableKind(kind)) {
    cluster.owners.upsert(ownerKey(kind, namespace, name), `uid-${name}`);
    return;
  }
  const apiVersion = kind === 'ReplicationController' ? 'v1' : 'apps/v1';
  addWorkload(cluster, { apiVersion, kind, metadata: { name, namespace, uid: `uid-${name}` }, spec: { replicas } });
}

/** A pod, optionally controlled by `owner` (e.g. a StatefulSet, a Job), or bare. */
export function addPod(cluster: ClusterState, name: string, namespace: string, owner?: { kind: string; name: string }): void {
  cluster.pods.upsert(`${namespace}/${name}`, toPodView({
    kind: 'Pod',
    metadata: {
      name,
      namespace,
      ...(owner ? { ownerReferences: [{ apiVersion: 'apps/v1', kind: owner.kind, name: owner.name, uid: `uid-${owner.name}`, controller: true }] } : {}),
    },
  }));
}

/** A Service with a selector and no EndpointSlice yet. */
export function addServiceOnly(cluster: ClusterState, name: string, namespace: string, selector: Record<string, string> | null): void {
  cluster.services.upsert(`${namespace}/${name}`, toServiceView({ kind: 'Service', metadata: { name, namespace }, spec: { selector } }));
}
