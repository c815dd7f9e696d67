import { createHash } from 'node:crypto';
import { isRecord } from '../kube/fields.js';
import type { AdmissionRequest, UserInfo } from '../kube/types.js';
import type { PolicyId } from '../config.js';
import {
  annotationProblem,
  EXPIRES_ANNOTATION,
  hasOverride,
  OVERRIDE_ANNOTATION,
  overriddenPolicies,
  REASON_ANNOTATION,
  type OverrideAuthorizer,
} from './overrides.js';

/**
 * Who set an override. An override counts for its author, not for whoever happens to send the
 * request that needs it: the person who wrote the annotations is the one who must be allowed
 * to override. levee knows the author in two ways only:
 * - the request sets or changes the override annotations: its requester wrote them;
 * - otherwise levee recorded the author when they were written, in
 *   `levee.dev/override-authorized-by` on the stored object (for `scale`, on the parent). The
 *   record names the author's whole userInfo and a digest of the annotations it covers, so it
 *   stops counting as soon as anyone changes the override, and only levee writes it (/mutate
 *   puts back any other change; /validate refuses one that got past /mutate).
 * An override levee never saw being written (set before levee ran, or through a path levee does
 * not see) has no author, and counts for nobody until someone sets it again.
 */

export const AUTHORIZED_BY = 'levee.dev/override-authorized-by';

export type Annotations = Readonly<Record<string, string>>;

export type Author =
  | { source: 'request'; user: UserInfo }
  | { source: 'record'; user: UserInfo }
  | { source: 'unknown' };

/** Where a request's override comes from, and who wrote it. */
export interface OverrideSource {
  annotations: Annotations | undefined;
  author: Author;
}

/** The three override annotations as one value; undefined when the object carries none of them. */
export function overrideDigest(annotations: Annotations | undefined): string | undefined {
  const values = [OVERRIDE_ANNOTATION, REASON_ANNOTATION, EXPIRES_ANNOTATION].map((key) => annotations?.[key] ?? null);
  if (values.every((value) => value === null)) return undefined;
  return `sha256:${createHash('sha256').update(JSON.stringify(values)).digest('hex')}`;
}

/** Whether this request writes the override annotations: CREATE with them, or an UPDATE that adds, changes or removes any. */
export function writesOverride(request: AdmissionRequest): boolean {
  if (request.subResource === 'scale' || !request.object) return false;
  if (request.operation === 'CREATE') return overrideDigest(request.object.metadata?.annotations) !== undefined;
  if (request.operation !== 'UPDATE') return false;
  return overrideDigest(request.object.metadata?.annotations) !== overrideDigest(request.oldObject?.metadata?.annotations);
}

/**
 * The author of the override in `annotations`, which the request carries (object or deleted
 * object) or, for `scale`, the parent holds; `stored` are the annotations of the stored object
 * the record is read from (oldObject, or the parent).
 */
export function authorOf(request: AdmissionRequest, annotations: Annotations | undefined, stored: Annotations | undefined): Author {
  if (writesOverride(request)) return { source: 'request', user: request.userInfo };
  const digest = overrideDigest(annotations);
  const record = readRecord(stored?.[AUTHORIZED_BY]);
  if (digest !== undefined && record && record.override === digest) return { source: 'record', user: record.user };
  return { source: 'unknown' };
}

/** The value of `levee.dev/override-authorized-by` naming `user` as the author of the override in `annotations`. */
export function recordValue(user: UserInfo, annotations: Annotations | undefined): string {
  const extra = extraOf(user.extra);
  return JSON.stringify({
    username: user.username,
    ...(user.uid ? { uid: user.uid } : {}),
    groups: user.groups,
    ...(extra ? { extra } : {}),
    override: overrideDigest(annotations) ?? '',
  });
}

interface AuthorRecord {
  user: UserInfo;
  override: string;
}

/** Reads a record; anything that is not one levee wrote is no record at all. */
export function readRecord(value: string | undefined): AuthorRecord | undefined {
  if (!value) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return undefined;
  }
  if (!isRecord(parsed) || typeof parsed.username !== 'string' || !parsed.username || typeof parsed.override !== 'string') return undefined;
  if (!Array.isArray(parsed.groups) || !parsed.groups.every((group) => typeof group === 'string')) return undefined;
  if (parsed.uid !== undefined && typeof parsed.uid !== 'string') return undefined;
  const extra = parsed.extra === undefined ? undefined : extraOf(parsed.extra);
  if (parsed.extra !== undefined && !extra) return undefined;
  const user: UserInfo = { username: parsed.username, groups: parsed.groups as string[], ...(parsed.uid ? { uid: parsed.uid } : {}), ...(extra ? { extra } : {}) };
  return { user, override: parsed.override };
}

function extraOf(value: unknown): Record<string, string[]> | undefined {
  if (!isRecord(value)) return undefined;
  const entries = Object.entries(value).filter((entry): entry is [string, string[]] => Array.isArray(entry[1]) && entry[1].every((item) => typeof item === 'string'));
  return entries.length === 0 ? undefined : Object.fromEntries(entries);
}

/** What /mutate does with the author record of a request that writes the override, and what it tells the requester. */
export interface Recording {
  /** The record to write, `null` to remove the stored one, undefined when this request does not write the override. */
  record?: string | null;
  notes: string[];
}

/**
 * On a request that writes the override annotations, levee records its requester as their
 * author when the requester is no automation identity and may override at least one of the
 * policies named (asked now, and asked again whenever the override is used). Removing the
 * override, or writing it without that right, removes the record.
 */
export async function recordAuthor(options: {
  request: AdmissionRequest;
  automation: (user: UserInfo) => string | undefined;
  authorizer: OverrideAuthorizer;
  now: Date;
  maxHours: number;
}): Promise<Recording> {
  const { request } = options;
  if (!writesOverride(request)) return { notes: [] };
  const annotations = request.object?.metadata?.annotations;
  if (!hasOverride(annotations)) return { record: null, notes: [] };
  const who = request.userInfo.username || 'this user';
  const matched = options.automation(request.userInfo);
  if (matched) {
    return { record: null, notes: [`levee: override not recorded: ${who} is an automation identity (overrides.automation: ${matched}); an override it applies never counts by itself`] };
  }
  const policies = overriddenPolicies(annotations);
  const allowed: PolicyId[] = [];
  for (const policy of policies) if ((await options.authorizer.mayOverride(request.userInfo, policy)).allowed) allowed.push(policy);
  if (allowed.length === 0) {
    const named = policies.length > 0 ? policies.join(', ') : 'no known policy';
    return { record: null, notes: [`levee: override not recorded: ${who} may not override ${named}`] };
  }
  const problem = annotationProblem(annotations!, options.now, options.maxHours);
  const until = problem ? `, but it does not apply: ${problem}` : ` until ${annotations![EXPIRES_ANNOTATION]}`;
  return { record: recordValue(request.userInfo, annotations), notes: [`levee: override of ${allowed.join(', ')} recorded as set by ${who}${until}`] };
}
