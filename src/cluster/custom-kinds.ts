import type { KubeConfig } from '@kubernetes/client-node';
import { ListWatch, type WatchTiming } from '../kube/list-watch.js';
import type { KubeObject } from '../kube/types.js';
import type { Logger } from '../logger.js';
import { CacheFreshness } from './freshness.js';
import type { IndexedStore } from './store.js';
import { watchFeedbackFor, type WatchMetrics } from './watch-feedback.js';

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

/** A kind found from its CRD rather than listed (a control plane of any provider), or undefined. */
export type DiscoverKind = (crd: CrdView) => CustomKind | undefined;

const kindKey = (kind: Pick<CustomKind, 'group' | 'kind'>): string => `${kind.kind}.${kind.group}`;

export interface CustomKindWatchOptions {
  /** Kinds found from their CRDs besides `kinds`. */
  discover?: DiscoverKind;
  timing?: Partial<WatchTiming>;
  metrics?: WatchMetrics;
  /** Where a broken or silent watch of a kind (or of the CRDs) is reported, as for the core caches. */
  freshness?: CacheFreshness;
}

export function watchCustomKinds(
  kubeconfig: KubeConfig,
  crds: IndexedStore<CrdView>,
  kinds: readonly CustomKind[],
  logger: Logger,
  options: CustomKindWatchOptions = {},
): { stop(): void } {
  const running = new Map<string, ListWatch>();
  // Kinds whose CRD was there at start: their store is ready once each has listed.
  const initialPending = new Map<IndexedStore<unknown>, Set<string>>();
  let crdsListed = false;
  const freshness = options.freshness ?? new CacheFreshness();
  const feedback = (path: string, stores: readonly string[]): ReturnType<typeof watchFeedbackFor> =>
    watchFeedbackFor({ cache: stores.join(', '), feed: path, stores, freshness, logger, ...(options.metrics ? { metrics: options.metrics } : {}) });

  const markReady = (store: IndexedStore<unknown>): void => {
    if (!crdsListed || store.synced || (initialPending.get(store)?.size ?? 0) > 0) return;
    store.markSynced();
    logger.info({ cache: store.name, objects: store.size }, 'cache synced');
  };

  const stopKind = (kind: CustomKind): void => {
    const watch = running.get(kindKey(kind));
    if (!watch) return;
    running.delete(kindKey(kind));
    watch.stop();
    // A feed that no longer exists is not broken either.
    for (const sink of kind.sinks) freshness.current(sink.store.name, watch.path);
    for (const sink of kind.sinks) {
      sink.forget();
      initialPending.get(sink.store)?.delete(kindKey(kind));
      markReady(sink.store);
    }
    logger.info({ kind: `${kind.kind}.${kind.group}` }, 'stopped watching; its CRD is gone');
  };

  const startKind = (kind: CustomKind, version: string, plural: string): void => {
    const path = `/apis/${kind.group}/${version}/${plural}`;
    if (running.get(kindKey(kind))?.path === path) return;
    stopKind(kind);
    if (!crdsListed) {
      for (const { store } of kind.sinks) {
        let pending = initialPending.get(store);
        if (!pending) initialPending.set(store, (pending = new Set()));
        pending.add(kindKey(kind));
      }
    }
    const { current, broken } = feedback(path, kind.sinks.map(({ store }) => store.name));
    const watch = new ListWatch({
      kubeconfig,
      path,
      apiVersion: `${kind.group}/${version}`,
      kind: kind.kind,
      ...(options.timing ? { timing: options.timing } : {}),
      handlers: {
        upsert: (object) => {
          for (const sink of kind.sinks) sink.apply(object);
        },
        remove: (object) => {
          for (const sink of kind.sinks) sink.delete(object);
        },
        current,
        broken,
        synced: () => {
          if (running.get(kindKey(kind)) !== watch) return;
          for (const { store } of kind.sinks) {
            initialPending.get(store)?.delete(kindKey(kind));
            markReady(store);
          }
        },
      },
    });
    running.set(kindKey(kind), watch);
    logger.info({ kind: `${kind.kind}.${kind.group}`, path }, 'CRD present; watching');
    watch.start();
  };

  // Discovered kinds are found again from each version of their CRD (its served versions may change).
  const discovered = new Map<string, CustomKind>();
  const kindsOf = (crd: CrdView): CustomKind[] => {
    const listed = kinds.filter((kind) => kind.group === crd.group && kind.kind === crd.kind);
    if (listed.length > 0) return listed;
    const found = options.discover?.(crd);
    if (found) discovered.set(kindKey(found), found);
    const known = discovered.get(kindKey(crd));
    return found ? [found] : known ? [known] : [];
  };

  const reconcile = (crd: CrdView): void => {
    for (const kind of kindsOf(crd)) {
      const version = versionToWatch(crd, kind);
      if (version) startKind(kind, version, crd.plural);
      else stopKind(kind);
    }
  };

  const forgetCrd = (crd: CrdView): void => {
    for (const kind of kindsOf(crd)) stopKind(kind);
    discovered.delete(kindKey(crd));
  };

  const crdPath = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';
  const crdFeedback = feedback(crdPath, [crds.name]);
  const crdWatch = new ListWatch({
    kubeconfig,
    path: crdPath,
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    ...(options.timing ? { timing: options.timing } : {}),
    handlers: {
      upsert: (object) => {
        const view = toCrdView(object);
        crds.upsert(view.name, view);
        reconcile(view);
      },
      remove: (object) => {
        const view = crds.get(object.metadata?.name ?? '') ?? toCrdView(object);
        crds.remove(view.name);
        forgetCrd(view);
      },
      current: crdFeedback.current,
      broken: crdFeedback.broken,
      synced: () => {
        crdsListed = true;
        crds.markSynced();
        logger.info({ cache: crds.name, objects: crds.size }, 'cache synced');
        for (const kind of kinds) for (const { store } of kind.sinks) markReady(store);
      },
    },
  });
  crdWatch.start();

  return {
    stop() {
      crdWatch.stop();
      for (const watch of running.values()) watch.stop();
      running.clear();
    },
  };
}
