import type { KubeConfig } from '@kubernetes/client-node';
import { ListWatch, type WatchTiming } from '../kube/list-watch.js';
import type { KubeObject } from '../kube/types.js';
import type { Logger } from '../logger.js';
import {
  toEndpointSliceView,
  toLeaseView,
  toNodeView,
  toPodView,
  toServiceView,
  type EndpointSliceView,
  type LeaseView,
  type NodeView,
  type PodView,
  type ServiceView,
} from './cache-views.js';

/**
 * What the probes read about the cluster, kept current by watches instead of listed every
 * run: a run reads memory, so what it costs the API server does not grow with the cluster.
 * Each feed goes through the shared list-watch loop (src/kube/list-watch.ts: paged lists,
 * bookmarks, the silence watchdog, relists with tombstones) and keeps only the trimmed views
 * of ./cache-views.ts. A feed starts when the loop starts a probe that reads it, or when a
 * probe first asks for it.
 */

/** The control-plane Leases the probes read; levee may read these two and no other (RBAC, by name). */
export const CONTROL_PLANE_LEASES = ['kube-controller-manager', 'kube-scheduler'] as const;
export type ControlPlaneLease = (typeof CONTROL_PLANE_LEASES)[number];

export type FeedName = 'nodes' | 'pods' | 'services' | 'endpointslices' | `lease/${ControlPlaneLease}`;

interface FeedSpec {
  path: string;
  apiVersion: string;
  kind: string;
  fieldSelector?: string;
}

const LEASES_PATH = '/apis/coordination.k8s.io/v1/namespaces/kube-system/leases';

const FEED_SPECS: Record<FeedName, FeedSpec> = {
  nodes: { path: '/api/v1/nodes', apiVersion: 'v1', kind: 'Node' },
  pods: { path: '/api/v1/pods', apiVersion: 'v1', kind: 'Pod' },
  services: { path: '/api/v1/services', apiVersion: 'v1', kind: 'Service' },
  endpointslices: { path: '/apis/discovery.k8s.io/v1/endpointslices', apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice' },
  // One watch per Lease, selecting it by name: a list or watch of Leases must name the one it reads.
  'lease/kube-controller-manager': { path: LEASES_PATH, apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', fieldSelector: 'metadata.name=kube-controller-manager' },
  'lease/kube-scheduler': { path: LEASES_PATH, apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', fieldSelector: 'metadata.name=kube-scheduler' },
};

export const FEEDS = Object.keys(FEED_SPECS) as FeedName[];

export type CachedView = NodeView | PodView | ServiceView | EndpointSliceView | LeaseView;

/** One change a watch brought: `previous` and `next` are undefined for an addition and a removal. */
export interface CacheChange {
  feed: FeedName;
  key: string;
  previous?: CachedView;
  next?: CachedView;
}

export interface FeedHealth {
  started: boolean;
  synced: boolean;
  /** ms since the epoch: when the feed was started. */
  startedAt?: number;
  /** ms since the epoch: when the feed broke, while it is broken (cleared by the next successful list or event). */
  brokenSince?: number;
  error?: string;
}

export interface ProbeCacheOptions {
  /** Without one the cache starts no watch: tests and the bench fill it with `apply`. */
  kubeconfig?: KubeConfig;
  timing?: Partial<WatchTiming>;
  /** Told of every list page and watch a feed sends (levee_probe_api_requests_total{probe="cache"}). */
  onRequest?: (verb: 'list' | 'watch', feed: FeedName) => void;
  logger?: Logger;
  now?: () => number;
}

const keyOf = (object: KubeObject): string => {
  const namespace = object.metadata?.namespace ?? '';
  const name = object.metadata?.name ?? '';
  return namespace ? `${namespace}/${name}` : name;
};

export class ProbeCache {
  private readonly options: ProbeCacheOptions;
  private readonly now: () => number;
  private readonly views = new Map<FeedName, Map<string, CachedView>>(FEEDS.map((feed) => [feed, new Map()]));
  /** namespace/service -> keys of its EndpointSlices. */
  private readonly slicesByService = new Map<string, Set<string>>();
  /** Keys of levee's own probe pods (labelled levee.dev/probe). */
  private readonly probePodKeys = new Set<string>();
  private readonly health = new Map<FeedName, FeedHealth>(FEEDS.map((feed) => [feed, { started: false, synced: false }]));
  private readonly listeners = new Set<(change: CacheChange) => void>();
  private readonly healthListeners = new Set<() => void>();
  private readonly watches = new Map<FeedName, ListWatch>();
  private stopped = false;

  constructor(options: ProbeCacheOptions = {}) {
    this.options = options;
    this.now = options.now ?? Date.now;
  }

  /** Starts the feeds not started yet (each lists once, in pages, then follows changes). */
  start(feeds: Iterable<FeedName>): void {
    for (const feed of feeds) this.startFeed(feed);
  }

  stop(): void {
    this.stopped = true;
    for (const watch of this.watches.values()) watch.stop();
    this.watches.clear();
    this.notifyHealth();
  }

  // ---- reading ----

  nodes(): NodeView[] {
    return this.values<NodeView>('nodes');
  }

  pods(): PodView[] {
    return this.values<PodView>('pods');
  }

  /** levee's own probe pods (labelled `levee.dev/probe`), with their labels. */
  probePods(): PodView[] {
    const pods = this.views.get('pods')!;
    return [...this.probePodKeys].map((key) => pods.get(key) as PodView | undefined).filter((pod): pod is PodView => pod !== undefined);
  }

  services(): ServiceView[] {
    return this.values<ServiceView>('services');
  }

  endpointSlices(): EndpointSliceView[] {
    return this.values<EndpointSliceView>('endpointslices');
  }

  /** The EndpointSlices of Service `namespace/name`. */
  slicesOf(namespace: string, service: string): EndpointSliceView[] {
    const slices = this.views.get('endpointslices')!;
    return [...(this.slicesByService.get(`${namespace}/${service}`) ?? [])]
      .map((key) => slices.get(key) as EndpointSliceView | undefined)
      .filter((slice): slice is EndpointSliceView => slice !== undefined);
  }

  lease(name: ControlPlaneLease): LeaseView | undefined {
    return this.views.get(`lease/${name}`)!.get(name) as LeaseView | undefined;
  }

  /** How many views a feed holds. */
  size(feed: FeedName): number {
    return this.views.get(feed)!.size;
  }

  // ---- trusting ----

  feedHealth(feed: FeedName): Readonly<FeedHealth> {
    return this.health.get(feed)!;
  }

  /** Why `feeds` cannot be read as current now (not listed yet, broken), or undefined when they can. */
  unavailable(feeds: readonly FeedName[]): string | undefined {
    for (const feed of feeds) {
      const health = this.health.get(feed)!;
      if (!health.synced) {
        const since = health.startedAt === undefined ? '' : ` (started ${Math.round((this.now() - health.startedAt) / 1000)} s ago)`;
        return `the ${feed} watch has not finished its first list${since}${health.error ? `: ${health.error}` : ''}`;
      }
      if (health.brokenSince !== undefined) {
        return `the ${feed} watch is broken since ${Math.round((this.now() - health.brokenSince) / 1000)} s ago (${health.error ?? 'no detail'}), relisting`;
      }
    }
    return undefined;
  }

  /**
   * Starts `feeds` if needed and waits until each has finished its first list and none is
   * broken, or the signal aborts; resolves with why they cannot be read (see `unavailable`),
   * or undefined when they can.
   */
  ready(feeds: readonly FeedName[], signal: AbortSignal): Promise<string | undefined> {
    this.start(feeds);
    return new Promise((resolve) => {
      const check = (): void => {
        const why = this.unavailable(feeds);
        if (why !== undefined && !signal.aborted && !this.stopped) return;
        this.healthListeners.delete(check);
        signal.removeEventListener('abort', check);
        resolve(why);
      };
      this.healthListeners.add(check);
      signal.addEventListener('abort', check, { once: true });
      check();
    });
  }

  // ---- following ----

  /** Told of every change the watches bring; returns the unsubscribe. */
  subscribe(listener: (change: CacheChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Resolves with the first value `check` returns that is not undefined, looking again after
   * every change the watches bring; with undefined when the signal aborts first.
   */
  waitFor<T>(check: () => T | undefined, signal: AbortSignal): Promise<T | undefined> {
    return new Promise((resolve) => {
      const first = check();
      if (first !== undefined || signal.aborted) return resolve(first);
      const done = (value: T | undefined): void => {
        unsubscribe();
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      };
      const onAbort = (): void => done(undefined);
      const unsubscribe = this.subscribe(() => {
        const value = check();
        if (value !== undefined) done(value);
      });
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  // ---- filling (the watches; tests and the bench call these directly) ----

  apply(feed: FeedName, type: 'upsert' | 'remove', object: KubeObject): void {
    const lease = leaseOf(feed);
    // A Lease feed holds its one Lease, by name, whatever else a server that ignores the fieldSelector sends.
    if (lease !== undefined && object.metadata?.name !== lease) return;
    const key = lease ?? keyOf(object);
    const views = this.views.get(feed)!;
    const previous = views.get(key);
    const next = type === 'upsert' ? project(feed, object) : undefined;
    if (next === undefined && !views.delete(key)) return;
    if (next !== undefined) views.set(key, next);
    if (feed === 'endpointslices') this.indexSlice(key, previous as EndpointSliceView | undefined, next as EndpointSliceView | undefined);
    if (feed === 'pods') {
      if ((next as PodView | undefined)?.probeLabels) this.probePodKeys.add(key);
      else this.probePodKeys.delete(key);
    }
    const change: CacheChange = { feed, key, ...(previous ? { previous } : {}), ...(next ? { next } : {}) };
    for (const listener of this.listeners) {
      try {
        listener(change);
      } catch (err) {
        this.options.logger?.warn({ feed, err: (err as Error).message }, 'probe cache listener failed');
      }
    }
  }

  markSynced(feed: FeedName): void {
    this.setHealth(feed, { synced: true, brokenSince: undefined, error: undefined });
  }

  markBroken(feed: FeedName, error: Error, since: number, reason: 'failed' | 'silent' = 'failed'): void {
    const health = this.health.get(feed)!;
    if (health.brokenSince === undefined) this.options.logger?.warn({ feed, reason, err: error.message }, 'probe watch broken; relisting');
    this.setHealth(feed, { brokenSince: health.brokenSince ?? since, error: error.message });
  }

  private values<V extends CachedView>(feed: FeedName): V[] {
    return [...this.views.get(feed)!.values()] as V[];
  }

  private indexSlice(key: string, previous: EndpointSliceView | undefined, next: EndpointSliceView | undefined): void {
    if (previous?.service) this.slicesByService.get(`${previous.namespace}/${previous.service}`)?.delete(key);
    if (!next?.service) return;
    const service = `${next.namespace}/${next.service}`;
    let keys = this.slicesByService.get(service);
    if (!keys) this.slicesByService.set(service, (keys = new Set()));
    keys.add(key);
  }

  private startFeed(feed: FeedName): void {
    const health = this.health.get(feed)!;
    if (health.started || this.stopped) return;
    this.setHealth(feed, { started: true, startedAt: this.now() });
    const { kubeconfig, timing, onRequest } = this.options;
    if (!kubeconfig) return;
    const spec = FEED_SPECS[feed];
    const watch = new ListWatch({
      kubeconfig,
      path: spec.path,
      apiVersion: spec.apiVersion,
      kind: spec.kind,
      ...(spec.fieldSelector ? { fieldSelector: spec.fieldSelector } : {}),
      ...(timing ? { timing } : {}),
      ...(onRequest ? { onRequest: (verb: 'list' | 'watch') => onRequest(verb, feed) } : {}),
      handlers: {
        upsert: (object) => this.apply(feed, 'upsert', object),
        remove: (object) => this.apply(feed, 'remove', object),
        current: () => {
          if (this.health.get(feed)!.brokenSince !== undefined) this.setHealth(feed, { brokenSince: undefined, error: undefined });
        },
        synced: () => this.markSynced(feed),
        broken: (error, since, reason) => this.markBroken(feed, error, since, reason),
      },
    });
    this.watches.set(feed, watch);
    watch.start();
  }

  private setHealth(feed: FeedName, change: Partial<FeedHealth>): void {
    const next: FeedHealth = { ...this.health.get(feed)!, ...change };
    if (next.brokenSince === undefined) delete next.brokenSince;
    if (next.error === undefined) delete next.error;
    this.health.set(feed, next);
    this.notifyHealth();
  }

  private notifyHealth(): void {
    for (const listener of [...this.healthListeners]) listener();
  }
}

function leaseOf(feed: FeedName): ControlPlaneLease | undefined {
  return feed.startsWith('lease/') ? (feed.slice('lease/'.length) as ControlPlaneLease) : undefined;
}

function project(feed: FeedName, object: KubeObject): CachedView {
  switch (feed) {
    case 'nodes':
      return toNodeView(object);
    case 'pods':
      return toPodView(object);
    case 'services':
      return toServiceView(object);
    case 'endpointslices':
      return toEndpointSliceView(object);
    default:
      return toLeaseView(object);
  }
}
