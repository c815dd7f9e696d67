import { emptyReport, type AuditReport } from '../audit/audit.js';
import { auditLiveCluster } from '../audit/live.js';
import type { LeveeConfig } from '../config.js';
import { readBundle } from '../engine/bundle.js';
import { PolicyEvaluator } from '../engine/evaluator.js';
import type { Logger } from '../logger.js';
import type { KubeApi } from '../probe/kube-api.js';
import { buildReports } from './openreports.js';
import { ReportWriter, type WriteOutcome } from './writer.js';

export interface ReportScheduleOptions {
  config: LeveeConfig;
  logger: Logger;
  api: KubeApi;
  /** Only the elected leader audits and writes; followers wait. */
  isLeader: () => boolean;
  /** The live audit (tests give their own). */
  audit?: () => Promise<AuditReport>;
  now?: () => Date;
}

export type RunResult =
  | { ran: false; why: 'not leader' | 'not installed' | 'busy' | 'stopped' }
  | { ran: true; findings: number; judged: number; outcome: WriteOutcome; seconds: number };

/** How often the schedule looks whether a run is due (and whether this replica leads). */
const TICK_MS = 5000;

/**
 * The leader's periodic live audit, written as openreports.io Reports: every
 * `reports.intervalSeconds` while this replica leads, the first one interval after start. Runs never overlap; one that fails is
 * logged and retried at the next interval; a replica that lost the lead while auditing does
 * not write. While the openreports.io CRDs are not installed nothing is audited.
 */
export class ReportSchedule {
  private readonly options: ReportScheduleOptions;
  private readonly writer: ReportWriter;
  private readonly now: () => Date;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private stopped = false;
  private lastRunAt = 0;
  private warnedNotInstalled = false;
  private evaluator: Promise<PolicyEvaluator> | undefined;

  constructor(options: ReportScheduleOptions) {
    this.options = options;
    this.writer = new ReportWriter(options.api, options.logger);
    this.now = options.now ?? (() => new Date());
  }

  start(): void {
    this.stopped = false;
    // The first run one interval after start, not at once: a restarted replica (a rollout, a
    // crash loop) does not audit the whole cluster every time it comes up.
    this.lastRunAt = this.now().getTime();
    const tick = (): void => {
      if (this.stopped) return;
      const due = this.now().getTime() - this.lastRunAt >= this.options.config.reports.intervalSeconds * 1000;
      const run = due && this.options.isLeader() ? this.runOnce() : Promise.resolve();
      void run.catch(() => undefined).finally(() => {
        if (!this.stopped) this.timer = setTimeout(tick, TICK_MS).unref();
      });
    };
    tick();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /** One audit and write, now (when this replica leads). */
  async runOnce(): Promise<RunResult> {
    const { logger } = this.options;
    if (this.running) return { ran: false, why: 'busy' };
    if (!this.options.isLeader()) return { ran: false, why: 'not leader' };
    this.running = true;
    const started = performance.now();
    this.lastRunAt = this.now().getTime();
    try {
      if (!(await this.writer.installed())) {
        if (!this.warnedNotInstalled) logger.warn('openreports.io CRDs are not installed: no Reports written (install them, or set reports.enabled: false)');
        this.warnedNotInstalled = true;
        return { ran: false, why: 'not installed' };
      }
      this.warnedNotInstalled = false;
      const at = this.now();
      const audit = await (this.options.audit ?? (() => this.liveAudit()))();
      if (this.stopped) return { ran: false, why: 'stopped' };
      if (!this.options.isLeader()) return { ran: false, why: 'not leader' };
      const desired = buildReports(audit.findings, { maxResults: this.options.config.reports.maxResultsPerReport, at });
      const outcome = await this.writer.apply(desired);
      const seconds = (performance.now() - started) / 1000;
      logger.info(
        { findings: audit.findings.length, judged: audit.judged, namespaces: desired.namespaced.size, ...outcome, failed: outcome.failed.length, seconds: Number(seconds.toFixed(2)) },
        'Reports written',
      );
      return { ran: true, findings: audit.findings.length, judged: audit.judged, outcome, seconds };
    } catch (err) {
      logger.warn({ err: (err as Error).message }, 'live audit for Reports failed; retried next interval');
      throw err;
    } finally {
      this.running = false;
    }
  }

  private async liveAudit(): Promise<AuditReport> {
    const { config, logger } = this.options;
    this.evaluator ??= PolicyEvaluator.load(readBundle(config.bundlePath), { config: { policies: config.policies } });
    // A bundle that failed to load is read again next run, not remembered as failed.
    const evaluator = await this.evaluator.catch((err: unknown) => {
      this.evaluator = undefined;
      throw err;
    });
    const report = emptyReport();
    const base = { evaluator, config, namespace: 'default', now: this.now };
    await auditLiveCluster({ config, logger, base, inputs: [], report });
    return report;
  }
}
