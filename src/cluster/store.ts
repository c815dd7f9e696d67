/**
 * A snapshot of one kind of cluster object, trimmed to the fields levee reads, with
 * secondary indices so that every lookup on the admission path is a map access, never a scan.
 */

export type Indexer<V> = (view: V) => readonly string[];

export interface StoreStats {
  name: string;
  size: number;
  synced: boolean;
}

/**
 * The keys filed under one index value. Most values index a single object (a Service's
 * selector, a slice's Service), so a lone key is kept as itself, and a Set only once there
 * are several: a Set per entry would cost more than the cached view it points to.
 */
type Bucket = string | Set<string>;

export class IndexedStore<V> {
  readonly name: string;
  private readonly items = new Map<string, V>();
  private readonly indices = new Map<string, Map<string, Bucket>>();
  private readonly indexers: Readonly<Record<string, Indexer<V>>>;
  private syncedFlag = false;
  private listener: ((key: string, view: V | undefined) => void) | undefined;

  constructor(name: string, indexers: Readonly<Record<string, Indexer<V>>> = {}) {
    this.name = name;
    this.indexers = indexers;
    for (const index of Object.keys(indexers)) this.indices.set(index, new Map());
  }

  get size(): number {
    return this.items.size;
  }

  get synced(): boolean {
    return this.syncedFlag;
  }

  markSynced(): void {
    this.syncedFlag = true;
  }

  /** Told of every view the store takes in, and of every key it drops (view undefined). */
  onChange(listener: (key: string, view: V | undefined) => void): void {
    this.listener = listener;
  }

  get(key: string): V | undefined {
    return this.items.get(key);
  }

  /** Every view, for the few callers that must walk a whole store (an audit, never a decision). */
  values(): IterableIterator<V> {
    return this.items.values();
  }

  upsert(key: string, view: V): void {
    const previous = this.items.get(key);
    if (previous !== undefined) {
      this.unindex(key, previous);
      this.removed(previous);
    }
    this.items.set(key, view);
    this.added(view);
    for (const [index, indexer] of Object.entries(this.indexers)) {
      const buckets = this.indices.get(index)!;
      for (const value of indexer(view)) {
        const bucket = buckets.get(value);
        if (bucket === undefined) buckets.set(value, key);
        else if (typeof bucket !== 'string') bucket.add(key);
        else if (bucket !== key) buckets.set(value, new Set([bucket, key]));
      }
    }
    this.listener?.(key, view);
  }

  remove(key: string): void {
    const previous = this.items.get(key);
    if (previous === undefined) return;
    this.unindex(key, previous);
    this.removed(previous);
    this.items.delete(key);
    this.listener?.(key, undefined);
  }

  /** Replaces the whole content, as after a relist. */
  replaceAll(entries: Iterable<[string, V]>): void {
    this.items.clear();
    for (const buckets of this.indices.values()) buckets.clear();
    for (const [key, view] of entries) this.upsert(key, view);
  }

  clear(): void {
    this.replaceAll([]);
  }

  byIndex(index: string, value: string): V[] {
    const bucket = this.indices.get(index)?.get(value);
    if (bucket === undefined) return [];
    const out: V[] = [];
    for (const key of typeof bucket === 'string' ? [bucket] : bucket) {
      const view = this.items.get(key);
      if (view !== undefined) out.push(view);
    }
    return out;
  }

  /** Removes every view the index files under `value` (all objects of a kind whose CRD is gone). */
  removeByIndex(index: string, value: string): void {
    const bucket = this.indices.get(index)?.get(value);
    if (bucket === undefined) return;
    for (const key of typeof bucket === 'string' ? [bucket] : [...bucket]) this.remove(key);
  }

  /** Hooks for stores that keep live aggregates: called for every view that enters or leaves. */
  protected added(_view: V): void {}

  protected removed(_view: V): void {}

  stats(): StoreStats {
    return { name: this.name, size: this.items.size, synced: this.syncedFlag };
  }

  private unindex(key: string, view: V): void {
    for (const [index, indexer] of Object.entries(this.indexers)) {
      const buckets = this.indices.get(index)!;
      for (const value of indexer(view)) {
        const bucket = buckets.get(value);
        if (bucket === undefined) continue;
        if (typeof bucket === 'string') {
          if (bucket === key) buckets.delete(value);
          continue;
        }
        bucket.delete(key);
        if (bucket.size === 1) buckets.set(value, bucket.values().next().value!);
      }
    }
  }
}
