import type { KubeConfig } from '@kubernetes/client-node';
import { setTimeout as sleep } from 'node:timers/promises';
import { LeveeError } from '../errors.js';
import { getJson } from './request.js';
import type { KubeObject } from './types.js';
import { startWatch, type RunningWatch, type WatchEnd } from './watch.js';

/**
 * The informer loop every watch levee runs goes through: list (in pages), then watch from the
 * list's resourceVersion; when the server ends a watch, watch again from the last
 * resourceVersion seen (events and bookmarks move it); when a watch fails or falls silent,
 * report the feed broken and list again, with a growing pause while lists fail, until one
 * succeeds. A relist reports what changed meanwhile: objects gone since are removed (by a
 * tombstone carrying their kind, namespace and name), changed ones upserted.
 *
 * Only each object's key and resourceVersion are kept here, not the object: consumers keep
 * the trimmed views they need.
 */

export interface WatchTiming {
  /** The API server ends each watch after this (timeoutSeconds). */
  watchTimeoutSeconds: number;
  /** A watch that says nothing for this long (no event, no bookmark, no end) is dead. */
  watchSilenceSeconds: number;
  /** Each list page, and the start of each watch, must answer within this. */
  requestTimeoutMs: number;
  pageSize: number;
  /** Pause after a failure, doubled at each failure in a row up to retryMaxMs. */
  retryMinMs: number;
  retryMaxMs: number;
}

export const DEFAULT_WATCH_TIMING: Readonly<WatchTiming> = Object.freeze({
  watchTimeoutSeconds: 30,
  watchSilenceSeconds: 45,
  requestTimeoutMs: 10_000,
  pageSize: 500,
  retryMinMs: 1000,
  retryMaxMs: 10_000,
});

export interface ListWatchHandlers {
  upsert(object: KubeObject): void;
  /** The object as the DELETED event carried it, or a tombstone for one a relist no longer finds. */
  remove(object: KubeObject): void;
  /** Listed, or the watch said something: what the consumer holds is current. */
  current?(): void;
  /** The first complete list has been delivered. */
  synced?(): void;
  /** The feed broke; the consumer keeps what it has. `since`: when it was last known good. */
  broken?(error: Error, since: number, reason: 'failed' | 'silent'): void;
}

export interface ListWatchOptions {
  kubeconfig: KubeConfig;
  /** The collection, e.g. /api/v1/pods or /apis/apps/v1/deployments. */
  path: string;
  /** Set on listed items, which carry none. */
  apiVersion: string;
  kind: string;
  labelSelector?: string;
  fieldSelector?: string;
  timing?: Partial<WatchTiming>;
  handlers: ListWatchHandlers;
  clock?: () => number;
  /** Told of every request it sends (each list page, each watch) before it is sent: to count them. */
  onRequest?: (verb: 'list' | 'watch') => void;
}

interface ObjectList {
  metadata?: { resourceVersion?: string; continue?: string };
  items?: KubeObject[];
}

const keyOf = (object: KubeObject): string => `${object.metadata?.namespace ?? ''}/${object.metadata?.name ?? ''}`;
const versionOf = (object: KubeObject | undefined): string => {
  const version = object?.metadata?.resourceVersion;
  return typeof version === 'string' ? version : '';
};

export class ListWatch {
  private readonly options: ListWatchOptions;
  private readonly timing: WatchTiming;
  private readonly clock: () => number;
  /** key -> resourceVersion of every object delivered and not removed. */
  private readonly known = new Map<string, string>();
  private resourceVersion = '';
  private stopped = false;
  private running = false;
  private watch: RunningWatch | undefined;
  private readonly abort = new AbortController();

  constructor(options: ListWatchOptions) {
    this.options = options;
    this.timing = { ...DEFAULT_WATCH_TIMING, ...options.timing };
    this.clock = options.clock ?? Date.now;
    if (this.timing.watchSilenceSeconds <= this.timing.watchTimeoutSeconds) {
      throw new LeveeError('CONFIG_INVALID', `watchSilenceSeconds (${this.timing.watchSilenceSeconds}) must exceed watchTimeoutSeconds (${this.timing.watchTimeoutSeconds}): a healthy watch is quiet until the server ends it`);
    }
  }

  get path(): string {
    return this.options.path;
  }

  start(): void {
    if (this.running || this.stopped) return;
    this.running = true;
    void this.loop();
  }

  stop(): void {
    this.stopped = true;
    this.abort.abort();
    this.watch?.stop();
  }

  private async loop(): Promise<void> {
    let needList = true;
    let failures = 0;
    let syncedOnce = false;
    while (!this.stopped) {
      if (needList) {
        try {
          await this.relist();
        } catch (error) {
          if (this.stopped) return;
          this.options.handlers.broken?.(error as Error, this.clock(), 'failed');
          await this.pause(failures++);
          continue;
        }
        if (this.stopped) return;
        needList = false;
        failures = 0;
        this.options.handlers.current?.();
        if (!syncedOnce) {
          syncedOnce = true;
          this.options.handlers.synced?.();
        }
      }
      const began = this.clock();
      const end = await this.watchOnce();
      if (this.stopped || end.reason === 'stopped') return;
      switch (end.reason) {
        case 'closed':
          // A server that ends watches at once (shutting down) is not asked again in a tight loop.
          if (this.clock() - began < 1000) await this.pause(0);
          break;
        case 'gone':
          needList = true;
          break;
        case 'silent':
          this.options.handlers.broken?.(end.error, end.lastHeard, 'silent');
          needList = true;
          break;
        case 'failed':
          this.options.handlers.broken?.(end.error, this.clock(), 'failed');
          needList = true;
          await this.pause(failures++);
          break;
      }
    }
  }

  private pause(failures: number): Promise<void> {
    const ms = Math.min(this.timing.retryMaxMs, this.timing.retryMinMs * 2 ** failures);
    return sleep(ms, undefined, { signal: this.abort.signal, ref: false }).catch(() => undefined);
  }

  private watchOnce(): Promise<WatchEnd> {
    const { kubeconfig, path, labelSelector, fieldSelector } = this.options;
    this.options.onRequest?.('watch');
    this.watch = startWatch({
      kubeconfig,
      path,
      resourceVersion: this.resourceVersion,
      ...(labelSelector ? { labelSelector } : {}),
      ...(fieldSelector ? { fieldSelector } : {}),
      timeoutSeconds: this.timing.watchTimeoutSeconds,
      silenceMs: this.timing.watchSilenceSeconds * 1000,
      headersTimeoutMs: this.timing.requestTimeoutMs,
      clock: this.clock,
      onEvent: (event) => {
        const version = versionOf(event.object);
        if (version) this.resourceVersion = version;
        if (event.type === 'BOOKMARK') {
          this.options.handlers.current?.();
          return;
        }
        this.deliver(event.type, event.object);
      },
    });
    return this.watch.ended;
  }

  private deliver(type: 'ADDED' | 'MODIFIED' | 'DELETED', object: KubeObject): void {
    const { handlers, kind, apiVersion } = this.options;
    const typed: KubeObject = { ...object, kind: object.kind ?? kind, apiVersion: object.apiVersion ?? apiVersion };
    const key = keyOf(typed);
    handlers.current?.();
    if (type === 'DELETED') {
      if (this.known.delete(key)) handlers.remove(typed);
      return;
    }
    const version = versionOf(typed);
    if (version && this.known.get(key) === version) return; // seen already (a watch resumed from an older version)
    this.known.set(key, version);
    handlers.upsert(typed);
  }

  /**
   * Lists every page, delivering each page's new and changed objects as it arrives (so a large
   * collection is never held whole: 100 pages of 500 pods are parsed and dropped one by one),
   * then removes what no page listed.
   */
  private async relist(): Promise<void> {
    const { kubeconfig, path, labelSelector, fieldSelector, kind, apiVersion } = this.options;
    let listed = new Set<string>();
    let resourceVersion = '';
    let token = '';
    for (let restarts = 0; ; ) {
      const query = new URLSearchParams({ limit: String(this.timing.pageSize) });
      if (token) query.set('continue', token);
      if (labelSelector) query.set('labelSelector', labelSelector);
      if (fieldSelector) query.set('fieldSelector', fieldSelector);
      let page: ObjectList;
      this.options.onRequest?.('list');
      try {
        page = await getJson<ObjectList>(kubeconfig, `${path}?${query.toString()}`, { timeoutMs: this.timing.requestTimeoutMs, signal: this.abort.signal });
      } catch (error) {
        // A continue token outlived by compaction: start the list again, once.
        if ((error as { status?: number }).status === 410 && token && restarts++ === 0) {
          listed = new Set();
          token = '';
          continue;
        }
        throw error;
      }
      if (this.stopped) return;
      if (!token) resourceVersion = page.metadata?.resourceVersion ?? '';
      for (const item of page.items ?? []) {
        const typed: KubeObject = { ...item, kind: item.kind ?? kind, apiVersion: item.apiVersion ?? apiVersion };
        const key = keyOf(typed);
        listed.add(key);
        const version = versionOf(typed);
        if (version && this.known.get(key) === version) continue;
        this.known.set(key, version);
        this.options.handlers.upsert(typed);
      }
      token = page.metadata?.continue ?? '';
      if (!token) break;
    }
    for (const key of [...this.known.keys()]) {
      if (listed.has(key)) continue;
      this.known.delete(key);
      const slash = key.indexOf('/');
      const namespace = key.slice(0, slash);
      const name = key.slice(slash + 1);
      this.options.handlers.remove({ apiVersion, kind, metadata: { name, ...(namespace ? { namespace } : {}) } });
    }
    this.resourceVersion = resourceVersion;
  }
}
