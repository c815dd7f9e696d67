import type { LeveeConfig } from '../config.js';
import { diagnose, TRIGGER_MEMORY_MS, withDiagnosis, type FailingProbe, type RecentTrigger } from './diagnosis.js';
import type { Logger } from '../logger.js';
import type { ProbeCache } from './cache.js';
import { hintFor } from './hints.js';
import type { KubeApi } from './kube-api.js';
import type { ProbeMetrics } from './metrics.js';
import { failingChange, readPublishedVerdict } from './publisher.js';
import { configuredSeverities, criticalProbes, type ProbeId } from './settings.js';
import { severityOf, verdictAgeSeconds, type VerdictDocument } from '../probe-verdict.js';
import { nodeHealthDetails } from './probes/node-health.js';
import type { ProbeContext, ProbeDefinition, ProbeOutcome } from './types.js';
import { documentOf, initialState, recordObservation, unsettled, type Hysteresis, type Observation, type SeverityOptions, type VerdictState } from './verdict.js';

export interface ProbeLoopOptions {
  config: LeveeConfig;
  api: KubeApi;
  /** The watch cache the probes read; the loop starts the feeds of the probes it runs. */
  cache: ProbeCache;
  probes: readonly ProbeDefinition[];
  logger: Logger;
  identity: string;
  isLeader: () => boolean;
  inCluster: boolean;
  metrics?: ProbeMetrics;
  /** Called with every new verdict (write the file, publish), one at a time, in order; a failure is logged, never fatal. */
  onVerdict?: (document: VerdictDocument, previous: VerdictDocument | undefined) => Promise<void> | void;
  /** `--once` judges a single run, so it needs no history: 1 and 1. */
  hysteresis?: Hysteresis;
  now?: () => Date;
  /** How long past its deadline a probe that ignores its signal is waited for. */
  graceMs?: number;
}

/** One probe's place in the loop: never two runs of it at once. */
interface Slot {
  definition: ProbeDefinition;
  running: boolean;
  /** Asked for again while running: run once more right after. */
  again: boolean;
  timer: NodeJS.Timeout | undefined;
  /** Told when the run in progress finishes. */
  current: Array<() => void>;
  /** Told when the run after it finishes (asked for while one was in progress). */
  next: Array<() => void>;
}

/**
 * Runs the probes, each on its own schedule and with its own deadline, and publishes the
 * verdict each time one finishes: a fast probe is never held up by a slow one (the workload
 * lifecycle waits up to `lifecycleTimeoutSeconds` when pods do not come up). A probe whose
 * last outcome disagrees with its status (hysteresis still deciding) runs again after
 * `recheckSeconds`, and a failing one every `failingIntervalSeconds`, so a fault and its end
 * are settled in seconds, not intervals. A probe never overlaps itself; asking for a run of a
 * running probe queues one more run right after it. Every probe has a deadline and its own
 * abort signal, and one that ignores the signal is abandoned after a short grace. The first
 * verdict is published once every probe has run once.
 */
export class ProbeLoop {
  private readonly options: ProbeLoopOptions;
  private readonly now: () => Date;
  private readonly slots = new Map<ProbeId, Slot>();
  private state: VerdictState;
  private last: VerdictDocument | undefined;
  private lastFinished: Date | undefined;
  private active = false;
  private emitting: Promise<void> = Promise.resolve();
  private readonly runAbort = new AbortController();
  /** Each probe's configured severity, from configuration that is validated once and frozen. */
  private readonly severities: SeverityOptions;
  /** Why runs were asked for lately (a node NotReady, a Lease not renewed): the hint tree names them. */
  private triggers: RecentTrigger[] = [];
  private resolveFirstVerdict!: () => void;
  private readonly firstVerdict = new Promise<void>((resolve) => (this.resolveFirstVerdict = resolve));

  constructor(options: ProbeLoopOptions) {
    this.options = options;
    this.now = options.now ?? (() => new Date());
    this.state = initialState(this.now());
    this.severities = { critical: criticalProbes(options.config.probe), severities: configuredSeverities(options.config.probe) };
    const disabled = new Set<ProbeId>(options.config.probe.disabled);
    for (const definition of options.probes) {
      if (!disabled.has(definition.id)) this.slots.set(definition.id, { definition, running: false, again: false, timer: undefined, current: [], next: [] });
    }
  }

  get latest(): VerdictDocument | undefined {
    return this.last;
  }

  /** When a probe last finished, or undefined before the first. */
  get lastRunAt(): Date | undefined {
    return this.lastFinished;
  }

  /** Starts every probe now, then each on its own schedule. */
  start(): void {
    if (this.active) return;
    this.active = true;
    this.options.cache.start([...this.slots.values()].flatMap((slot) => slot.definition.feeds ?? []));
    for (const slot of this.slots.values()) void this.request(slot);
  }

  async stop(): Promise<void> {
    this.active = false;
    for (const slot of this.slots.values()) clearTimeout(slot.timer);
    this.runAbort.abort(new Error('levee probe is stopping'));
    await this.emitting;
  }

  /**
   * Runs every probe as soon as each is free, and resolves with the verdict once each has
   * finished a run that started after this call (cluster events, POST /run, a new leader).
   */
  async trigger(reason: string): Promise<VerdictDocument> {
    this.options.logger.debug({ reason }, 'probes triggered');
    this.remember(reason);
    await Promise.all([...this.slots.values()].map((slot) => this.request(slot)));
    await this.emitting;
    if (!this.last) await this.firstVerdict;
    return this.last!;
  }

  /** Every probe once, and the verdict after them: `levee probe --once`, tests. */
  execute(reasons: string[]): Promise<VerdictDocument> {
    return this.trigger(reasons.join(', '));
  }

  private remember(reason: string): void {
    const at = this.now().getTime();
    this.triggers = [...this.triggers.filter((trigger) => at - trigger.at <= TRIGGER_MEMORY_MS), { reason, at }].slice(-50);
  }

  /** The hint tree's view of the state: every probe failing after hysteresis, node-health's last look at the nodes, recent triggers. */
  private diagnosed(document: VerdictDocument): VerdictDocument {
    const failing: FailingProbe[] = [];
    for (const probe of document.failing) {
      const history = this.state.histories[probe as ProbeId];
      if (!history) continue;
      // Every failed run records itself as lastFailure; while the probe recovers, the failure that made it Failing stays there.
      const failure = history.lastFailure;
      failing.push({ probe, message: failure?.message ?? '', ...(failure?.stage ? { stage: failure.stage } : {}), ...(failure?.details ? { details: failure.details } : {}) });
    }
    const nodeHealth = this.state.histories['node-health']?.last.outcome;
    const nodes = nodeHealth && !nodeHealth.skipped ? nodeHealthDetails(nodeHealth.details) : undefined;
    return withDiagnosis(document, diagnose({ failing, ...(nodes ? { nodes } : {}), triggers: this.triggers, now: this.now().getTime() }));
  }

  private request(slot: Slot): Promise<void> {
    return new Promise<void>((resolve) => {
      if (slot.running) {
        slot.again = true;
        slot.next.push(resolve);
        return;
      }
      slot.current.push(resolve);
      void this.run(slot);
    });
  }

  private async run(slot: Slot): Promise<void> {
    clearTimeout(slot.timer);
    slot.running = true;
    const observation = await this.observeOne(slot.definition);
    slot.running = false;
    this.state = recordObservation(this.state, observation, { hysteresis: this.hysteresis(), ...this.severities }, this.now());
    this.lastFinished = observation.at ?? this.now();
    if (!observation.outcome.ok) this.options.logger.info({ probe: observation.probe, message: observation.outcome.message, hint: observation.hint }, 'probe failed');
    if (this.complete()) await this.queueEmit([observation]);
    for (const resolve of slot.current.splice(0)) resolve();
    if (slot.again) {
      slot.again = false;
      slot.current.push(...slot.next.splice(0));
      void this.run(slot);
      return;
    }
    if (this.active) {
      slot.timer = setTimeout(() => void this.request(slot), this.delayMs(slot.definition));
      slot.timer.unref?.();
    }
  }

  /** Soon while hysteresis is deciding, often while failing, otherwise every interval. */
  private delayMs(probe: ProbeDefinition): number {
    const { config } = this.options;
    const history = this.state.histories[probe.id];
    const interval = probe.intervalSeconds?.(config) ?? config.probe.intervalSeconds;
    if (history && unsettled(history)) return config.probe.recheckSeconds * 1000;
    if (history?.failing) return Math.min(config.probe.failingIntervalSeconds, interval) * 1000;
    return interval * 1000;
  }

  /** Whether every probe has run once: before that, a verdict would leave some out. */
  private complete(): boolean {
    for (const id of this.slots.keys()) if (!this.state.histories[id]) return false;
    return true;
  }

  private queueEmit(observations: Observation[]): Promise<void> {
    this.emitting = this.emitting.then(() => this.emit(observations)).catch(() => undefined);
    return this.emitting;
  }

  private async emit(observations: Observation[]): Promise<void> {
    const { logger, metrics } = this.options;
    const leader = this.options.isLeader();
    const previous = this.last;
    const reduced = documentOf(this.state, [...this.slots.keys()], {
      hysteresis: this.hysteresis(),
      ...this.severities,
      now: this.now(),
      reporter: this.options.identity,
      leader,
    });
    this.state = reduced.state;
    const document = this.diagnosed(reduced.document);
    this.last = document;
    this.resolveFirstVerdict();
    metrics?.recordRun(document, observations, leader);
    const line = { run: document.run, verdict: document.verdict, failing: document.failing, probe: observations.map((observation) => observation.probe).join(','), leader };
    if (previous && previous.verdict !== document.verdict) logger.warn({ ...line, was: previous.verdict }, 'probe verdict changed');
    else if (previous && failingChange(previous.failing, document.failing)) {
      metrics?.failingSetChanged(document.verdict);
      logger.info({ ...line, cause: document.cause?.message }, 'failing probes changed');
    }
    else logger.debug(line, 'probe verdict');
    try {
      await this.options.onVerdict?.(document, previous);
    } catch (err) {
      logger.warn({ err: (err as Error).message }, 'verdict not recorded');
    }
  }

  private hysteresis(): Hysteresis {
    const { config } = this.options;
    return this.options.hysteresis ?? { failuresToUnhealthy: config.probe.failuresToUnhealthy, successesToHealthy: config.probe.successesToHealthy };
  }

  /** One run of one probe; a leader-only probe on a replica that does not lead copies the leader's result when it can. */
  private async observeOne(probe: ProbeDefinition): Promise<Observation> {
    const leader = this.options.isLeader();
    const leaderVerdict = probe.leaderOnly && !leader ? await this.publishedVerdict() : undefined;
    const observation = this.copied(probe, leaderVerdict) ?? (await this.observe(probe, leader));
    return { ...observation, at: this.now() };
  }

  /** The leader's published verdict when it is fresh enough for the gate; undefined otherwise (then the probe runs here). */
  private async publishedVerdict(): Promise<VerdictDocument | undefined> {
    const { config, logger } = this.options;
    if (!config.probe.publish) return undefined;
    try {
      const document = await readPublishedVerdict(this.options.api.as('leader-verdict'), this.runAbort.signal);
      if (!document) return undefined;
      return verdictAgeSeconds(document, this.now()) <= config.policies['probe-gate'].maxVerdictAgeSeconds ? document : undefined;
    } catch (err) {
      logger.debug({ err: (err as Error).message }, 'leader\'s ProbeVerdict not read; running leader-only probes here');
      return undefined;
    }
  }

  /** A leader-only probe's result as the leader published it, taken as settled (the leader applied hysteresis). */
  private copied(probe: ProbeDefinition, leaderVerdict: VerdictDocument | undefined): Observation | undefined {
    if (!probe.leaderOnly || !leaderVerdict) return undefined;
    const result = leaderVerdict.probes.find((candidate) => candidate.probe === probe.id);
    if (!result || result.status === 'Skipped') return undefined;
    const failing = result.status === 'Failing';
    const outcome: ProbeOutcome = {
      ok: !failing,
      settled: true,
      message: `${result.message} (as the leader ${leaderVerdict.reporter || '?'} saw it at ${result.checkedAt})`,
      ...(failing ? { severity: severityOf(result) } : {}),
    };
    return { probe: probe.id, outcome, latencyMs: 0, ...(failing && result.hint ? { hint: result.hint } : {}) };
  }

  private async observe(probe: ProbeDefinition, leader: boolean): Promise<Observation> {
    const { config } = this.options;
    const timeoutSeconds = probe.timeoutSeconds?.(config) ?? config.probe.timeoutSeconds;
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(new Error(`context deadline exceeded: ${probe.id} ran past its ${timeoutSeconds} s timeout`)), timeoutSeconds * 1000);
    let abandon: NodeJS.Timeout | undefined;
    const context: ProbeContext = {
      api: this.options.api.as(probe.id),
      config,
      signal: AbortSignal.any([deadline.signal, this.runAbort.signal]),
      now: this.now,
      isLeader: leader,
      inCluster: this.options.inCluster,
      cache: this.options.cache,
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
    const hint = probe.hint ? probe.hint(outcome) : hintFor(probe.id, outcome);
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
