import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { PROBE_IDS } from './settings.js';
import { SEVERITIES, VERDICTS, severityOf, type VerdictDocument } from '../probe-verdict.js';
import type { ApiVerb } from './kube-api.js';
import type { Observation } from './verdict.js';

/** Prometheus metrics of one `levee probe` process, served on its own endpoint's /metrics. */
export class ProbeMetrics {
  readonly registry = new Registry();
  private readonly success = new Gauge({
    name: 'levee_probe_success',
    help: '1 when the probe passed on its last run, 0 when it failed (skipped probes keep their last value).',
    labelNames: ['probe'] as const,
    registers: [this.registry],
  });
  private readonly failing = new Gauge({
    name: 'levee_probe_failing',
    help: '1 while the probe counts as failing after hysteresis.',
    labelNames: ['probe', 'critical'] as const,
    registers: [this.registry],
  });
  private readonly consecutiveFailures = new Gauge({
    name: 'levee_probe_consecutive_failures',
    help: 'Consecutive failed runs of the probe.',
    labelNames: ['probe'] as const,
    registers: [this.registry],
  });
  private readonly runs = new Counter({
    name: 'levee_probe_runs_total',
    help: 'Probe runs by result (success, failure, skipped).',
    labelNames: ['probe', 'result'] as const,
    registers: [this.registry],
  });
  private readonly duration = new Histogram({
    name: 'levee_probe_duration_seconds',
    help: 'How long each probe took.',
    labelNames: ['probe'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });
  private readonly verdict = new Gauge({
    name: 'levee_probe_verdict',
    help: '1 for the current verdict, 0 for the others.',
    labelNames: ['verdict'] as const,
    registers: [this.registry],
  });
  private readonly lastRun = new Gauge({
    name: 'levee_probe_last_run_timestamp_seconds',
    help: 'Unix time of the last verdict (each probe that finishes makes one).',
    registers: [this.registry],
  });
  private readonly apiRequests = new Counter({
    name: 'levee_probe_api_requests_total',
    help: 'Requests the probe sent to the API server, by Kubernetes verb and by the probe (or part of levee probe) that sent them.',
    labelNames: ['verb', 'probe'] as const,
    registers: [this.registry],
  });
  private readonly failingSetChanges = new Counter({
    name: 'levee_probe_failing_set_changes_total',
    help: 'Times the set of failing probes changed while the verdict stayed the same, by that verdict.',
    labelNames: ['verdict'] as const,
    registers: [this.registry],
  });
  private readonly failingBySeverity = new Gauge({
    name: 'levee_probe_failing_probes',
    help: 'Probes failing after hysteresis, by the severity of their failure (critical: Unhealthy, major: Degraded, minor: reported only).',
    labelNames: ['severity'] as const,
    registers: [this.registry],
  });
  private readonly leader = new Gauge({
    name: 'levee_probe_leader',
    help: '1 while this process holds the probe leader Lease.',
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'levee_probe_process_' });
    for (const verdict of VERDICTS) {
      this.verdict.set({ verdict }, 0);
      this.failingSetChanges.inc({ verdict }, 0);
    }
    for (const severity of SEVERITIES) this.failingBySeverity.set({ severity }, 0);
    for (const probe of PROBE_IDS) this.runs.inc({ probe, result: 'success' }, 0);
  }

  /** A verdict and the probe runs behind it (each probe runs on its own schedule: its duration is levee_probe_duration_seconds{probe}). */
  recordRun(document: VerdictDocument, observations: readonly Observation[], leader: boolean): void {
    for (const observation of observations) {
      const { probe, outcome } = observation;
      const result = outcome.skipped ? 'skipped' : outcome.ok ? 'success' : 'failure';
      this.runs.inc({ probe, result });
      if (outcome.skipped) continue;
      this.success.set({ probe }, outcome.ok ? 1 : 0);
      this.duration.observe({ probe }, observation.latencyMs / 1000);
    }
    for (const result of document.probes) {
      this.failing.set({ probe: result.probe, critical: String(result.critical) }, result.status === 'Failing' ? 1 : 0);
      this.failing.remove({ probe: result.probe, critical: String(!result.critical) });
      this.consecutiveFailures.set({ probe: result.probe }, result.consecutiveFailures);
    }
    for (const verdict of VERDICTS) this.verdict.set({ verdict }, verdict === document.verdict ? 1 : 0);
    const failing = document.probes.filter((result) => result.status === 'Failing');
    for (const severity of SEVERITIES) this.failingBySeverity.set({ severity }, failing.filter((result) => severityOf(result) === severity).length);
    this.lastRun.set(Date.parse(document.generatedAt) / 1000);
    this.leader.set(leader ? 1 : 0);
  }

  /** The failing set changed under the same verdict (the leader also records an Event `FailingProbesChanged`). */
  failingSetChanged(verdict: VerdictDocument['verdict']): void {
    this.failingSetChanges.inc({ verdict });
  }

  countRequest(verb: ApiVerb, probe: string): void {
    this.apiRequests.inc({ verb, probe });
  }

  setLeader(leader: boolean): void {
    this.leader.set(leader ? 1 : 0);
  }
}
