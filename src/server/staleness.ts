import { describeStale, type CacheFreshness } from '../cluster/freshness.js';
import type { Logger } from '../logger.js';

/**
 * Logs when caches go stale (their watches broken longer than the bound, typically the API
 * server unreachable) and when they are current again. Decisions keep coming from the caches
 * either way: an unready webhook would take itself out of its Service.
 */
export function logStaleness(freshness: CacheFreshness, boundSeconds: number, logger: Logger, intervalMs = 1000): () => void {
  let reported = '';
  const check = (): void => {
    const stale = freshness.stale(boundSeconds);
    const names = stale.map((age) => age.name).join(', ');
    if (names === reported) return;
    if (stale.length > 0) {
      logger.warn(
        { stale: stale.map((age) => ({ cache: age.name, ageSeconds: Math.round(age.ageSeconds) })), staleAfterSeconds: boundSeconds },
        `cluster caches stale: ${describeStale(stale)}; answering from the last known state`,
      );
    } else {
      logger.info({ caches: reported }, 'cluster caches current again');
    }
    reported = names;
  };
  const timer = setInterval(check, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
