import type { AdmissionRequest, KubeObject, UserInfo } from '../kube/types.js';
import type { ClusterState } from '../cluster/state.js';
import type { EnforcementAction, LeveeConfig } from '../config.js';
import { LeveeError } from '../errors.js';
import type { PolicyEvaluator } from '../engine/evaluator.js';
import type { OverrideAuthorizer } from '../engine/overrides.js';
import { judge } from '../engine/pipeline.js';
import { POLICIES } from '../policies/registry.js';
import type { JudgedKind } from '../policies/types.js';
import type { ManifestObject } from './manifests.js';
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
}

export interface AuditReport {
  objects: number;
  judged: number;
  /** Objects of kinds no policy judges, by kind. */
  skipped: Record<string, number>;
  findings: AuditFinding[];
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

function judgedKind(object: KubeObject): JudgedKind | undefined {
  const [group, version] = (object.apiVersion ?? '').includes('/') ? object.apiVersion!.split('/') : ['', object.apiVersion ?? ''];
  for (const policy of POLICIES) {
    const found = policy.kinds.find((kind) => kind.kind === object.kind && kind.group === group);
    if (found) return { ...found, version: version ?? found.version };
  }
  return undefined;
}

/** Judges every input object as if it were applied, with the webhook's own pipeline. */
export async function auditObjects(inputs: Iterable<ManifestObject> | AsyncIterable<ManifestObject>, deps: AuditDeps): Promise<AuditReport> {
  const report: AuditReport = { objects: 0, judged: 0, skipped: {}, findings: [] };
  for await (const { object: raw, source } of inputs) {
    report.objects++;
    const kind = judgedKind(raw);
    if (!kind) {
      const name = raw.kind ?? 'unknown';
      report.skipped[name] = (report.skipped[name] ?? 0) + 1;
      continue;
    }
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
    for (const finding of judgement.decision?.findings ?? []) {
      report.findings.push({
        policy: finding.policy,
        rule: finding.rule,
        action: finding.action,
        overridden: finding.overridden === true,
        message: finding.message,
        object: ref,
        source,
      });
    }
  }
  return report;
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

/** 1 when anything would be refused, else 0 (2 is for usage and input errors, raised elsewhere). */
export function exitCodeOf(report: AuditReport): number {
  return report.findings.some((finding) => finding.action === 'deny' && !finding.overridden) ? 1 : 0;
}
