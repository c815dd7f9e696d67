import type { AdmissionRequest } from '../admission/types.js';
import type { EnforcementAction, LeveeConfig, PolicyId } from '../config.js';
import type { Violation } from './evaluator.js';

export interface Finding {
  policy: string;
  rule: string;
  action: EnforcementAction;
  message: string;
  details?: Record<string, unknown>;
}

export interface Decision {
  allowed: boolean;
  findings: Finding[];
  /** Findings at deny level: the reasons for a refusal. */
  denials: Finding[];
  /** Text for the AdmissionResponse `warnings`, which kubectl prints. */
  warnings: string[];
}

/** Per-rule actions override the policy's action (e.g. scale-to-zero's autoscaler rule warns by default). */
export function actionFor(config: LeveeConfig, violation: Violation): EnforcementAction {
  const policy = config.policies[violation.policy as PolicyId] as { action: EnforcementAction; rules?: Record<string, EnforcementAction> } | undefined;
  if (!policy) return 'deny';
  return policy.rules?.[violation.rule] ?? policy.action;
}

export function decide(config: LeveeConfig, violations: readonly Violation[]): Decision {
  const findings = violations.map((violation): Finding => ({ ...violation, action: actionFor(config, violation) }));
  const denials = findings.filter((finding) => finding.action === 'deny');
  const warnings = findings.filter((finding) => finding.action === 'warn').map((finding) => warningText(finding));
  return { allowed: denials.length === 0, findings, denials, warnings };
}

/** The message a refused user reads: every deny-level finding, each tagged with its policy id. */
export function denialMessage(decision: Decision): string {
  const reasons = decision.denials.map((finding) => `[${finding.policy}] ${finding.message}`);
  return `levee denied this request: ${reasons.join('; ')}`;
}

// The API server may truncate warnings past 256 characters.
const WARNING_LIMIT = 256;

function warningText(finding: Finding): string {
  const text = `levee [${finding.policy}] ${finding.message}`;
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
