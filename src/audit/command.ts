import { clusterOptionsFrom } from '../cluster/options.js';
import type { LeveeConfig } from '../config.js';
import { readBundle } from '../engine/bundle.js';
import { PolicyEvaluator } from '../engine/evaluator.js';
import { offlineAuthorizer } from '../engine/overrides.js';
import { LeveeError } from '../errors.js';
import type { Logger } from '../logger.js';
import { countSkipped, emptyReport, exitCodeOf, judgedKind, judgeObjects, type AuditReport, type SourcedObject } from './audit.js';
import { InputBudget } from './limits.js';
import { OfflineState } from './offline-state.js';
import { readInputs } from './reading.js';
import { renderJson } from './reporters/json.js';
import { renderJunit } from './reporters/junit.js';
import { renderSarif } from './reporters/sarif.js';
import { renderTable } from './reporters/table.js';

export const OUTPUTS = ['table', 'json', 'junit', 'sarif'] as const;
export type AuditOutput = (typeof OUTPUTS)[number];

export interface AuditOptions {
  files: string[];
  cluster: boolean;
  namespace: string;
  output: AuditOutput;
  colour: boolean;
  maxBytes?: number;
  /** Called with a progress line while the live cluster is listed (only when stderr is a terminal). */
  progress?: (line: string) => void;
  readStdin?: (budget: InputBudget) => Promise<Buffer>;
}

export interface AuditResult {
  /** The report, for stdout. */
  text: string;
  /** Lines for stderr: input that could not be judged, and notes about the input. */
  diagnostics: string[];
  exitCode: 0 | 1 | 2;
  report: AuditReport;
}

/** `levee audit`: the report, what to tell on stderr, and the exit code (0 clean, 1 deny-level findings, 2 input or levee failed). */
export async function runAudit(options: AuditOptions, config: LeveeConfig, logger: Logger): Promise<AuditResult> {
  if (options.files.length === 0 && !options.cluster) {
    throw new LeveeError('AUDIT_USAGE', 'nothing to audit: give -f <file|dir|-> (as if applied) and/or --cluster (live objects)');
  }
  const evaluator = await PolicyEvaluator.load(readBundle(config.bundlePath), { config: { policies: config.policies } });
  const base = { evaluator, config, namespace: options.namespace, now: () => new Date() };
  const report = emptyReport();
  const offline = options.cluster ? undefined : new OfflineState(options.namespace, clusterOptionsFrom(config));
  const toJudge = await gather(options, config, report, offline);

  if (offline) {
    await judgeObjects(toJudge.objects(), { ...base, cluster: offline.finish(), authorizer: offlineAuthorizer, user: { username: 'levee-audit', groups: [] } }, report);
  } else {
    // Loaded only here: the API client is large, and an offline audit never needs it.
    const { auditLiveCluster } = await import('./live.js');
    await auditLiveCluster({ config, logger, base, inputs: [...toJudge.objects()], report, ...(options.progress ? { progress: options.progress } : {}) });
  }
  if (report.objects === 0 && report.problems.length === 0 && report.templates === 0) {
    report.notes.push(`no Kubernetes object found in ${options.files.length > 0 ? options.files.map((file) => (file === '-' ? 'stdin' : file)).join(', ') : 'the cluster'}`);
  }
  return { text: render(report, options), diagnostics: diagnosticsOf(report), exitCode: exitCodeOf(report), report };
}

/**
 * Objects waiting to be judged, kept as JSON text: the whole input must be read (it is the
 * context) before the first object is judged, and text takes a third of the memory of the
 * parsed object.
 */
class PendingObjects {
  private readonly pending: Array<{ json: string; source: string }> = [];

  add({ object, source }: SourcedObject): void {
    this.pending.push({ json: JSON.stringify(object), source });
  }

  *objects(): Generator<SourcedObject> {
    for (let i = 0; i < this.pending.length; i++) {
      const { json, source } = this.pending[i]!;
      yield { object: JSON.parse(json) as SourcedObject['object'], source };
    }
  }
}

/** Reads every -f input: objects to judge come back, the rest is counted in `report` (and, offline, feeds the state). */
async function gather(options: AuditOptions, config: LeveeConfig, report: AuditReport, offline: OfflineState | undefined): Promise<PendingObjects> {
  const toJudge = new PendingObjects();
  const charts = new Map<string, number>();
  const budget = new InputBudget(options.maxBytes);
  const inputs = readInputs(options.files, { budget, isJudgedKind: (object) => judgedKind(object, config) !== undefined, ...(options.readStdin ? { readStdin: options.readStdin } : {}) });
  for await (const input of inputs) {
    switch (input.kind) {
      case 'object':
        offline?.add(input.object);
        if (judgedKind(input.object, config)) toJudge.add(input);
        else countSkipped(report, input.object);
        break;
      case 'other':
        report.notKubernetes++;
        if (/^Kustomization without/.test(input.what)) {
          report.notes.push(`${input.source} is a kustomization: to audit what it builds, run \`kubectl kustomize <its directory> | levee audit -f -\``);
        }
        break;
      case 'problem':
        report.problems.push({ source: input.source, message: input.message });
        break;
      case 'template':
        report.templates++;
        if (input.chart !== undefined) charts.set(input.chart, (charts.get(input.chart) ?? 0) + 1);
        else report.notes.push(`${input.file} holds template actions ({{ }}) and is not valid YAML: skipped; render it first and pipe the result in, e.g. \`helm template <chart> | levee audit -f -\``);
        break;
    }
  }
  for (const [chart, files] of charts) {
    report.notes.push(`skipped ${files} Helm chart source file(s) in ${chart}/templates: to audit the chart, run \`helm template ${chart} | levee audit -f -\``);
  }
  return toJudge;
}

function render(report: AuditReport, options: AuditOptions): string {
  switch (options.output) {
    case 'json':
      return renderJson(report);
    case 'junit':
      return renderJunit(report);
    case 'sarif':
      return renderSarif(report);
    case 'table':
      return renderTable(report, options.colour);
  }
}

function diagnosticsOf(report: AuditReport): string[] {
  return [
    ...report.problems.map((problem) => `${problem.source}: ${problem.message}`),
    ...report.notes.map((note) => `note: ${note}`),
  ];
}
