import type { Logger } from '../logger.js';
import type { CacheFreshness } from './freshness.js';

/** Counts watches that broke or fell silent (levee_watch_restarts_total). */
export interface WatchMetrics {
  restarted(cache: string, reason: 'failed' | 'silent'): void;
}

export interface WatchFeedbackOptions {
  /** How logs name the feed: its caches. */
  cache: string;
  /** The watch path: freshness tracks each feed of a cache apart. */
  feed: string;
  stores: readonly string[];
  freshness: CacheFreshness;
  logger: Logger;
  metrics?: WatchMetrics;
  clock?: () => number;
}

/**
 * What a feed's watch tells the rest of levee: its caches are current, or broken since a
 * moment (for a silent watch, the last moment it said anything), with one warning when a
 * feed breaks, quieter lines while it stays broken, and one when it is back.
 */
export function watchFeedbackFor(options: WatchFeedbackOptions): {
  current(): void;
  broken(error: Error, since: number, reason: 'failed' | 'silent'): void;
} {
  const { cache, feed, stores, freshness, logger, metrics } = options;
  const clock = options.clock ?? Date.now;
  let brokenSince: number | undefined;
  return {
    current() {
      for (const store of stores) freshness.current(store, feed);
      if (brokenSince === undefined) return;
      logger.info({ cache, feed, brokenSeconds: Math.round((clock() - brokenSince) / 1000) }, 'watch re-established; cache relisted and current');
      brokenSince = undefined;
    },
    broken(error, since, reason) {
      for (const store of stores) freshness.broken(store, feed, since);
      metrics?.restarted(cache, reason);
      const fields = { cache, feed, reason, err: error.message };
      if (brokenSince === undefined) {
        brokenSince = since;
        logger.warn(
          fields,
          reason === 'silent'
            ? 'watch fell silent (no event, no bookmark, no end); serving from cache and relisting'
            : 'watch failed; serving from cache and relisting',
        );
      } else {
        logger.debug(fields, 'still cannot list or watch; retrying');
      }
    },
  };
}
