import type { AdmissionRequest } from '../kube/types.js';
import type { EnforcementAction, LeveeConfig, PolicyId } from '../config.js';
import type { Violation } from './evaluator.js';
import type { OverrideOutcome } from './overrides.js';

export interface Finding {
  policy: string;
  rule: string;
  action: EnforcementAction;
  message: string;
  details?: Record<string, unknown>;
  /** A deny-level finding lifted by an authorized override. */
  overridden?: boolean;
}

export interface Decision {
  allowed: boolean;
  findings: Finding[];
  /** Findings at deny level: the reasons for a refusal. */
  denials: Finding[];
  /** Text for the AdmissionResponse `warnings`, which kubectl prints. */
  warnings: string[];
  overrides: OverrideOutcome;
  /** Reasons to refuse that no policy gives and no override lifts: stamps only levee writes, changed by the request. */
  refusals: string[];
}

const NO_OVERRIDES: OverrideOutcome = { honoured: [], ignored: [] };

/** Per-rule actions override the policy's action (e.g. scale-to-zero's autoscaler rule warns by default). */
export function actionFor(config: LeveeConfig, violation: Violation): EnforcementAction {
  const policy = config.policies[violation.policy as PolicyId] as { action: EnforcementAction; rules?: Record<string, EnforcementAction> } | undefined;
  if (!policy) return 'deny';
  return policy.rules?.[violation.rule] ?? policy.action;
}

/** Findings with their actions, before any override is considered. */
export function findingsOf(config: LeveeConfig, violations: readonly Violation[]): Finding[] {
  return violations.map((violation): Finding => ({ ...violation, action: actionFor(config, violation) }));
}

export function deniedPolicies(findings: readonly Finding[]): Set<string> {
  return new Set(findings.filter((finding) => finding.action === 'deny').map((finding) => finding.policy));
}

export function decide(findings: readonly Finding[], overrides: OverrideOutcome = NO_OVERRIDES, refusals: readonly string[] = []): Decision {
  const lifted = new Set<string>(overrides.honoured.map((override) => override.policy));
  const judged = findings.map((finding): Finding => (finding.action === 'deny' && lifted.has(finding.policy) ? { ...finding, overridden: true } : finding));
  const denials = judged.filter((finding) => finding.action === 'deny' && !finding.overridden);
  const warnings = [
    ...judged.filter((finding) => finding.action === 'warn').map((finding) => warningText(`[${finding.policy}] ${finding.message}`)),
    ...overrides.honoured.map((override) => warningText(`[${override.policy}] overridden until ${override.expires} by ${override.author}: ${override.reason}`)),
  ];
  return { allowed: denials.length === 0 && refusals.length === 0, findings: judged, denials, warnings, overrides, refusals: [...refusals] };
}

/** The message a refused user reads: every deny-level finding tagged with its policy id, other reasons, and why an override did not apply. */
export function denialMessage(decision: Decision): string {
  const reasons = decision.denials.map((finding) => `[${finding.policy}] ${finding.message}`);
  const ignored = decision.overrides.ignored.map((note) => `override ignored: ${note.why}`);
  return `levee denied this request: ${[...reasons, ...decision.refusals, ...ignored].join('; ')}`;
}

/** The API server may truncate warnings past 256 characters. */
export const WARNING_LIMIT = 256;

function warningText(body: string): string {
  return clipWarning(`levee ${body}`);
}

/** A warning cut to WARNING_LIMIT, marked where it was cut. */
export function clipWarning(text: string): string {
  return text.length <= WARNING_LIMIT ? text : `${text.slice(0, WARNING_LIMIT - 3)}...`;
}

/** Policies that do not judge this request at all: levee's namespace, configured exemptions. */
export function exemptPolicies(config: LeveeConfig, request: AdmissionRequest): Set<PolicyId> {
  const exempt = new Set<PolicyId>();
  const namespace = request.namespace ?? '';
  const matches = (rules: { namespaces: readonly string[]; users: readonly string[]; groups: readonly string[] }): boolean =>
    (namespace !== '' && rules.namespaces.includes(namespace)) ||
    rules.users.includes(request.userInfo.username) ||
    request.userInfo.groups.some((group) => rules.groups.includes(group));
  const everything = namespace === config.leveeNamespace || matches(config.exempt);
  for (const [id, policy] of Object.entries(config.policies) as Array<[PolicyId, { exempt: Parameters<typeof matches>[0] }]>) {
    if (everything || matches(policy.exempt)) exempt.add(id);
  }
  return exempt;
}
