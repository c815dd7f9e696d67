import type { ProbeId } from './settings.js';
import type { ProbeResult, Verdict, VerdictDocument } from '../probe-verdict.js';
import type { ProbeOutcome } from './types.js';

/**
 * From raw probe outcomes to a verdict, with hysteresis: a probe counts as failing only
 * after `failuresToUnhealthy` consecutive failures, and as passing again only after
 * `successesToHealthy` consecutive successes, so one flake neither closes nor reopens the gate.
 * Pure: the loop keeps the state and feeds each run through `reduceRun`.
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
}

interface ProbeHistory {
  failing: boolean;
  consecutiveFailures: number;
  consecutiveSuccesses: number;
  /** Whether the failure that made (or keeps) this probe failing is critical. */
  critical: boolean;
  failingSince?: string;
  lastTransitionTime: string;
  lastFailure?: { message: string; hint?: string };
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

export interface ReduceOptions {
  hysteresis: Hysteresis;
  critical: ReadonlySet<ProbeId>;
  now: Date;
  reporter: string;
  leader: boolean;
}

export function reduceRun(previous: VerdictState, observations: readonly Observation[], options: ReduceOptions): { state: VerdictState; document: VerdictDocument } {
  const at = options.now.toISOString();
  const histories: Partial<Record<ProbeId, ProbeHistory>> = {};
  const results: ProbeResult[] = [];
  for (const observation of observations) {
    const history = advance(previous.histories[observation.probe], observation, options, at);
    histories[observation.probe] = history;
    results.push(resultOf(observation, history, options, at));
  }

  const failing = results.filter((result) => result.status === 'Failing');
  const verdict: Verdict = failing.some((result) => result.critical) ? 'Unhealthy' : failing.length > 0 ? 'Degraded' : 'Healthy';
  const since = verdict === previous.verdict && previous.run > 0 ? previous.since : at;
  const ordered = [...failing].sort((a, b) => Number(b.critical) - Number(a.critical) || a.probe.localeCompare(b.probe));
  const state: VerdictState = { run: previous.run + 1, verdict, since, histories };
  return {
    state,
    document: {
      verdict,
      since,
      generatedAt: at,
      reporter: options.reporter,
      leader: options.leader,
      run: state.run,
      failing: ordered.map((result) => result.probe),
      probes: results,
    },
  };
}

function advance(previous: ProbeHistory | undefined, observation: Observation, options: ReduceOptions, at: string): ProbeHistory {
  const { outcome } = observation;
  const base: ProbeHistory = previous ?? { failing: false, consecutiveFailures: 0, consecutiveSuccesses: 0, critical: false, lastTransitionTime: at };
  // A skipped probe (not applicable here, or not this replica's job) has no say in the verdict.
  if (outcome.skipped) return { failing: false, consecutiveFailures: 0, consecutiveSuccesses: 0, critical: false, lastTransitionTime: base.failing ? at : base.lastTransitionTime };

  const { failuresToUnhealthy, successesToHealthy } = outcome.settled ? { failuresToUnhealthy: 1, successesToHealthy: 1 } : options.hysteresis;
  if (outcome.ok) {
    const successes = base.consecutiveSuccesses + 1;
    const recovered = base.failing && successes >= successesToHealthy;
    if (!base.failing || recovered) {
      return { failing: false, consecutiveFailures: 0, consecutiveSuccesses: successes, critical: false, lastTransitionTime: recovered ? at : base.lastTransitionTime };
    }
    return { ...base, consecutiveFailures: 0, consecutiveSuccesses: successes };
  }

  const failures = base.consecutiveFailures + 1;
  const critical = options.critical.has(observation.probe) || outcome.severity === 'critical';
  const lastFailure = { message: outcome.message, ...(observation.hint ? { hint: observation.hint } : {}) };
  if (base.failing) return { ...base, consecutiveFailures: failures, consecutiveSuccesses: 0, critical, lastFailure };
  const turnsFailing = failures >= failuresToUnhealthy;
  return {
    failing: turnsFailing,
    consecutiveFailures: failures,
    consecutiveSuccesses: 0,
    critical,
    ...(turnsFailing ? { failingSince: at } : {}),
    lastTransitionTime: turnsFailing ? at : base.lastTransitionTime,
    lastFailure,
  };
}

function resultOf(observation: Observation, history: ProbeHistory, options: ReduceOptions, at: string): ProbeResult {
  const { outcome } = observation;
  const status = outcome.skipped ? 'Skipped' : history.failing ? 'Failing' : 'Passing';
  // While a failing probe recovers, the gate still names the failure that closed it.
  const recovering = history.failing && outcome.ok;
  const message = recovering
    ? `${history.lastFailure?.message ?? outcome.message} (recovering: ${history.consecutiveSuccesses} of ${options.hysteresis.successesToHealthy} successes)`
    : outcome.message;
  const hint = recovering ? history.lastFailure?.hint : outcome.ok ? undefined : observation.hint;
  return {
    probe: observation.probe,
    status,
    critical: history.failing ? history.critical : options.critical.has(observation.probe),
    lastOk: outcome.ok,
    latencyMs: Math.round(observation.latencyMs),
    message,
    ...(hint ? { hint } : {}),
    consecutiveFailures: history.consecutiveFailures,
    consecutiveSuccesses: history.consecutiveSuccesses,
    ...(history.failing && history.failingSince ? { failingSince: history.failingSince } : {}),
    lastTransitionTime: history.lastTransitionTime,
    checkedAt: at,
  };
}
