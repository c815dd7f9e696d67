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
interface Sink {
  store: IndexedStore<unknown>;
  project(object: KubeObject): [string, unknown] | undefined;
}

interface Feed {
  path: string;
  list: ListPromise<KubernetesObject>;
  sinks: Sink[];
}

const RETRY_MS = 2000;

/**
 * Keeps ClusterState current from watches. Each store is marked synced after its first list;
 * a broken watch restarts after a pause while the store keeps answering from what it has.
 */
export function startInformers(kubeconfig: KubeConfig, cluster: ClusterState, logger: Logger): { stop(): void } {
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
  const feeds: Feed[] = [
    { path: '/api/v1/services', list: () => core.listServiceForAllNamespaces(), sinks: [sink(cluster.services, (o) => [keyOf(o), toServiceView(o)])] },
    {
      path: '/apis/discovery.k8s.io/v1/endpointslices',
      list: () => discovery.listEndpointSliceForAllNamespaces(),
      sinks: [sink(cluster.endpointSlices, (o) => [keyOf(o), toEndpointSliceView(o)])],
    },
    { path: '/api/v1/pods', list: () => core.listPodForAllNamespaces(), sinks: [sink(cluster.pods, (o) => [keyOf(o), toPodView(o)])] },
    {
      path: '/apis/apps/v1/replicasets',
      list: () => apps.listReplicaSetForAllNamespaces(),
      sinks: [sink(cluster.replicaSets, (o) => [keyOf(o), toReplicaSetView(o)]), sink(cluster.workloads, workload('ReplicaSet'))],
    },
    { path: '/apis/apps/v1/deployments', list: () => apps.listDeploymentForAllNamespaces(), sinks: [sink(cluster.workloads, workload('Deployment'))] },
    { path: '/apis/apps/v1/statefulsets', list: () => apps.listStatefulSetForAllNamespaces(), sinks: [sink(cluster.workloads, workload('StatefulSet'))] },
    { path: '/api/v1/nodes', list: () => core.listNode(), sinks: [sink(cluster.nodes, (o) => cluster.nodes.project(o))] },
  ];

  // A store fed by several watches (workloads) is synced when all of them have listed.
  const pendingPerStore = new Map<IndexedStore<unknown>, number>();
  for (const feed of feeds) for (const { store } of feed.sinks) pendingPerStore.set(store, (pendingPerStore.get(store) ?? 0) + 1);

  let stopped = false;
  const informers: Array<Informer<KubernetesObject>> = [];
  for (const feed of feeds) {
    const informer = makeInformer(kubeconfig, feed.path, feed.list);
    // A failed list or watch still resolves start() (the informer reports it as an error),
    // so each attempt notes whether an error came; a clean attempt means the watch is up.
    let failedThisAttempt = false;
    let listedOnce = false;
    const current = (): void => {
      for (const { store } of feed.sinks) cluster.freshness.current(store.name, feed.path);
    };
    const upsert = (object: KubernetesObject): void => {
      current();
      for (const { store, project } of feed.sinks) {
        const projected = project(object as KubeObject);
        if (projected) store.upsert(projected[0], projected[1]);
      }
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
