import assert from 'node:assert/strict';
import type { ProbeId } from '../../../src/probe/settings.js';
import type { ProbeOutcome } from '../../../src/probe/types.js';
import { initialState, reduceRun, type Observation, type ReduceOptions, type VerdictState } from '../../../src/probe/verdict.js';

const start = new Date('2026-01-01T00:00:00Z');
const CRITICAL = new Set<ProbeId>(['api-write-path', 'controller-manager']);

function options(run: number, hysteresis = { failuresToUnhealthy: 2, successesToHealthy: 2 }): ReduceOptions {
  return { hysteresis, critical: CRITICAL, now: new Date(start.getTime() + run * 30_000), reporter: 'test', leader: true };
}

const pass: ProbeOutcome = { ok: true, message: 'fine' };
const fail: ProbeOutcome = { ok: false, message: 'Lease not renewed' };

function observe(probe: ProbeId, outcome: ProbeOutcome, hint?: string): Observation {
  return { probe, outcome, latencyMs: 12.4, ...(hint ? { hint } : {}) };
}

/** Feeds runs of `controller-manager` outcomes (plus a passing write path) and returns each verdict. */
function verdicts(outcomes: ProbeOutcome[], hysteresis?: ReduceOptions['hysteresis']): string[] {
  let state: VerdictState = initialState(start);
  return outcomes.map((outcome, run) => {
    const reduced = reduceRun(state, [observe('api-write-path', pass), observe('controller-manager', outcome, 'is kube-controller-manager running?')], options(run + 1, hysteresis));
    state = reduced.state;
    return reduced.document.verdict;
  });
}

describe('probe/verdict: reduction with hysteresis', () => {
  it('is Healthy when every probe passes', () => {
    assert.deepEqual(verdicts([pass, pass]), ['Healthy', 'Healthy']);
  });

  it('ignores one flake: a critical probe must fail twice in a row before the cluster is Unhealthy', () => {
    assert.deepEqual(verdicts([fail, pass, fail, pass]), ['Healthy', 'Healthy', 'Healthy', 'Healthy']);
    assert.deepEqual(verdicts([fail, fail]), ['Healthy', 'Unhealthy']);
  });

  it('needs two successes in a row to come back, so one lucky run does not reopen the gate', () => {
    assert.deepEqual(verdicts([fail, fail, pass, fail, pass, pass]), ['Healthy', 'Unhealthy', 'Unhealthy', 'Unhealthy', 'Unhealthy', 'Healthy']);
  });

  it('follows the configured counts', () => {
    assert.deepEqual(verdicts([fail, fail, fail, pass], { failuresToUnhealthy: 3, successesToHealthy: 1 }), ['Healthy', 'Healthy', 'Unhealthy', 'Healthy']);
    assert.deepEqual(verdicts([fail, pass], { failuresToUnhealthy: 1, successesToHealthy: 1 }), ['Unhealthy', 'Healthy']);
  });

  it('is Degraded when only a non-critical probe fails', () => {
    let state = initialState(start);
    for (let run = 1; run <= 2; run++) {
      const reduced = reduceRun(state, [observe('api-write-path', pass), observe('service-endpoints', { ok: false, message: '1 Service without endpoints' })], options(run));
      state = reduced.state;
      if (run === 2) {
        assert.equal(reduced.document.verdict, 'Degraded');
        assert.deepEqual(reduced.document.failing, ['service-endpoints']);
      }
    }
  });

  it('treats a failure with critical severity as critical even for a non-critical probe (API server older than a kubelet)', () => {
    let state = initialState(start);
    let verdict = '';
    for (let run = 1; run <= 2; run++) {
      const reduced = reduceRun(state, [observe('version-skew', { ok: false, severity: 'critical', message: 'API server older than kubelets' })], options(run));
      state = reduced.state;
      verdict = reduced.document.verdict;
    }
    assert.equal(verdict, 'Unhealthy');
  });

  it('keeps `since` while the verdict holds and moves it when the verdict changes', () => {
    let state = initialState(start);
    const since: string[] = [];
    for (const [run, outcome] of [fail, fail, fail, pass, pass].entries()) {
      const reduced = reduceRun(state, [observe('controller-manager', outcome)], options(run + 1));
      state = reduced.state;
      since.push(reduced.document.since);
    }
    assert.equal(since[0], options(1).now.toISOString());
    assert.equal(since[1], options(2).now.toISOString(), 'Unhealthy began at run 2');
    assert.equal(since[2], since[1]);
    assert.equal(since[4], options(5).now.toISOString(), 'Healthy again at run 5');
  });

  it('reports per probe: status, consecutive failures, failingSince, hint, and while recovering the failure that closed the gate', () => {
    let state = initialState(start);
    const runs = [fail, fail, fail, pass].map((outcome, index) => {
      const reduced = reduceRun(state, [observe('controller-manager', outcome, outcome.ok ? undefined : 'is kube-controller-manager running?')], options(index + 1));
      state = reduced.state;
      return reduced.document.probes[0]!;
    });
    assert.equal(runs[0]!.status, 'Passing');
    assert.equal(runs[0]!.lastOk, false);
    assert.equal(runs[0]!.consecutiveFailures, 1);
    assert.equal(runs[2]!.status, 'Failing');
    assert.equal(runs[2]!.consecutiveFailures, 3);
    assert.equal(runs[2]!.failingSince, options(2).now.toISOString());
    assert.equal(runs[2]!.hint, 'is kube-controller-manager running?');
    assert.equal(runs[2]!.latencyMs, 12);
    const recovering = runs[3]!;
    assert.equal(recovering.status, 'Failing');
    assert.equal(recovering.lastOk, true);
    assert.match(recovering.message, /^Lease not renewed \(recovering: 1 of 2 successes\)$/);
    assert.equal(recovering.hint, 'is kube-controller-manager running?');
  });

  it('lets a skipped probe neither fail nor count, and clears a failure it had', () => {
    let state = initialState(start);
    const skipped: ProbeOutcome = { ok: true, skipped: true, message: 'leader only' };
    const documents = [fail, fail, skipped].map((outcome, index) => {
      const reduced = reduceRun(state, [observe('controller-manager', outcome)], options(index + 1));
      state = reduced.state;
      return reduced.document;
    });
    assert.equal(documents[1]!.verdict, 'Unhealthy');
    assert.equal(documents[2]!.verdict, 'Healthy');
    assert.equal(documents[2]!.probes[0]!.status, 'Skipped');
  });

  it('orders failing probes critical first', () => {
    let state = initialState(start);
    let failing: string[] = [];
    for (let run = 1; run <= 2; run++) {
      const reduced = reduceRun(state, [observe('service-endpoints', fail), observe('controller-manager', fail), observe('certificate-expiry', fail)], options(run));
      state = reduced.state;
      failing = reduced.document.failing;
    }
    assert.deepEqual(failing, ['controller-manager', 'certificate-expiry', 'service-endpoints']);
  });

  /** Two runs of `observations` with the given severities; the second document. */
  function twice(observations: Observation[], severities: ReduceOptions['severities'] = {}) {
    let state = initialState(start);
    let document = reduceRun(state, observations, { ...options(1), severities }).document;
    for (let run = 1; run <= 2; run++) {
      const reduced = reduceRun(state, observations, { ...options(run), severities });
      state = reduced.state;
      document = reduced.document;
    }
    return document;
  }

  it('severity: critical failures make it Unhealthy, major Degraded, minor leave it Healthy but listed, worst first', () => {
    const minorOnly = twice([observe('on-demand-share', fail)], { 'on-demand-share': 'minor' });
    assert.equal(minorOnly.verdict, 'Healthy');
    assert.deepEqual(minorOnly.failing, ['on-demand-share']);
    assert.equal(minorOnly.probes[0]!.severity, 'minor');
    assert.equal(minorOnly.probes[0]!.critical, false);
    const mixed = twice([observe('on-demand-share', fail), observe('service-endpoints', fail)], { 'on-demand-share': 'minor' });
    assert.equal(mixed.verdict, 'Degraded');
    assert.deepEqual(mixed.failing, ['service-endpoints', 'on-demand-share']);
    const all = twice([observe('on-demand-share', fail), observe('service-endpoints', fail), observe('controller-manager', fail)], { 'on-demand-share': 'minor' });
    assert.equal(all.verdict, 'Unhealthy');
    assert.deepEqual(all.failing, ['controller-manager', 'service-endpoints', 'on-demand-share']);
    assert.deepEqual(all.probes.map((result) => result.severity), ['minor', 'major', 'critical']);
  });

  it('severity: a configured severity overrides the critical list, and an outcome\'s own severity overrides both for that failure', () => {
    assert.equal(twice([observe('controller-manager', fail)], { 'controller-manager': 'major' }).verdict, 'Degraded');
    assert.equal(twice([observe('service-endpoints', fail)], { 'service-endpoints': 'critical' }).verdict, 'Unhealthy');
    const crashLoop = twice([observe('restart-burst', { ok: false, severity: 'minor', message: 'one workload' })], { 'restart-burst': 'critical' });
    assert.equal(crashLoop.verdict, 'Healthy');
    assert.equal(crashLoop.probes[0]!.severity, 'minor');
    const passing = twice([observe('service-endpoints', pass)], { 'service-endpoints': 'minor' });
    assert.equal(passing.probes[0]!.severity, 'minor', 'a passing probe reports its configured severity');
  });
});
