import type { UserInfo } from '../kube/types.js';
import { userKey } from '../kube/identities.js';
import { POLICY_IDS, type PolicyId } from '../config.js';
import type { Author } from './authorship.js';

/**
 * Overrides (contract): on the object, `levee.dev/override` lists policy ids,
 * `levee.dev/override-reason` says why, `levee.dev/override-expires` says until when
 * (RFC 3339, at most the configured maximum ahead). It counts only when the user who set
 * it may `override` that policy (a SubjectAccessReview) and is not an automation identity;
 * the annotation alone never lets anyone through.
 */

export const OVERRIDE_ANNOTATION = 'levee.dev/override';
export const REASON_ANNOTATION = 'levee.dev/override-reason';
export const EXPIRES_ANNOTATION = 'levee.dev/override-expires';
export const OVERRIDDEN_BY = 'levee.dev/overridden-by';
export const OVERRIDDEN_AT = 'levee.dev/overridden-at';

/** The stamps an honoured override leaves on the object: whose override, and when to the second (RFC 3339). */
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

export interface HonouredOverride {
  policy: PolicyId;
  reason: string;
  expires: string;
  /** Who set the override, on whose right it counts: the requester, or the author levee recorded. */
  author: string;
}

export interface OverrideOutcome {
  honoured: HonouredOverride[];
  ignored: Array<{ policy: string; why: string }>;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

export function hasOverride(annotations: Readonly<Record<string, string>> | undefined): boolean {
  return annotations?.[OVERRIDE_ANNOTATION] !== undefined;
}

/** The known policy ids an override names, in the order written. */
export function overriddenPolicies(annotations: Readonly<Record<string, string>> | undefined): PolicyId[] {
  return requestedIds(annotations).filter((id): id is PolicyId => (POLICY_IDS as readonly string[]).includes(id));
}

function requestedIds(annotations: Readonly<Record<string, string>> | undefined): string[] {
  return (annotations?.[OVERRIDE_ANNOTATION] ?? '').split(',').map((id) => id.trim()).filter(Boolean);
}

/**
 * Decides which of `deniedPolicies` an override on the object lifts. It counts only when its
 * author is known (engine/authorship.ts), is not an automation identity, and may override the
 * policy now, and the requesting user may override it too. Only policies that would otherwise deny are considered, so the API server is
 * asked only when an override would change the answer.
 */
export async function resolveOverrides(options: {
  annotations: Readonly<Record<string, string>> | undefined;
  deniedPolicies: ReadonlySet<string>;
  author: Author;
  /** Who sent the request that needs the override; they must be allowed to override too. */
  requester: UserInfo;
  /** What in the configured automation identities a user matches, if anything. */
  automation: (user: UserInfo) => string | undefined;
  now: Date;
  maxHours: number;
  authorizer: OverrideAuthorizer;
}): Promise<OverrideOutcome> {
  const outcome: OverrideOutcome = { honoured: [], ignored: [] };
  const { annotations, deniedPolicies, now, author } = options;
  if (!annotations || !hasOverride(annotations) || deniedPolicies.size === 0) return outcome;

  const requested = requestedIds(annotations);
  const unknown = requested.filter((id) => !(POLICY_IDS as readonly string[]).includes(id));
  for (const id of unknown) outcome.ignored.push({ policy: id, why: `unknown policy "${id}" (known: ${POLICY_IDS.join(', ')})` });
  const relevant = requested.filter((id): id is PolicyId => deniedPolicies.has(id) && !unknown.includes(id));
  if (relevant.length === 0) return outcome;

  const problem = annotationProblem(annotations, now, options.maxHours) ?? authorProblem(author, options.automation);
  if (problem || author.source === 'unknown') {
    for (const policy of relevant) outcome.ignored.push({ policy, why: problem ?? UNKNOWN_AUTHOR });
    return outcome;
  }
  const reason = annotations[REASON_ANNOTATION]!.trim();
  const expires = annotations[EXPIRES_ANNOTATION]!;
  for (const policy of relevant) {
    const authorization = await options.authorizer.mayOverride(author.user, policy);
    if (!authorization.allowed) {
      outcome.ignored.push({ policy, why: notAuthorized(author, policy, authorization.reason) });
      continue;
    }
    // The requesting user must be allowed as well: a recorded author never lends their right to
    // whoever sends the request, so a change goes through only when both may override.
    const requesterAuthorization = author.source === 'record' && userKey(author.user) !== userKey(options.requester)
      ? await options.authorizer.mayOverride(options.requester, policy)
      : authorization;
    if (requesterAuthorization.allowed) {
      outcome.honoured.push({ policy, reason, expires, author: author.user.username });
    } else {
      outcome.ignored.push({ policy, why: requesterNotAuthorized(options.requester, author.user, policy, requesterAuthorization.reason) });
    }
  }
  return outcome;
}

const UNKNOWN_AUTHOR =
  'not authorized: levee has no record of who set this override (it records whoever sets or changes one); someone allowed to override sets it again, e.g. kubectl annotate --overwrite';

/** An automation identity never authors an override, whatever its rights. */
function authorProblem(author: Author, automation: (user: UserInfo) => string | undefined): string | undefined {
  if (author.source === 'unknown') return undefined;
  const matched = automation(author.user);
  if (!matched) return undefined;
  const who = author.user.username || 'this user';
  const set = author.source === 'request' ? 'sets' : 'set';
  return `not authorized: ${who} ${set} this override but is an automation identity (overrides.automation: ${matched}), which never authorizes one by itself; someone allowed to override sets it, e.g. with kubectl annotate`;
}

function requesterNotAuthorized(requester: UserInfo, author: UserInfo, policy: PolicyId, reason: string | undefined): string {
  const who = requester.username || 'this user';
  const detail = reason ? ` (${reason})` : '';
  return `not authorized: ${who} may not override ${policy}${detail}; the override was set by ${author.username || 'another user'}, but the requester must be allowed to override too; an admin can grant the levee-override ClusterRole`;
}

function notAuthorized(author: Author & { user: UserInfo }, policy: PolicyId, reason: string | undefined): string {
  const who = author.user.username || 'this user';
  const detail = reason ? ` (${reason})` : '';
  const recorded = author.source === 'record' ? ', who set this override as levee recorded,' : '';
  return `not authorized: ${who}${recorded} may not override ${policy}${detail}; an admin can grant the levee-override ClusterRole`;
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
