import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { CacheAge } from '../cluster/freshness.js';
import type { StoreStats } from '../cluster/store.js';

/** Prometheus metrics for one `levee serve` process. */
export class Metrics {
  readonly registry = new Registry();
  readonly decisions = new Counter({
    name: 'levee_decisions_total',
    help: 'Admission decisions by route and outcome (allowed or denied).',
    labelNames: ['route', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly findings = new Counter({
    name: 'levee_policy_findings_total',
    help: 'Policy findings by policy, rule and enforcement action.',
    labelNames: ['policy', 'rule', 'action'] as const,
    registers: [this.registry],
  });
  readonly overrides = new Counter({
    name: 'levee_overrides_total',
    help: 'Override annotations met on requests a policy would deny, by policy and outcome (honoured or ignored).',
    labelNames: ['policy', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly errors = new Counter({
    name: 'levee_request_errors_total',
    help: 'Requests levee could not judge, by error code.',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });
  readonly eventsDropped = new Counter({
    name: 'levee_events_dropped_total',
    help: 'Events levee did not record, by why: overload (too many being written at once) or failed (the API server refused or did not answer).',
    labelNames: ['why'] as const,
    registers: [this.registry],
  });
  readonly latency = new Histogram({
    name: 'levee_admission_duration_seconds',
    help: 'Time from a decoded AdmissionReview to its response, inside levee.',
    labelNames: ['route'] as const,
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [this.registry],
  });
  readonly watchRestarts = new Counter({
    name: 'levee_watch_restarts_total',
    help: 'Watches that failed or fell silent (no event, no bookmark, no end within the silence bound) and were restarted with a relist, by cache and reason.',
    labelNames: ['cache', 'reason'] as const,
    registers: [this.registry],
  });
  /**
   * Connections accepted and TLS handshakes completed: a webhook client that keeps its
   * connections warm opens a handful; one that reconnects pays a handshake per review.
   */
  readonly connections = new Counter({
    name: 'levee_connections_total',
    help: 'Connections to levee\'s listener, by stage: accepted (TCP) and tls (handshake completed).',
    labelNames: ['stage'] as const,
    registers: [this.registry],
  });
  readonly cacheObjects: Gauge<'cache'>;
  readonly cacheSynced: Gauge<'cache'>;
  readonly cacheAge: Gauge<'cache'>;
  readonly recentDecisions: Gauge<'state'>;
  readonly bundleInfo = new Gauge({
    name: 'levee_policy_bundle_info',
    help: 'The policy bundle in use (value is always 1).',
    labelNames: ['digest', 'path'] as const,
    registers: [this.registry],
  });

  readonly certificateExpiry = new Gauge({
    name: 'levee_serving_certificate_expiry_timestamp_seconds',
    help: 'When the serving certificate in use stops being valid (Unix seconds); follows rotations.',
    registers: [this.registry],
  });

  constructor(
    cacheStats: () => StoreStats[],
    cacheAges: () => CacheAge[] = () => [],
    recentDecisions: () => { pending: number; evicted: number } = () => ({ pending: 0, evicted: 0 }),
  ) {
    collectDefaultMetrics({ register: this.registry, prefix: 'levee_' });
    for (const stage of ['accepted', 'tls'] as const) this.connections.inc({ stage }, 0);
    // Refreshed at scrape time, so the hot path never touches these gauges.
    this.cacheObjects = new Gauge({
      name: 'levee_cache_objects',
      help: 'Objects held in each watch-backed cache.',
      labelNames: ['cache'] as const,
      registers: [this.registry],
      collect() {
        for (const stats of cacheStats()) this.set({ cache: stats.name }, stats.size);
      },
    });
    this.cacheSynced = new Gauge({
      name: 'levee_cache_synced',
      help: '1 when the cache has completed its initial list.',
      labelNames: ['cache'] as const,
      registers: [this.registry],
      collect() {
        for (const stats of cacheStats()) this.set({ cache: stats.name }, stats.synced ? 1 : 0);
      },
    });
    this.cacheAge = new Gauge({
      name: 'levee_cache_last_sync_age_seconds',
      help: 'Seconds since the cache was last known current: 0 while its watches are established, growing while they are broken.',
      labelNames: ['cache'] as const,
      registers: [this.registry],
      collect() {
        for (const age of cacheAges()) this.set({ cache: age.name }, Math.round(age.ageSeconds * 10) / 10);
      },
    });
    this.recentDecisions = new Gauge({
      name: 'levee_recent_decisions',
      help: 'Allowed changes remembered until the watch shows them (pending), and those dropped because the ledger was full (evicted, since start).',
      labelNames: ['state'] as const,
      registers: [this.registry],
      collect() {
        const { pending, evicted } = recentDecisions();
        this.set({ state: 'pending' }, pending);
        this.set({ state: 'evicted' }, evicted);
      },
    });
  }
}
