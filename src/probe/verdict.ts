import type { ProbeId } from './settings.js';
import { SEVERITIES, severityOf, type ProbeResult, type Severity, type Verdict, type VerdictDocument } from '../probe-verdict.js';
import type { ProbeOutcome } from './types.js';

/**
 * From probe outcomes to a verdict, with hysteresis: a probe counts as failing only after
 * `failuresToUnhealthy` consecutive failures, and as passing again only after
 * `successesToHealthy` consecutive successes, so one flake neither closes nor reopens the gate.
 * Each probe is recorded when it finishes (probes run on schedules of their own); the verdict
 * is read from all of them at any moment. Pure: the loop keeps the state.
 */

export interface Hysteresis {
  failuresToUnhealthy: number;
  successesToHealthy: number;
}

/** One probe's raw outcome in one run. */
export interface Observation {
  probe: ProbeId;
  outcome: ProbeOutcome;
  latencyMs: number;
  hint?: string;
  /** When it finished; defaults to the time the verdict is read. */
  at?: Date;
}

export interface ProbeHistory {
  failing: boolean;
  consecutiveFailures: number;
  consecutiveSuccesses: number;
  /** How bad the failure that made (or keeps) this probe failing is; while passing, the probe's configured severity. */
  severity: Severity;
  failingSince?: string;
  lastTransitionTime: string;
  /** The last failed outcome: what the verdict names while the probe recovers, and what the hint tree reads. */
  lastFailure?: { message: string; hint?: string; stage?: string; details?: Record<string, unknown> };
  /** The last observation itself, which the probe's line in the verdict reports. */
  last: { outcome: ProbeOutcome; latencyMs: number; hint?: string; at: string };
}

export interface VerdictState {
  readonly run: number;
  readonly verdict: Verdict;
  readonly since: string;
  readonly histories: Readonly<Partial<Record<ProbeId, ProbeHistory>>>;
}

export function initialState(now: Date): VerdictState {
  return { run: 0, verdict: 'Healthy', since: now.toISOString(), histories: {} };
}

export interface SeverityOptions {
  critical: ReadonlySet<ProbeId>;
  /** Configured severities; a probe named in neither is critical when in `critical`, otherwise major. */
  severities?: Readonly<Partial<Record<ProbeId, Severity>>>;
}

export interface RecordOptions extends SeverityOptions {
  hysteresis: Hysteresis;
}

export interface DocumentOptions extends SeverityOptions {
  hysteresis: Hysteresis;
  now: Date;
  reporter: string;
  leader: boolean;
}

export type ReduceOptions = RecordOptions & DocumentOptions;

/** Records one probe's outcome; the other probes keep theirs. */
export function recordObservation(state: VerdictState, observation: Observation, options: RecordOptions, now: Date): VerdictState {
  const at = (observation.at ?? now).toISOString();
  const history = advance(state.histories[observation.probe], observation, options, at);
  return { ...state, histories: { ...state.histories, [observation.probe]: history } };
}

/** A probe's configured severity: its entry in `severities`, else critical when listed in `critical`, else major. */
export function configuredSeverity(probe: ProbeId, options: SeverityOptions): Severity {
  return options.severities?.[probe] ?? (options.critical.has(probe) ? 'critical' : 'major');
}

/** Worst first: critical, major, minor. */
export function severityRank(severity: Severity): number {
  return SEVERITIES.indexOf(severity);
}

/** The verdict failing probes of these severities make: critical -> Unhealthy, major -> Degraded, minor (or none) -> Healthy. */
export function verdictOf(severities: readonly Severity[]): Verdict {
  if (severities.includes('critical')) return 'Unhealthy';
  if (severities.includes('major')) return 'Degraded';
  return 'Healthy';
}

/** Whether hysteresis is still deciding about a probe: its last outcome disagrees with its status. */
export function unsettled(history: ProbeHistory): boolean {
  return !history.last.outcome.skipped && history.failing === history.last.outcome.ok;
}

/** The verdict now, from the last outcome of each probe in `order`; `since` moves only when the verdict changes. */
export function documentOf(state: VerdictState, order: readonly ProbeId[], options: DocumentOptions): { state: VerdictState; document: VerdictDocument } {
  const at = options.now.toISOString();
  const results: ProbeResult[] = [];
  for (const probe of order) {
    const history = state.histories[probe];
    if (history) results.push(resultOf(probe, history, options));
  }
  const failing = results.filter((result) => result.status === 'Failing');
  const verdict = verdictOf(failing.map(severityOf));
  const since = verdict === state.verdict && state.run > 0 ? state.since : at;
  const ordered = [...failing].sort((a, b) => severityRank(severityOf(a)) - severityRank(severityOf(b)) || a.probe.localeCompare(b.probe));
  const next: VerdictState = { ...state, run: state.run + 1, verdict, since };
  return {
    state: next,
    document: {
      verdict,
      since,
      generatedAt: at,
      reporter: options.reporter,
      leader: options.leader,
      run: next.run,
      failing: ordered.map((result) => result.probe),
      probes: results,
    },
  };
}

/** A whole run at once: every observation recorded, then the verdict over exactly those probes (`levee probe --once`, tests). */
export function reduceRun(previous: VerdictState, observations: readonly Observation[], options: ReduceOptions): { state: VerdictState; document: VerdictDocument } {
  const observed = new Set(observations.map((observation) => observation.probe));
  let state: VerdictState = { ...previous, histories: Object.fromEntries(Object.entries(previous.histories).filter(([probe]) => observed.has(probe as ProbeId))) };
  for (const observation of observations) state = recordObservation(state, observation, options, options.now);
  return documentOf(state, [...observed], options);
}

function advance(previous: ProbeHistory | undefined, observation: Observation, options: RecordOptions, at: string): ProbeHistory {
  const { outcome } = observation;
  const last = { outcome, latencyMs: observation.latencyMs, at, ...(observation.hint ? { hint: observation.hint } : {}) };
  const configured = configuredSeverity(observation.probe, options);
  const base: ProbeHistory = previous ?? { failing: false, consecutiveFailures: 0, consecutiveSuccesses: 0, severity: configured, lastTransitionTime: at, last };
  // A skipped probe (nothing to check here) has no say in the verdict.
  if (outcome.skipped) return { failing: false, consecutiveFailures: 0, consecutiveSuccesses: 0, severity: configured, lastTransitionTime: base.failing ? at : base.lastTransitionTime, last };

  const { failuresToUnhealthy, successesToHealthy } = outcome.settled ? { failuresToUnhealthy: 1, successesToHealthy: 1 } : options.hysteresis;
  if (outcome.ok) {
    const successes = base.consecutiveSuccesses + 1;
    const recovered = base.failing && successes >= successesToHealthy;
    if (!base.failing || recovered) {
      return { failing: false, consecutiveFailures: 0, consecutiveSuccesses: successes, severity: configured, lastTransitionTime: recovered ? at : base.lastTransitionTime, last };
    }
    return { ...base, consecutiveFailures: 0, consecutiveSuccesses: successes, last };
  }

  const failures = base.consecutiveFailures + 1;
  const severity = outcome.severity ?? configured;
  const lastFailure = {
    message: outcome.message,
    ...(observation.hint ? { hint: observation.hint } : {}),
    ...(outcome.stage ? { stage: outcome.stage } : {}),
    ...(outcome.details ? { details: outcome.details } : {}),
  };
  if (base.failing) return { ...base, consecutiveFailures: failures, consecutiveSuccesses: 0, severity, lastFailure, last };
  const turnsFailing = failures >= failuresToUnhealthy;
  return {
    failing: turnsFailing,
    consecutiveFailures: failures,
    consecutiveSuccesses: 0,
    severity,
    ...(turnsFailing ? { failingSince: at } : {}),
    lastTransitionTime: turnsFailing ? at : base.lastTransitionTime,
    lastFailure,
    last,
  };
}

function resultOf(probe: ProbeId, history: ProbeHistory, options: DocumentOptions): ProbeResult {
  const { outcome } = history.last;
  const status = outcome.skipped ? 'Skipped' : history.failing ? 'Failing' : 'Passing';
  // While a failing probe recovers, the gate still names the failure that closed it.
  const recovering = history.failing && outcome.ok;
  const message = recovering
    ? `${history.lastFailure?.message ?? outcome.message} (recovering: ${history.consecutiveSuccesses} of ${options.hysteresis.successesToHealthy} successes)`
    : outcome.message;
  const hint = recovering ? history.lastFailure?.hint : outcome.ok ? undefined : history.last.hint;
  const severity = history.failing ? history.severity : configuredSeverity(probe, options);
  return {
    probe,
    status,
    critical: severity === 'critical',
    severity,
    lastOk: outcome.ok,
    latencyMs: Math.round(history.last.latencyMs),
    message,
    ...(hint ? { hint } : {}),
    consecutiveFailures: history.consecutiveFailures,
    consecutiveSuccesses: history.consecutiveSuccesses,
    ...(history.failing && history.failingSince ? { failingSince: history.failingSince } : {}),
    lastTransitionTime: history.lastTransitionTime,
    checkedAt: history.last.at,
  };
}
