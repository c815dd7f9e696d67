import type { UserInfo } from '../kube/types.js';
import { POLICY_IDS, type PolicyId } from '../config.js';

/**
 * Overrides (contract): on the object, `levee.dev/override` lists policy ids,
 * `levee.dev/override-reason` says why, `levee.dev/override-expires` says until when
 * (RFC 3339, at most the configured maximum ahead). It counts only when the requesting
 * user may `override` that policy (a SubjectAccessReview); the annotation alone never
 * lets anyone through.
 */

export const OVERRIDE_ANNOTATION = 'levee.dev/override';
export const REASON_ANNOTATION = 'levee.dev/override-reason';
export const EXPIRES_ANNOTATION = 'levee.dev/override-expires';
export const OVERRIDDEN_BY = 'levee.dev/overridden-by';
export const OVERRIDDEN_AT = 'levee.dev/overridden-at';

/** The stamps an honoured override leaves: who, and when to the second (RFC 3339). */
export function overrideStamps(username: string, at: Date): Record<string, string> {
  return { [OVERRIDDEN_BY]: username, [OVERRIDDEN_AT]: at.toISOString().replace(/\.\d{3}Z$/, 'Z') };
}

export interface Authorization {
  allowed: boolean;
  reason?: string;
}

/** Answers "may this user override this policy?"; the real one asks the API server. */
export interface OverrideAuthorizer {
  mayOverride(user: UserInfo, policy: PolicyId): Promise<Authorization>;
}

/** For places with no API server (offline audit): nothing can be authorized. */
export const offlineAuthorizer: OverrideAuthorizer = {
  mayOverride: async () => ({ allowed: false, reason: 'authorization cannot be checked without a cluster' }),
};

export interface OverrideOutcome {
  honoured: Array<{ policy: PolicyId; reason: string; expires: string }>;
  ignored: Array<{ policy: string; why: string }>;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

export function hasOverride(annotations: Readonly<Record<string, string>> | undefined): boolean {
  return annotations?.[OVERRIDE_ANNOTATION] !== undefined;
}

/**
 * Decides which of `deniedPolicies` an override on the object lifts. Only policies that
 * would otherwise deny are considered, so the API server is asked only when an override
 * would change the answer.
 */
export async function resolveOverrides(options: {
  annotations: Readonly<Record<string, string>> | undefined;
  deniedPolicies: ReadonlySet<string>;
  user: UserInfo;
  now: Date;
  maxHours: number;
  authorizer: OverrideAuthorizer;
}): Promise<OverrideOutcome> {
  const outcome: OverrideOutcome = { honoured: [], ignored: [] };
  const { annotations, deniedPolicies, now } = options;
  if (!annotations || !hasOverride(annotations) || deniedPolicies.size === 0) return outcome;

  const requested = (annotations[OVERRIDE_ANNOTATION] ?? '').split(',').map((id) => id.trim()).filter(Boolean);
  const unknown = requested.filter((id) => !(POLICY_IDS as readonly string[]).includes(id));
  for (const id of unknown) outcome.ignored.push({ policy: id, why: `unknown policy "${id}" (known: ${POLICY_IDS.join(', ')})` });
  const relevant = requested.filter((id): id is PolicyId => deniedPolicies.has(id) && !unknown.includes(id));
  if (relevant.length === 0) return outcome;

  const problem = annotationProblem(annotations, now, options.maxHours);
  if (problem) {
    for (const policy of relevant) outcome.ignored.push({ policy, why: problem });
    return outcome;
  }
  const reason = annotations[REASON_ANNOTATION]!.trim();
  const expires = annotations[EXPIRES_ANNOTATION]!;
  for (const policy of relevant) {
    const authorization = await options.authorizer.mayOverride(options.user, policy);
    if (authorization.allowed) {
      outcome.honoured.push({ policy, reason, expires });
    } else {
      const who = options.user.username || 'this user';
      const detail = authorization.reason ? ` (${authorization.reason})` : '';
      outcome.ignored.push({
        policy,
        why: `not authorized: ${who} may not override ${policy}${detail}; an admin can grant the levee-override ClusterRole`,
      });
    }
  }
  return outcome;
}

/** Why the reason/expiry annotations make the override invalid, or undefined when they are fine. */
export function annotationProblem(annotations: Readonly<Record<string, string>>, now: Date, maxHours: number): string | undefined {
  const reason = annotations[REASON_ANNOTATION]?.trim();
  if (!reason) return `no reason given: set ${REASON_ANNOTATION}`;
  const expires = annotations[EXPIRES_ANNOTATION];
  if (!expires) return `no expiry given: set ${EXPIRES_ANNOTATION} to an RFC 3339 time at most ${maxHours}h ahead`;
  const at = RFC3339.test(expires) ? Date.parse(expires) : Number.NaN;
  if (Number.isNaN(at)) return `malformed expiry "${expires}": ${EXPIRES_ANNOTATION} must be an RFC 3339 time such as 2026-01-02T15:04:05Z`;
  if (at <= now.getTime()) return `expired at ${expires}`;
  if (at - now.getTime() > maxHours * 3_600_000) return `expiry ${expires} is more than ${maxHours}h ahead; the maximum is ${maxHours}h`;
  return undefined;
}
