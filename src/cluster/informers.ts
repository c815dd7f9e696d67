import {
  AppsV1Api,
  CoreV1Api,
  DiscoveryV1Api,
  makeInformer,
  type Informer,
  type KubeConfig,
  type KubernetesObject,
  type ListPromise,
} from '@kubernetes/client-node';
import type { KubeObject } from '../kube/types.js';
import { workloadKey, type WorkloadView } from '../kube/workload.js';
import type { Logger } from '../logger.js';
import { pollApiServerVersion } from './apiserver-version.js';
import { customKindsOf } from './custom-kind-sinks.js';
import { watchCustomKinds } from './custom-kinds.js';
import type { IndexedStore } from './store.js';
import type { ClusterState } from './state.js';
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

/** One built-in kind levee keeps: its watch path, how to list it (whole, or a page), and its stores. */
export interface Feed {
  path: string;
  list: (page?: ListPage) => ReturnType<ListPromise<KubernetesObject>>;
  sinks: Sink[];
}

const RETRY_MS = 2000;

/** The built-in kinds levee keeps in `cluster`, for the informers of `serve` and the one-time snapshot of `levee audit --cluster`. */
export function builtinFeeds(kubeconfig: KubeConfig, cluster: ClusterState): Feed[] {
  const core = kubeconfig.makeApiClient(CoreV1Api);
  const apps = kubeconfig.makeApiClient(AppsV1Api);
  const discovery = kubeconfig.makeApiClient(DiscoveryV1Api);
  const keyOf = (object: KubeObject): string => objectKey(object.metadata?.namespace, object.metadata?.name ?? '');
  const withKind = (kind: string) => (object: KubeObject) => ({ ...object, kind });
  const workload = (kind: string) => (object: KubeObject): [string, WorkloadView] | undefined => {
    const view = toWorkloadView(withKind(kind)(object));
    return view ? [workloadKey(view.ref), view] : undefined;
  };

  const sink = <V>(store: IndexedStore<V>, project: (object: KubeObject) => [string, V] | undefined): Sink =>
    ({ store, project }) as Sink;
  return [
    { path: '/api/v1/services', list: (page) => core.listServiceForAllNamespaces(page), sinks: [sink(cluster.services, (o) => [keyOf(o), toServiceView(o)])] },
    {
      path: '/apis/discovery.k8s.io/v1/endpointslices',
      list: (page) => discovery.listEndpointSliceForAllNamespaces(page),
      sinks: [sink(cluster.endpointSlices, (o) => [keyOf(o), toEndpointSliceView(o)])],
    },
    { path: '/api/v1/pods', list: (page) => core.listPodForAllNamespaces(page), sinks: [sink(cluster.pods, (o) => [keyOf(o), toPodView(o)])] },
    {
      path: '/apis/apps/v1/replicasets',
      list: (page) => apps.listReplicaSetForAllNamespaces(page),
      sinks: [sink(cluster.replicaSets, (o) => [keyOf(o), toReplicaSetView(o)]), sink(cluster.workloads, workload('ReplicaSet'))],
    },
    { path: '/apis/apps/v1/deployments', list: (page) => apps.listDeploymentForAllNamespaces(page), sinks: [sink(cluster.workloads, workload('Deployment'))] },
    { path: '/apis/apps/v1/statefulsets', list: (page) => apps.listStatefulSetForAllNamespaces(page), sinks: [sink(cluster.workloads, workload('StatefulSet'))] },
    { path: '/api/v1/nodes', list: (page) => core.listNode(page), sinks: [sink(cluster.nodes, (o) => cluster.nodes.project(o))] },
  ];
}

/** Puts `object` (as the API server sent it) into each of the feed's stores. */
export function upsertInto(feed: Feed, object: KubernetesObject): void {
  for (const { store, project } of feed.sinks) {
    const projected = project(object as KubeObject);
    if (projected) store.upsert(projected[0], projected[1]);
  }
}

/**
 * Keeps ClusterState current from watches. Each store is marked synced after its first list;
 * a broken watch restarts after a pause while the store keeps answering from what it has.
 */
export function startInformers(kubeconfig: KubeConfig, cluster: ClusterState, logger: Logger): { stop(): void } {
  const feeds = builtinFeeds(kubeconfig, cluster);

  // A store fed by several watches (workloads) is synced when all of them have listed.
  const pendingPerStore = new Map<IndexedStore<unknown>, number>();
  for (const feed of feeds) for (const { store } of feed.sinks) pendingPerStore.set(store, (pendingPerStore.get(store) ?? 0) + 1);

  let stopped = false;
  const informers: Array<Informer<KubernetesObject>> = [];
  for (const feed of feeds) {
    const informer = makeInformer(kubeconfig, feed.path, () => feed.list());
    // A failed list or watch still resolves start() (the informer reports it as an error),
    // so each attempt notes whether an error came; a clean attempt means the watch is up.
    let failedThisAttempt = false;
    let listedOnce = false;
    const current = (): void => {
      for (const { store } of feed.sinks) cluster.freshness.current(store.name, feed.path);
    };
    const upsert = (object: KubernetesObject): void => {
      current();
      upsertInto(feed, object);
    };
    informer.on('add', upsert);
    informer.on('update', upsert);
    informer.on('delete', (object) => {
      current();
      for (const { store, project } of feed.sinks) {
        const projected = project(object as KubeObject);
        if (projected) store.remove(projected[0]);
      }
    });
    informer.on('error', (err: unknown) => {
      if (stopped) return;
      failedThisAttempt = true;
      for (const { store } of feed.sinks) cluster.freshness.broken(store.name, feed.path);
      logger.warn({ cache: feed.path, err: String((err as Error)?.message ?? err) }, 'watch failed; serving from cache and retrying');
      setTimeout(() => {
        if (!stopped) begin();
      }, RETRY_MS).unref();
    });
    informers.push(informer);
    const begin = (): void => {
      failedThisAttempt = false;
      informer
        .start()
        .then(() => {
          if (stopped || failedThisAttempt) return;
          current();
          if (listedOnce) return;
          listedOnce = true;
          for (const { store } of feed.sinks) {
            const left = (pendingPerStore.get(store) ?? 1) - 1;
            pendingPerStore.set(store, left);
            if (left !== 0) continue;
            store.markSynced();
            logger.info({ cache: store.name, objects: store.size }, 'cache synced');
          }
        })
        .catch((err: unknown) => {
          if (stopped) return;
          logger.warn({ cache: feed.path, err: String((err as Error)?.message ?? err) }, 'initial list failed; retrying');
          setTimeout(begin, RETRY_MS).unref();
        });
    };
    begin();
  }
  const customKinds = watchCustomKinds(kubeconfig, cluster.crds, customKindsOf(cluster), logger);
  const apiServerVersion = pollApiServerVersion(kubeconfig, cluster.apiServer, logger);
  return {
    stop() {
      stopped = true;
      for (const informer of informers) void informer.stop();
      customKinds.stop();
      apiServerVersion.stop();
    },
  };
}
