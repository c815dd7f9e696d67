/**
 * How current each watch-backed cache is. A cache whose watches are established is current
 * now, however quiet the cluster; once a watch breaks (API server unreachable) or is found
 * silent, the cache keeps answering with what it had when the feed was last known good, and
 * its age grows from there.
 */

export interface CacheAge {
  name: string;
  /** 0 while every watch feeding the cache is established. */
  ageSeconds: number;
}

interface Entry {
  /** Whether the cache was ever current; one that never listed is not stale but unsynced (/readyz says so). */
  known: boolean;
  /** Feeds (watch paths) of this cache that are broken right now. */
  broken: Set<string>;
  /** When the first of them broke; undefined while none is broken. */
  brokenSince?: number;
}

export class CacheFreshness {
  private readonly entries = new Map<string, Entry>();
  private readonly clock: () => number;

  constructor(clock: () => number = Date.now) {
    this.clock = clock;
  }

  /** A feed of `cache` listed, delivered an event or re-established its watch. */
  current(cache: string, feed: string): void {
    const entry = this.entry(cache);
    entry.known = true;
    entry.broken.delete(feed);
    if (entry.broken.size === 0) delete entry.brokenSince;
  }

  /**
   * A feed of `cache` failed; the cache keeps what it has. `since`: when the feed was last
   * known good (a watch found silent was last good when it last said something).
   */
  broken(cache: string, feed: string, since: number = this.clock()): void {
    const entry = this.entry(cache);
    entry.broken.add(feed);
    entry.brokenSince = Math.min(entry.brokenSince ?? since, since);
  }

  ages(): CacheAge[] {
    const now = this.clock();
    return [...this.entries].filter(([, entry]) => entry.known).map(([name, entry]) => ({
      name,
      ageSeconds: entry.brokenSince === undefined ? 0 : Math.max(0, (now - entry.brokenSince) / 1000),
    }));
  }

  /** Caches older than `boundSeconds`, oldest first. */
  stale(boundSeconds: number): CacheAge[] {
    return this.ages()
      .filter((age) => age.ageSeconds > boundSeconds)
      .sort((a, b) => b.ageSeconds - a.ageSeconds);
  }

  private entry(cache: string): Entry {
    let entry = this.entries.get(cache);
    if (!entry) this.entries.set(cache, (entry = { known: false, broken: new Set() }));
    return entry;
  }
}

/** "services, pods (73 s)": what /readyz, logs and warnings say about stale caches. */
export function describeStale(stale: readonly CacheAge[]): string {
  const oldest = Math.round(stale[0]?.ageSeconds ?? 0);
  return `${stale.map((age) => age.name).join(', ')} (${oldest} s)`;
}
