import {
  ApiextensionsV1Api,
  CustomObjectsApi,
  makeInformer,
  type Informer,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
} from '@kubernetes/client-node';
import type { KubeObject } from '../kube/types.js';
import type { Logger } from '../logger.js';
import type { IndexedStore } from './store.js';

/**
 * Kinds that exist only once their CustomResourceDefinition is installed, often after levee
 * started (Cluster API, Karpenter). levee watches the CRDs and starts a kind's informer as
 * soon as its CRD is established, stops it (and forgets its objects) when the CRD goes, and
 * never holds readiness for a kind whose CRD is absent.
 */

/** Where a custom kind's objects go: one store (several kinds may share one), whose sync flag is readiness. */
export interface CustomKindSink {
  store: IndexedStore<unknown>;
  apply(object: KubeObject): void;
  delete(object: KubeObject): void;
  /** Drops every object of this kind from the store, as when its CRD is deleted. */
  forget(): void;
}

export interface CustomKind {
  group: string;
  kind: string;
  /** API versions levee understands, in order of preference. */
  versions: readonly string[];
  /** One watch feeds them all (a MachineDeployment is both an upgrade intent and a worker pool). */
  sinks: readonly CustomKindSink[];
}

export interface CrdView {
  name: string;
  group: string;
  kind: string;
  plural: string;
  servedVersions: string[];
  storageVersion?: string;
  established: boolean;
}

interface CrdShape {
  metadata?: { name?: string };
  spec?: { group?: string; names?: { kind?: string; plural?: string }; versions?: Array<{ name: string; served?: boolean; storage?: boolean }> };
  status?: { conditions?: Array<{ type: string; status: string }> };
}

export function toCrdView(object: KubeObject): CrdView {
  const crd = object as unknown as CrdShape;
  const versions = crd.spec?.versions ?? [];
  const storage = versions.find((version) => version.storage)?.name;
  return {
    name: crd.metadata?.name ?? '',
    group: crd.spec?.group ?? '',
    kind: crd.spec?.names?.kind ?? '',
    plural: crd.spec?.names?.plural ?? '',
    servedVersions: versions.filter((version) => version.served !== false).map((version) => version.name),
    ...(storage ? { storageVersion: storage } : {}),
    established: (crd.status?.conditions ?? []).some((condition) => condition.type === 'Established' && condition.status === 'True'),
  };
}

/** The version to watch: the storage version when levee understands it, else the first understood served one. */
export function versionToWatch(crd: CrdView, kind: Pick<CustomKind, 'versions'>): string | undefined {
  if (!crd.established) return undefined;
  const understood = kind.versions.filter((version) => crd.servedVersions.includes(version));
  if (crd.storageVersion && understood.includes(crd.storageVersion)) return crd.storageVersion;
  return understood[0];
}

const RETRY_MS = 2000;

interface Running {
  path: string;
  informer: Informer<KubernetesObject>;
}

export function watchCustomKinds(
  kubeconfig: KubeConfig,
  crds: IndexedStore<CrdView>,
  kinds: readonly CustomKind[],
  logger: Logger,
): { stop(): void } {
  const apiextensions = kubeconfig.makeApiClient(ApiextensionsV1Api);
  const customObjects = kubeconfig.makeApiClient(CustomObjectsApi);
  const running = new Map<CustomKind, Running>();
  // Kinds whose CRD was there at start: their store is ready once each has listed.
  const initialPending = new Map<IndexedStore<unknown>, Set<CustomKind>>();
  let crdsListed = false;
  let stopped = false;

  const markReady = (store: IndexedStore<unknown>): void => {
    if (!crdsListed || store.synced || (initialPending.get(store)?.size ?? 0) > 0) return;
    store.markSynced();
    logger.info({ cache: store.name, objects: store.size }, 'cache synced');
  };

  const stopKind = (kind: CustomKind): void => {
    const entry = running.get(kind);
    if (!entry) return;
    running.delete(kind);
    void entry.informer.stop();
    for (const sink of kind.sinks) {
      sink.forget();
      initialPending.get(sink.store)?.delete(kind);
      markReady(sink.store);
    }
    logger.info({ kind: `${kind.kind}.${kind.group}` }, 'stopped watching; its CRD is gone');
  };

  const startKind = (kind: CustomKind, version: string, plural: string): void => {
    const path = `/apis/${kind.group}/${version}/${plural}`;
    if (running.get(kind)?.path === path) return;
    stopKind(kind);
    // A failed list still resolves start() (the informer reports it as an error), so success is tracked here.
    let listed = false;
    const list = async (): Promise<KubernetesListObject<KubernetesObject>> => {
      const result = (await customObjects.listClusterCustomObject({ group: kind.group, version, plural })) as KubernetesListObject<KubernetesObject>;
      listed = true;
      return result;
    };
    const informer = makeInformer(kubeconfig, path, list);
    const entry: Running = { path, informer };
    running.set(kind, entry);
    if (!crdsListed) {
      for (const { store } of kind.sinks) {
        let pending = initialPending.get(store);
        if (!pending) initialPending.set(store, (pending = new Set()));
        pending.add(kind);
      }
    }
    const apply = (object: KubernetesObject): void => {
      for (const sink of kind.sinks) sink.apply(object as KubeObject);
    };
    informer.on('add', apply);
    informer.on('update', apply);
    informer.on('delete', (object) => {
      for (const sink of kind.sinks) sink.delete(object as KubeObject);
    });
    const begin = (): void => {
      informer
        .start()
        .then(() => {
          if (!listed || running.get(kind) !== entry) return;
          for (const { store } of kind.sinks) {
            initialPending.get(store)?.delete(kind);
            markReady(store);
          }
        })
        .catch(() => retry());
    };
    const retry = (): void => {
      if (stopped || running.get(kind) !== entry) return;
      setTimeout(() => {
        if (!stopped && running.get(kind) === entry) begin();
      }, RETRY_MS).unref();
    };
    informer.on('error', (err: unknown) => {
      if (stopped || running.get(kind) !== entry) return;
      logger.warn({ cache: path, err: String((err as Error)?.message ?? err) }, 'watch failed; serving from cache and retrying');
      retry();
    });
    logger.info({ kind: `${kind.kind}.${kind.group}`, path }, 'CRD present; watching');
    begin();
  };

  const reconcile = (crd: CrdView): void => {
    for (const kind of kinds) {
      if (kind.group !== crd.group || kind.kind !== crd.kind) continue;
      const version = versionToWatch(crd, kind);
      if (version) startKind(kind, version, crd.plural);
      else stopKind(kind);
    }
  };

  const forgetCrd = (crd: CrdView): void => {
    for (const kind of kinds) if (kind.group === crd.group && kind.kind === crd.kind) stopKind(kind);
  };

  let crdListSucceeded = false;
  const informer = makeInformer(kubeconfig, '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', async () => {
    const result = await apiextensions.listCustomResourceDefinition();
    crdListSucceeded = true;
    return result;
  });
  const upsert = (object: KubernetesObject): void => {
    const view = toCrdView(object as unknown as KubeObject);
    crds.upsert(view.name, view);
    reconcile(view);
  };
  informer.on('add', upsert);
  informer.on('update', upsert);
  informer.on('delete', (object) => {
    const view = toCrdView(object as unknown as KubeObject);
    crds.remove(view.name);
    forgetCrd(view);
  });
  informer.on('error', (err: unknown) => {
    if (stopped) return;
    logger.warn({ cache: 'customresourcedefinitions', err: String((err as Error)?.message ?? err) }, 'watch failed; retrying');
    setTimeout(() => {
      if (!stopped) begin();
    }, RETRY_MS).unref();
  });
  const begin = (): void => {
    informer
      .start()
      .then(() => {
        if (crdsListed || !crdListSucceeded) return;
        crdsListed = true;
        crds.markSynced();
        logger.info({ cache: crds.name, objects: crds.size }, 'cache synced');
        for (const kind of kinds) for (const { store } of kind.sinks) markReady(store);
      })
      .catch(() => undefined);
  };
  begin();

  return {
    stop() {
      stopped = true;
      void informer.stop();
      for (const entry of running.values()) void entry.informer.stop();
      running.clear();
    },
  };
}
