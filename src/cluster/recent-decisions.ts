import { isDeepStrictEqual } from 'node:util';

/**
 * The changes levee allowed moments ago that its caches do not show yet.
 *
 * Each decision reads the watch-backed caches, and a watch shows an allowed change only some
 * time after the answer went back (usually well under a second). Requests sent in parallel
 * (several nodes cordoned at once by upgrade automation, two backends of one Service scaled
 * to zero) would all read the same cached count and all pass the floor. So every allowed
 * change that lowers a protected count is remembered here, as the cached view the object will
 * have once the change lands, and the next decision reads the caches through these entries.
 *
 * An entry leaves when the watch shows the object as the entry says (or shows it deleted),
 * or when it expires: a change the API server did not make after all (another webhook refused
 * it, a conflict) must not weigh on decisions for longer than a short while. The number of
 * entries is bounded; when full, the oldest goes first.
 *
 * Each levee process has its own: see the README on several replicas.
 */

/** Some fields of a cached view, as they will be once the change lands; null when the object is deleted. */
export type ExpectedView = Readonly<Record<string, unknown>> | null;

export interface PendingChange {
  /** The store the object is cached in (its name: `nodes`, `workloads`, ...). */
  store: string;
  /** The object's key in that store. */
  key: string;
  after: ExpectedView;
}

interface Entry extends PendingChange {
  expiresAt: number;
}

export interface RecentDecisionsOptions {
  expiryMs: number;
  maxEntries: number;
  /** Milliseconds; Date.now unless a test drives it. */
  clock?: () => number;
}

export const DEFAULT_RECENT_DECISIONS: Readonly<RecentDecisionsOptions> = { expiryMs: 30_000, maxEntries: 10_000 };

export class RecentDecisions {
  private readonly entries = new Map<string, Entry>();
  private readonly byStore = new Map<string, Map<string, Entry>>();
  private readonly expiryMs: number;
  private readonly maxEntries: number;
  private readonly clock: () => number;
  private generationCount = 0;
  private evictedCount = 0;

  constructor(options: RecentDecisionsOptions = DEFAULT_RECENT_DECISIONS) {
    this.expiryMs = options.expiryMs;
    this.maxEntries = Math.max(1, options.maxEntries);
    this.clock = options.clock ?? Date.now;
  }

  /** Grows with every change recorded: a decision that read an older generation may have missed one. */
  get generation(): number {
    return this.generationCount;
  }

  /** Entries still waiting for the watch (expired ones are dropped first). */
  get size(): number {
    this.sweep();
    return this.entries.size;
  }

  /** Entries dropped because the ledger was full before they expired or were confirmed. */
  get evicted(): number {
    return this.evictedCount;
  }

  /** Remembers the changes of one allowed request. A later change of the same object replaces the earlier one. */
  record(changes: readonly PendingChange[]): void {
    if (changes.length === 0) return;
    this.sweep();
    const expiresAt = this.clock() + this.expiryMs;
    for (const change of changes) {
      const id = entryId(change.store, change.key);
      this.drop(id);
      while (this.entries.size >= this.maxEntries) {
        const oldest = this.entries.keys().next().value!;
        this.drop(oldest);
        this.evictedCount++;
      }
      const entry: Entry = { store: change.store, key: change.key, after: change.after, expiresAt };
      this.entries.set(id, entry);
      let store = this.byStore.get(change.store);
      if (!store) this.byStore.set(change.store, (store = new Map()));
      store.set(change.key, entry);
    }
    this.generationCount++;
  }

  /** The unconfirmed, unexpired changes to one store's objects, by key. */
  pending(store: string): ReadonlyMap<string, ExpectedView> {
    this.sweep();
    const out = new Map<string, ExpectedView>();
    for (const [key, entry] of this.byStore.get(store) ?? []) out.set(key, entry.after);
    return out;
  }

  /**
   * A cached object as it will be once the changes levee allowed land: the cached view with
   * the expected fields laid over it (for an object not cached yet, the expected view alone,
   * which is then a whole view), or undefined when it is expected to be deleted.
   */
  overlay<V extends object>(store: string, key: string, cached: V | undefined): V | undefined {
    const entry = this.byStore.get(store)?.get(key);
    if (!entry || entry.expiresAt <= this.clock()) return cached;
    if (entry.after === null) return undefined;
    return { ...(cached ?? {}), ...entry.after } as V;
  }

  /**
   * What the watch just put in a store (undefined: it removed the object). An entry the cache
   * now agrees with is confirmed and leaves; so does one whose object is gone.
   */
  observe(store: string, key: string, view: unknown): void {
    const entry = this.byStore.get(store)?.get(key);
    if (!entry) return;
    if (view === undefined || (entry.after !== null && shows(view, entry.after))) this.drop(entryId(store, key));
  }

  clear(): void {
    this.entries.clear();
    this.byStore.clear();
  }

  /** Entries expire in the order they were recorded (one expiry for all), so the oldest are first. */
  private sweep(): void {
    const now = this.clock();
    for (const [id, entry] of this.entries) {
      if (entry.expiresAt > now) break;
      this.drop(id);
    }
  }

  private drop(id: string): void {
    const entry = this.entries.get(id);
    if (!entry) return;
    this.entries.delete(id);
    const store = this.byStore.get(entry.store);
    store?.delete(entry.key);
    if (store?.size === 0) this.byStore.delete(entry.store);
  }
}

function entryId(store: string, key: string): string {
  return `${store}\u0000${key}`;
}

function shows(view: unknown, expected: Readonly<Record<string, unknown>>): boolean {
  if (typeof view !== 'object' || view === null) return false;
  const fields = view as Record<string, unknown>;
  return Object.entries(expected).every(([field, value]) => isDeepStrictEqual(fields[field], value));
}
