import type { ProbeId } from './settings.js';
import type { ProbeResult, Verdict, VerdictDocument } from '../probe-verdict.js';
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
  /** Whether the failure that made (or keeps) this probe failing is critical. */
  critical: boolean;
  failingSince?: string;
  lastTransitionTime: string;
  lastFailure?: { message: string; hint?: string };
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

export interface RecordOptions {
  hysteresis: Hysteresis;
  critical: ReadonlySet<ProbeId>;
}

export interface DocumentOptions {
  hysteresis: Hysteresis;
  critical: ReadonlySet<ProbeId>;
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
  const verdict: Verdict = failing.some((result) => result.critical) ? 'Unhealthy' : failing.length > 0 ? 'Degraded' : 'Healthy';
  const since = verdict === state.verdict && state.run > 0 ? state.since : at;
  const ordered = [...failing].sort((a, b) => Number(b.critical) - Number(a.critical) || a.probe.localeCompare(b.probe));
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
  const base: ProbeHistory = previous ?? { failing: false, consecutiveFailures: 0, consecutiveSuccesses: 0, critical: false, lastTransitionTime: at, last };
  // A skipped probe (nothing to check here) has no say in the verdict.
  if (outcome.skipped) return { failing: false, consecutiveFailures: 0, consecutiveSuccesses: 0, critical: false, lastTransitionTime: base.failing ? at : base.lastTransitionTime, last };

  const { failuresToUnhealthy, successesToHealthy } = outcome.settled ? { failuresToUnhealthy: 1, successesToHealthy: 1 } : options.hysteresis;
  if (outcome.ok) {
    const successes = base.consecutiveSuccesses + 1;
    const recovered = base.failing && successes >= successesToHealthy;
    if (!base.failing || recovered) {
      return { failing: false, consecutiveFailures: 0, consecutiveSuccesses: successes, critical: false, lastTransitionTime: recovered ? at : base.lastTransitionTime, last };
    }
    return { ...base, consecutiveFailures: 0, consecutiveSuccesses: successes, last };
  }

  const failures = base.consecutiveFailures + 1;
  const critical = options.critical.has(observation.probe) || outcome.severity === 'critical';
  const lastFailure = { message: outcome.message, ...(observation.hint ? { hint: observation.hint } : {}) };
  if (base.failing) return { ...base, consecutiveFailures: failures, consecutiveSuccesses: 0, critical, lastFailure, last };
  const turnsFailing = failures >= failuresToUnhealthy;
  return {
    failing: turnsFailing,
    consecutiveFailures: failures,
    consecutiveSuccesses: 0,
    critical,
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
  return {
    probe,
    status,
    critical: history.failing ? history.critical : options.critical.has(probe),
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
