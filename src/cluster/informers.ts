import { AppsV1Api, AutoscalingV2Api, BatchV1Api, CoreV1Api, DiscoveryV1Api, type KubeConfig, type KubernetesObject, type ListPromise } from '@kubernetes/client-node';
import { ListWatch, type WatchTiming } from '../kube/list-watch.js';
import type { KubeObject } from '../kube/types.js';
import { workloadKey, type WorkloadView } from '../kube/workload.js';
import type { Logger } from '../logger.js';
import { pollApiServerVersion } from './apiserver-version.js';
import { toControllerRevisionView } from './controller-revisions.js';
import { customKindsOf, discoverControlPlanes } from './custom-kind-sinks.js';
import { watchCustomKinds } from './custom-kinds.js';
import { watchFeedbackFor, type WatchMetrics } from './watch-feedback.js';
import type { IndexedStore } from './store.js';
import { ownerKey, type ClusterState } from './state.js';
import { objectKey, toEndpointSliceView, toPodView, toReplicaSetView, toServiceView, toWorkloadView } from './views.js';

/** Where a watched object goes: one or more stores, each with its own key and trimmed view. */
export interface Sink {
  store: IndexedStore<unknown>;
  project(object: KubeObject): [string, unknown] | undefined;
}

/** A page of a list: `limit` objects from where `_continue` says (the API server's chunked lists). */
export interface ListPage {
  limit: number;
  _continue?: string;
}

/**
 * One built-in kind levee keeps: its collection (watched by serve), its kind, how to list it
 * once (whole, or a page: `levee audit --cluster`), and its stores.
 */
export interface Feed {
  path: string;
  apiVersion: string;
  kind: string;
  list: (page?: ListPage) => ReturnType<ListPromise<KubernetesObject>>;
  sinks: Sink[];
}

/** The built-in kinds levee keeps in `cluster`, for the informers of `serve` and the one-time snapshot of `levee audit --cluster`. */
export function builtinFeeds(kubeconfig: KubeConfig, cluster: ClusterState): Feed[] {
  const core = kubeconfig.makeApiClient(CoreV1Api);
  const apps = kubeconfig.makeApiClient(AppsV1Api);
  const discovery = kubeconfig.makeApiClient(DiscoveryV1Api);
  const batch = kubeconfig.makeApiClient(BatchV1Api);
  const autoscaling = kubeconfig.makeApiClient(AutoscalingV2Api);
  const keyOf = (object: KubeObject): string => objectKey(object.metadata?.namespace, object.metadata?.name ?? '');
  // Items of a list carry no kind; the views need it.
  const withKind = (kind: string) => (object: KubeObject) => ({ ...object, kind });
  const sink = <V>(store: IndexedStore<V>, project: (object: KubeObject) => [string, V] | undefined): Sink =>
    ({ store, project }) as Sink;
  const byName = <V>(store: IndexedStore<V>, view: (object: KubeObject) => V): Sink => sink(store, (o) => [keyOf(o), view(o)]);
  const workload = (kind: string): Sink =>
    sink(cluster.workloads, (object): [string, WorkloadView] | undefined => {
      const view = toWorkloadView(withKind(kind)(object));
      return view ? [workloadKey(view.ref), view] : undefined;
    });
  // The uid of an object that owns pods or Jobs but is no workload levee scales.
  const owner = (kind: string): Sink =>
    sink(cluster.owners, (object): [string, string] | undefined => {
      const uid = object.metadata?.uid;
      return uid ? [ownerKey(kind, object.metadata?.namespace ?? '', object.metadata?.name ?? ''), uid] : undefined;
    });
  const feed = (apiVersion: string, kind: string, plural: string, list: Feed['list'], ...sinks: Sink[]): Feed => ({
    path: `${apiVersion.includes('/') ? '/apis' : '/api'}/${apiVersion}/${plural}`,
    apiVersion,
    kind,
    list,
    sinks,
  });
  return [
    feed('v1', 'Service', 'services', (page) => core.listServiceForAllNamespaces(page), byName(cluster.services, toServiceView)),
    feed('discovery.k8s.io/v1', 'EndpointSlice', 'endpointslices', (page) => discovery.listEndpointSliceForAllNamespaces(page), byName(cluster.endpointSlices, toEndpointSliceView)),
    feed('v1', 'Pod', 'pods', (page) => core.listPodForAllNamespaces(page), byName(cluster.pods, toPodView)),
    feed('apps/v1', 'ReplicaSet', 'replicasets', (page) => apps.listReplicaSetForAllNamespaces(page), byName(cluster.replicaSets, toReplicaSetView), workload('ReplicaSet')),
    feed('apps/v1', 'Deployment', 'deployments', (page) => apps.listDeploymentForAllNamespaces(page), workload('Deployment')),
    feed('apps/v1', 'StatefulSet', 'statefulsets', (page) => apps.listStatefulSetForAllNamespaces(page), workload('StatefulSet')),
    feed('v1', 'ReplicationController', 'replicationcontrollers', (page) => core.listReplicationControllerForAllNamespaces(page), workload('ReplicationController')),
    feed('apps/v1', 'DaemonSet', 'daemonsets', (page) => apps.listDaemonSetForAllNamespaces(page), owner('DaemonSet')),
    feed('batch/v1', 'Job', 'jobs', (page) => batch.listJobForAllNamespaces(page), owner('Job')),
    feed('batch/v1', 'CronJob', 'cronjobs', (page) => batch.listCronJobForAllNamespaces(page), owner('CronJob')),
    feed('apps/v1', 'ControllerRevision', 'controllerrevisions', (page) => apps.listControllerRevisionForAllNamespaces(page), byName(cluster.controllerRevisions, toControllerRevisionView)),
    feed('autoscaling/v2', 'HorizontalPodAutoscaler', 'horizontalpodautoscalers', (page) => autoscaling.listHorizontalPodAutoscalerForAllNamespaces(page),
      sink(cluster.hpas, (o) => cluster.hpas.project(withKind('HorizontalPodAutoscaler')(o), 'autoscaling'))),
    feed('v1', 'Node', 'nodes', (page) => core.listNode(page), sink(cluster.nodes, (o) => cluster.nodes.project(o))),
  ];
}

/** Puts `object` (as the API server sent it) into each of the feed's stores. */
export function upsertInto(feed: Feed, object: KubernetesObject): void {
  for (const { store, project } of feed.sinks) {
    const projected = project(object as KubeObject);
    if (projected) store.upsert(projected[0], projected[1]);
  }
}

/** Takes `object` (an object the API server deleted, or a tombstone) out of each of the feed's stores. */
function removeFrom(feed: Feed, object: KubeObject): void {
  for (const { store, project } of feed.sinks) {
    const projected = project(object);
    if (projected) store.remove(projected[0]);
  }
}

export interface InformerOptions {
  timing?: Partial<WatchTiming>;
  metrics?: WatchMetrics;
  /** Deadline of each other call (the API server's version). */
  requestTimeoutMs?: number;
}

/**
 * Keeps ClusterState current from watches (src/kube/list-watch.ts: lists, watches with a
 * silence watchdog, relists). Each store is marked synced after its first list; a broken or
 * silent watch is reported to the store's freshness while the store keeps answering from
 * what it has, and the feed lists again until the API server answers.
 */
export function startInformers(kubeconfig: KubeConfig, cluster: ClusterState, logger: Logger, options: InformerOptions = {}): { stop(): void } {
  const feeds = builtinFeeds(kubeconfig, cluster);

  // A store fed by several watches (workloads) is synced when all of them have listed.
  const pendingPerStore = new Map<IndexedStore<unknown>, number>();
  for (const feed of feeds) for (const { store } of feed.sinks) pendingPerStore.set(store, (pendingPerStore.get(store) ?? 0) + 1);

  const watches = feeds.map((feed) => {
    const feedback = watchFeedbackFor({
      cache: feed.sinks.map(({ store }) => store.name).join(', '),
      feed: feed.path,
      freshness: cluster.freshness,
      stores: feed.sinks.map(({ store }) => store.name),
      logger,
      ...(options.metrics ? { metrics: options.metrics } : {}),
    });
    return new ListWatch({
      kubeconfig,
      path: feed.path,
      apiVersion: feed.apiVersion,
      kind: feed.kind,
      ...(options.timing ? { timing: options.timing } : {}),
      handlers: {
        upsert: (object) => upsertInto(feed, object as KubernetesObject),
        remove: (object) => removeFrom(feed, object),
        current: feedback.current,
        broken: feedback.broken,
        synced() {
          for (const { store } of feed.sinks) {
            const left = (pendingPerStore.get(store) ?? 1) - 1;
            pendingPerStore.set(store, left);
            if (left !== 0) continue;
            store.markSynced();
            logger.info({ cache: store.name, objects: store.size }, 'cache synced');
          }
        },
      },
    });
  });
  for (const watch of watches) watch.start();
  const customKinds = watchCustomKinds(kubeconfig, cluster.crds, customKindsOf(cluster), logger, {
    discover: discoverControlPlanes(cluster),
    ...(options.timing ? { timing: options.timing } : {}),
    ...(options.metrics ? { metrics: options.metrics } : {}),
    freshness: cluster.freshness,
  });
  const apiServerVersion = pollApiServerVersion(kubeconfig, cluster.apiServer, logger, options.requestTimeoutMs);
  return {
    stop() {
      for (const watch of watches) watch.stop();
      customKinds.stop();
      apiServerVersion.stop();
    },
  };
}
