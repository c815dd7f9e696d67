import { request as httpRequest } from 'node:http';
import type { Logger } from '../logger.js';
import type { ChangeRunView } from '../policies/types.js';
import { VERDICTS, type Verdict } from '../probe-verdict.js';

/**
 * serve's side of probe-on-change: after it admits a platform change (on /validate, allowed,
 * not a dry-run), it asks its own probe sidecar for a run (POST /run on loopback) and keeps
 * what came of it for the next platform change to be judged by.
 *
 * The signal cannot be used to stall or flood the probe: only a change levee admitted starts
 * anything, while a run is pending every other platform change is refused (so none is
 * admitted, unless an authorized override lets one through), and at most one request to the
 * probe is in flight: changes admitted meanwhile are folded into one more run after it. A
 * run that gives no verdict within maxHoldSeconds releases the hold.
 */

export interface ChangeProbeOptions {
  /** Asks the probe for a run that starts now; resolves with its verdict. */
  requestRun: (reason: string, signal: AbortSignal) => Promise<Verdict>;
  maxHoldSeconds: number;
  logger: Logger;
  now?: () => Date;
  /** What a run is expected to take before one has been timed. */
  firstGuessSeconds?: number;
}

interface TrackedRun {
  change: string;
  admittedAt: Date;
  /** Which admission this is (generation): a run answers for it only if it started after it. */
  admission: number;
  state: 'pending' | 'done' | 'unknown';
  verdict?: Verdict;
  finishedAt?: Date;
  reason?: string;
}

export class ChangeProbe {
  private readonly options: ChangeProbeOptions;
  private readonly now: () => Date;
  private run: TrackedRun | undefined;
  private inFlight = false;
  /** A change admitted while a run was in flight: that run started before it, so one more follows. */
  private queued: string | undefined;
  private expectedSeconds: number;
  private readonly abort = new AbortController();
  private admissions = 0;

  constructor(options: ChangeProbeOptions) {
    this.options = options;
    this.now = options.now ?? (() => new Date());
    this.expectedSeconds = options.firstGuessSeconds ?? 10;
  }

  /** The run after the last admitted platform change, as probe-on-change reads it. */
  view(): ChangeRunView {
    const run = this.run;
    if (!run) return { state: 'none', change: '', expectedSeconds: this.expectedSeconds };
    const base = { change: run.change, admittedAt: run.admittedAt, expectedSeconds: this.expectedSeconds };
    if (run.state === 'pending') {
      // Never longer than maxHoldSeconds, whatever the request to the probe is doing.
      const waited = (this.now().getTime() - run.admittedAt.getTime()) / 1000;
      if (waited > this.options.maxHoldSeconds) return { ...base, state: 'unknown', reason: `no verdict within ${this.options.maxHoldSeconds} s` };
      return { ...base, state: 'pending' };
    }
    return {
      ...base,
      state: run.state,
      ...(run.verdict ? { verdict: run.verdict } : {}),
      ...(run.finishedAt ? { finishedAt: run.finishedAt } : {}),
      ...(run.reason ? { reason: run.reason } : {}),
    };
  }

  /** Counts admitted platform changes: a decision taken while this moved did not count the newest one. */
  get generation(): number {
    return this.admissions;
  }

  /**
   * A platform change was admitted for real: ask for a run, and (`holds`) hold the next platform
   * change until a run that started after this one has a verdict. A kubelet's version report
   * starts a run but holds nothing: kubelets write their own Node's status, and none may hold
   * the platform.
   */
  admitted(change: string, holds = true): void {
    if (holds) {
      this.admissions++;
      this.run = { change, admittedAt: this.now(), admission: this.admissions, state: 'pending' };
    }
    if (this.inFlight) {
      this.queued = change;
      return;
    }
    void this.start(change);
  }

  stop(): void {
    this.abort.abort(new Error('levee serve is stopping'));
  }

  private async start(change: string): Promise<void> {
    this.inFlight = true;
    const started = this.now();
    const covers = this.admissions;
    const { logger, maxHoldSeconds } = this.options;
    logger.info({ change }, 'platform change admitted: probe run requested');
    let outcome: { verdict: Verdict } | { reason: string };
    try {
      const signal = AbortSignal.any([AbortSignal.timeout(maxHoldSeconds * 1000), this.abort.signal]);
      outcome = { verdict: await this.options.requestRun(`after ${change}`, signal) };
    } catch (err) {
      outcome = { reason: (err as Error).message };
    }
    this.inFlight = false;
    if (this.abort.signal.aborted) return;
    const finishedAt = this.now();
    if ('verdict' in outcome) this.expectedSeconds = Math.max(1, (finishedAt.getTime() - started.getTime()) / 1000);
    // Only a run that started after the held change answers for it; an earlier one ran without it.
    const run = this.run;
    if (run?.state === 'pending' && covers >= run.admission) {
      if ('verdict' in outcome) {
        this.run = { ...run, state: 'done', verdict: outcome.verdict, finishedAt };
        logger.info({ change: run.change, verdict: outcome.verdict, seconds: this.expectedSeconds }, 'probe run after platform change finished');
      } else {
        this.run = { ...run, state: 'unknown', finishedAt, reason: outcome.reason };
        logger.warn({ change: run.change, err: outcome.reason }, 'probe run after platform change gave no verdict');
      }
    }
    const next = this.queued;
    if (next !== undefined) {
      this.queued = undefined;
      void this.start(next);
    }
  }
}

/** The probe endpoint's `POST /run` answers with the verdict document; only its `verdict` is read here. */
export function probeRunRequester(host: string, port: number, timeoutMs: number): ChangeProbeOptions['requestRun'] {
  // The probe listens on loopback by default; a wildcard address is reached through loopback too.
  const target = host === '' || host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return (reason, signal) =>
    new Promise<Verdict>((resolve, reject) => {
      const path = `/run?reason=${encodeURIComponent(reason.slice(0, 200))}`;
      const req = httpRequest({ host: target, port, path, method: 'POST', signal, timeout: timeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if (res.statusCode !== 200) {
            reject(new Error(`levee probe answered POST /run with HTTP ${res.statusCode}: ${text.slice(0, 200)}`));
            return;
          }
          try {
            const verdict = (JSON.parse(text) as { verdict?: unknown }).verdict;
            if (typeof verdict === 'string' && (VERDICTS as readonly string[]).includes(verdict)) resolve(verdict as Verdict);
            else reject(new Error(`levee probe's POST /run answer has no verdict: ${text.slice(0, 200)}`));
          } catch (err) {
            reject(new Error(`levee probe's POST /run answer is not JSON: ${(err as Error).message}`));
          }
        });
      });
      req.on('timeout', () => req.destroy(new Error(`levee probe did not answer POST /run within ${Math.round(timeoutMs / 1000)} s`)));
      req.on('error', (err) => reject(new Error(`levee probe unreachable at http://${target}:${port}/run: ${err.message}`)));
      req.end();
    });
}
