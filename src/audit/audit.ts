import type { AdmissionRequest, KubeObject, UserInfo } from '../kube/types.js';
import type { ClusterState } from '../cluster/state.js';
import type { EnforcementAction, LeveeConfig } from '../config.js';
import { LeveeError } from '../errors.js';
import type { PolicyEvaluator } from '../engine/evaluator.js';
import type { OverrideAuthorizer } from '../engine/overrides.js';
import { judge } from '../engine/pipeline.js';
import { POLICIES } from '../policies/registry.js';
import type { JudgedKind } from '../policies/types.js';
import { withNamespace } from './offline-state.js';

export interface ObjectRef {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
}

export interface AuditFinding {
  policy: string;
  rule: string;
  action: EnforcementAction;
  overridden: boolean;
  message: string;
  object: ObjectRef;
  source: string;
  /** Why an override annotation on the object did not lift this finding (`override ignored: ...`). */
  overrideIgnored?: string[];
}

/** Input that could not be judged: a file or document that does not parse, or an object kubectl would refuse. */
export interface AuditProblem {
  source: string;
  message: string;
}

export interface AuditReport {
  objects: number;
  judged: number;
  /** Objects of kinds no policy judges, by kind. */
  skipped: Record<string, number>;
  /** YAML or JSON documents that are not Kubernetes objects (package.json, Helm values, ...). */
  notKubernetes: number;
  /** Files skipped as templates (Helm chart sources). */
  templates: number;
  findings: AuditFinding[];
  problems: AuditProblem[];
  /** What the reader should know about the input: templates to render, empty input, ... */
  notes: string[];
}

/** One object to judge and where it came from (`file:line`, `<stdin>:line` or `cluster:<resource>`). */
export interface SourcedObject {
  object: KubeObject;
  source: string;
}

export interface AuditDeps {
  evaluator: PolicyEvaluator;
  cluster: ClusterState;
  config: LeveeConfig;
  authorizer: OverrideAuthorizer;
  user: UserInfo;
  namespace: string;
  now: () => Date;
  /** The live object, when judging against a cluster: the input is then an UPDATE of it. */
  liveObject?: (object: KubeObject) => Promise<KubeObject | null>;
}

export function emptyReport(): AuditReport {
  return { objects: 0, judged: 0, skipped: {}, notKubernetes: 0, templates: 0, findings: [], problems: [], notes: [] };
}

/** The kind an object is judged as, or undefined; with a configuration, kinds found by group too (control planes of any provider). */
export function judgedKind(object: KubeObject, config?: LeveeConfig): JudgedKind | undefined {
  const [group, version] = (object.apiVersion ?? '').includes('/') ? object.apiVersion!.split('/') : ['', object.apiVersion ?? ''];
  for (const policy of POLICIES) {
    const found = policy.kinds.find((kind) => kind.kind === object.kind && kind.group === group) ?? (config && object.kind ? policy.judgedKindOf?.(group ?? '', object.kind, config) : undefined);
    if (found) return { ...found, version: version ?? found.version };
  }
  return undefined;
}

/** Counts an object that is not judged, by kind. */
export function countSkipped(report: AuditReport, object: KubeObject): void {
  report.objects++;
  const name = object.kind ?? 'unknown';
  report.skipped[name] = (report.skipped[name] ?? 0) + 1;
}

/**
 * Judges every input object as if it were applied, with the webhook's own pipeline, adding
 * its findings to `report`. Objects of kinds no policy judges are counted as skipped.
 */
export async function judgeObjects(inputs: Iterable<SourcedObject> | AsyncIterable<SourcedObject>, deps: AuditDeps, report: AuditReport): Promise<void> {
  for await (const { object: raw, source } of inputs) {
    const kind = judgedKind(raw, deps.config);
    if (!kind) {
      countSkipped(report, raw);
      continue;
    }
    report.objects++;
    report.judged++;
    const object = kind.namespaced ? withNamespace(raw, deps.namespace) : raw;
    const live = deps.liveObject ? await deps.liveObject(object) : null;
    const judgement = await judge(deps, requestFor(object, live, kind, deps.user), 'validate');
    if (judgement.error) throw new LeveeError(judgement.error.code, `${source}: ${judgement.error.message}`);
    const ref: ObjectRef = {
      apiVersion: object.apiVersion ?? '',
      kind: object.kind ?? '',
      ...(object.metadata?.namespace ? { namespace: object.metadata.namespace } : {}),
      name: object.metadata?.name ?? object.metadata?.generateName ?? '',
    };
    const ignored = judgement.decision?.overrides.ignored ?? [];
    for (const finding of judgement.decision?.findings ?? []) {
      // An override that did not apply is told on the findings it meant to lift; one naming
      // no known policy is told on every deny-level finding of the object.
      const why = finding.action === 'deny' && !finding.overridden ? ignored.filter((note) => note.policy === finding.policy || !isPolicyId(note.policy)).map((note) => note.why) : [];
      report.findings.push({
        policy: finding.policy,
        rule: finding.rule,
        action: finding.action,
        overridden: finding.overridden === true,
        message: finding.message,
        object: ref,
        source,
        ...(why.length > 0 ? { overrideIgnored: why } : {}),
      });
    }
  }
}

function isPolicyId(id: string): boolean {
  return POLICIES.some((policy) => policy.id === id);
}

let sequence = 0;

function requestFor(object: KubeObject, live: KubeObject | null, kind: JudgedKind, user: UserInfo): AdmissionRequest {
  return {
    uid: `audit-${++sequence}`,
    kind: { group: kind.group, version: kind.version, kind: kind.kind },
    resource: { group: kind.group, version: kind.version, resource: kind.resource },
    ...(object.metadata?.name ? { name: object.metadata.name } : {}),
    ...(object.metadata?.namespace ? { namespace: object.metadata.namespace } : {}),
    operation: live ? 'UPDATE' : 'CREATE',
    userInfo: user,
    object,
    oldObject: live,
    dryRun: true,
  };
}

/**
 * The exit code CI reads (contract): 2 when part of the input could not be read or judged,
 * else 1 when anything would be refused, else 0. An error is never 1.
 */
export function exitCodeOf(report: AuditReport): 0 | 1 | 2 {
  if (report.problems.length > 0) return 2;
  return report.findings.some((finding) => finding.action === 'deny' && !finding.overridden) ? 1 : 0;
}
