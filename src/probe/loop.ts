import type { LeveeConfig } from '../config.js';
import type { Logger } from '../logger.js';
import { hintFor } from './hints.js';
import { expectStatus, type KubeApi } from './kube-api.js';
import type { ProbeMetrics } from './metrics.js';
import { readPublishedVerdict } from './publisher.js';
import type { ProbeId } from './settings.js';
import type { VerdictDocument } from '../probe-verdict.js';
import type { ProbeContext, ProbeDefinition, ProbeOutcome } from './types.js';
import { initialState, reduceRun, type Hysteresis, type Observation, type VerdictState } from './verdict.js';

export interface ProbeLoopOptions {
  config: LeveeConfig;
  api: KubeApi;
  probes: readonly ProbeDefinition[];
  logger: Logger;
  identity: string;
  isLeader: () => boolean;
  inCluster: boolean;
  metrics?: ProbeMetrics;
  /** Called with every new verdict (write the file, publish); a failure is logged, never fatal. */
  onVerdict?: (document: VerdictDocument, previous: VerdictDocument | undefined) => Promise<void> | void;
  /** `--once` judges a single run, so it needs no history: 1 and 1. */
  hysteresis?: Hysteresis;
  now?: () => Date;
  /** How long past its deadline a probe that ignores its signal is waited for. */
  graceMs?: number;
}

interface PendingRun {
  reasons: string[];
  promise: Promise<VerdictDocument>;
  resolve(document: VerdictDocument): void;
  reject(error: unknown): void;
}

/**
 * Runs the probes: on a schedule, when triggered (cluster events, config changes, POST /run)
 * and once on demand. Runs never overlap; triggers that arrive during a run are merged into
 * one follow-up run. Every probe has a deadline and its own abort signal, and a probe that
 * ignores the signal is abandoned after a short grace, so nothing can stall the loop.
 */
export class ProbeLoop {
  private readonly options: ProbeLoopOptions;
  private readonly now: () => Date;
  private state: VerdictState;
  private last: VerdictDocument | undefined;
  private pending: PendingRun | undefined;
  private draining = false;
  private timer: NodeJS.Timeout | undefined;
  private stopped = true;
  private readonly runAbort = new AbortController();

  constructor(options: ProbeLoopOptions) {
    this.options = options;
    this.now = options.now ?? (() => new Date());
    this.state = initialState(this.now());
  }

  get latest(): VerdictDocument | undefined {
    return this.last;
  }

  /** When the last run finished, or undefined before the first. */
  get lastRunAt(): Date | undefined {
    return this.last ? new Date(this.last.generatedAt) : undefined;
  }

  start(): void {
    this.stopped = false;
    void this.trigger('start').catch(() => undefined);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.runAbort.abort(new Error('levee probe is stopping'));
  }

  /** Asks for a run as soon as the current one (if any) is over; resolves with its verdict. */
  trigger(reason: string): Promise<VerdictDocument> {
    if (!this.pending) {
      let resolve!: (document: VerdictDocument) => void;
      let reject!: (error: unknown) => void;
      const promise = new Promise<VerdictDocument>((ok, fail) => {
        resolve = ok;
        reject = fail;
      });
      promise.catch(() => undefined);
      this.pending = { reasons: [], promise, resolve, reject };
    }
    const pending = this.pending;
    if (!pending.reasons.includes(reason)) pending.reasons.push(reason);
    void this.drain();
    return pending.promise;
  }

  private async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.pending) {
        const run = this.pending;
        this.pending = undefined;
        try {
          run.resolve(await this.execute(run.reasons));
        } catch (err) {
          run.reject(err);
        }
      }
    } finally {
      this.draining = false;
      if (!this.stopped) {
        clearTimeout(this.timer);
        this.timer = setTimeout(() => void this.trigger('schedule').catch(() => undefined), this.options.config.probe.intervalSeconds * 1000);
      }
    }
  }

  /** One run of every enabled probe, in parallel, reduced to a verdict. */
  async execute(reasons: string[]): Promise<VerdictDocument> {
    const { config, logger, metrics } = this.options;
    const started = performance.now();
    const leader = this.options.isLeader();
    const disabled = new Set<ProbeId>(config.probe.disabled);
    const probes = this.options.probes.filter((probe) => !disabled.has(probe.id));
    const sharedGets = new Map<string, Promise<unknown>>();
    const shared = <T>(path: string): Promise<T> => {
      let pending = sharedGets.get(path);
      if (!pending) {
        pending = this.options.api.get(path, { signal: this.runAbort.signal }).then((response) => expectStatus(response, `GET ${path.split('?')[0]}`, 200).body);
        pending.catch(() => undefined);
        sharedGets.set(path, pending);
      }
      return pending as Promise<T>;
    };

    // A replica that does not lead takes the leader-only probes' results from the leader's
    // published verdict, so both replicas' verdicts say the same about them.
    const leaderVerdict = !leader && probes.some((probe) => probe.leaderOnly) ? await this.publishedVerdict() : undefined;
    const observations = await Promise.all(probes.map((probe) => this.copied(probe, leaderVerdict) ?? this.observe(probe, leader, shared)));
    const previous = this.last;
    const reduced = reduceRun(this.state, observations, {
      hysteresis: this.options.hysteresis ?? { failuresToUnhealthy: config.probe.failuresToUnhealthy, successesToHealthy: config.probe.successesToHealthy },
      critical: new Set(config.probe.critical),
      now: this.now(),
      reporter: this.options.identity,
      leader,
    });
    this.state = reduced.state;
    this.last = reduced.document;
    const document = reduced.document;
    metrics?.recordRun(document, observations, (performance.now() - started) / 1000, leader);

    const line = { run: document.run, verdict: document.verdict, failing: document.failing, reasons, leader, ms: Math.round(performance.now() - started) };
    if (previous && previous.verdict !== document.verdict) logger.warn({ ...line, was: previous.verdict }, 'probe verdict changed');
    else logger.info(line, 'probe run');
    for (const observation of observations) {
      if (!observation.outcome.ok) logger.info({ probe: observation.probe, message: observation.outcome.message, hint: observation.hint }, 'probe failed');
    }
    try {
      await this.options.onVerdict?.(document, previous);
    } catch (err) {
      logger.warn({ err: (err as Error).message }, 'verdict not recorded');
    }
    return document;
  }

  /** The leader's published verdict when it is fresh enough for the gate; undefined otherwise (then the probe runs here). */
  private async publishedVerdict(): Promise<VerdictDocument | undefined> {
    const { config, logger } = this.options;
    if (!config.probe.publish) return undefined;
    try {
      const document = await readPublishedVerdict(this.options.api, this.runAbort.signal);
      if (!document) return undefined;
      const ageSeconds = (this.now().getTime() - Date.parse(document.generatedAt)) / 1000;
      return ageSeconds <= config.policies['probe-gate'].maxVerdictAgeSeconds ? document : undefined;
    } catch (err) {
      logger.debug({ err: (err as Error).message }, 'leader\'s ProbeVerdict not read; running leader-only probes here');
      return undefined;
    }
  }

  /** A leader-only probe's result as the leader published it, taken as settled (the leader applied hysteresis). */
  private copied(probe: ProbeDefinition, leaderVerdict: VerdictDocument | undefined): Promise<Observation> | undefined {
    if (!probe.leaderOnly || !leaderVerdict) return undefined;
    const result = leaderVerdict.probes.find((candidate) => candidate.probe === probe.id);
    if (!result || result.status === 'Skipped') return undefined;
    const failing = result.status === 'Failing';
    const outcome: ProbeOutcome = {
      ok: !failing,
      settled: true,
      message: `${result.message} (as the leader ${leaderVerdict.reporter || '?'} saw it at ${result.checkedAt})`,
      ...(failing && result.critical ? { severity: 'critical' as const } : {}),
    };
    return Promise.resolve({ probe: probe.id, outcome, latencyMs: 0, ...(failing && result.hint ? { hint: result.hint } : {}) });
  }

  private async observe(probe: ProbeDefinition, leader: boolean, shared: ProbeContext['shared']): Promise<Observation> {
    const { config } = this.options;
    const timeoutSeconds = probe.timeoutSeconds?.(config) ?? config.probe.timeoutSeconds;
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(new Error(`context deadline exceeded: ${probe.id} ran past its ${timeoutSeconds} s timeout`)), timeoutSeconds * 1000);
    let abandon: NodeJS.Timeout | undefined;
    const context: ProbeContext = {
      api: this.options.api,
      config,
      signal: AbortSignal.any([deadline.signal, this.runAbort.signal]),
      now: this.now,
      isLeader: leader,
      inCluster: this.options.inCluster,
      shared,
    };
    const started = performance.now();
    let outcome: ProbeOutcome;
    try {
      const abandoned = new Promise<never>((_resolve, reject) => {
        abandon = setTimeout(
          () => reject(new Error(`context deadline exceeded: ${probe.id} did not stop within ${timeoutSeconds} s`)),
          timeoutSeconds * 1000 + (this.options.graceMs ?? 2000),
        );
      });
      outcome = await Promise.race([probe.run(context), abandoned]);
    } catch (err) {
      outcome = { ok: false, message: errorText(err, deadline.signal) };
    } finally {
      clearTimeout(timer);
      clearTimeout(abandon);
    }
    const hint = hintFor(probe.id, outcome);
    return { probe: probe.id, outcome, latencyMs: performance.now() - started, ...(hint ? { hint } : {}) };
  }
}

/** A failure caused by the probe's own deadline says so, whatever the request that noticed it said. */
function errorText(err: unknown, deadline: AbortSignal): string {
  const message = err instanceof Error ? err.message : String(err);
  if (deadline.aborted && !/deadline exceeded/.test(message)) {
    const reason: unknown = deadline.reason;
    return `${reason instanceof Error ? reason.message : 'context deadline exceeded'} (${message})`;
  }
  return message;
}
