import type { AdmissionRequest, UserInfo } from '../kube/types.js';
import { AUTHORIZED_BY, recordValue, writesOverride, type Annotations } from './authorship.js';
import { OVERRIDDEN_AT, OVERRIDDEN_BY, overrideStamps, type HonouredOverride } from './overrides.js';

/**
 * levee's stamps: `levee.dev/overridden-*` (who overrode, and when) and
 * `levee.dev/override-authorized-by` (who set the override, engine/authorship.ts). Only levee
 * writes them. /mutate puts back any value a request changes (or removes, or adds) by itself,
 * then writes its own; /validate refuses a request whose stamps differ from the stored ones in
 * any way levee would not write for it, for when /mutate was skipped or ran before another
 * mutating webhook that changed them.
 */

const OVERRIDDEN_PREFIX = 'levee.dev/overridden-';

/** How far an `overridden-at` written by /mutate may be from /validate's clock (another replica, a slow chain of webhooks). */
export const STAMP_CLOCK_SLACK_MS = 60_000;

export function isStamp(key: string): boolean {
  return key.startsWith(OVERRIDDEN_PREFIX) || key === AUTHORIZED_BY;
}

/** What /mutate writes on the object's annotations, beside putting the stored stamps back. */
export interface StampWrites {
  honoured: readonly HonouredOverride[];
  /** The author record when this request writes the override: a value to write, or `null` to remove it. */
  record?: string | null;
  now: Date;
}

/**
 * Annotations whose stamps are only levee's, or undefined when the request's are so already.
 * Nothing for a subresource write or a Binding (whose annotations the API server copies onto the
 * Pod it binds): /mutate is never sent those, and /validate refuses a stamp in them.
 */
export function stampedAnnotations(request: AdmissionRequest, writes: StampWrites): Record<string, string> | undefined {
  const object = request.object;
  if (!object || request.subResource || request.operation === 'DELETE' || object.kind === 'Binding') return undefined;
  const annotations: Record<string, string> = { ...(object.metadata?.annotations ?? {}) };
  const stored = request.oldObject?.metadata?.annotations ?? {};
  for (const key of stampKeys(annotations, stored)) {
    if (annotations[key] === stored[key]) continue;
    if (stored[key] === undefined) delete annotations[key];
    else annotations[key] = stored[key];
  }
  if (writes.record === null) delete annotations[AUTHORIZED_BY];
  else if (writes.record !== undefined) annotations[AUTHORIZED_BY] = writes.record;
  const honoured = writes.honoured[0];
  if (honoured) Object.assign(annotations, overrideStamps(honoured.author, writes.now));
  const before = object.metadata?.annotations ?? {};
  const changed = Object.keys(annotations).length !== Object.keys(before).length || Object.entries(annotations).some(([key, value]) => before[key] !== value);
  return changed ? annotations : undefined;
}

/**
 * The stamps in this request that levee did not write: one sentence each. A stamp may change
 * only as /mutate changes it for this very request: the author record for a request that writes
 * the override (naming its requester and that override, or removed), `overridden-by` naming the
 * author of an override this request honours, `overridden-at` the time of it.
 */
export function forgedStamps(request: AdmissionRequest, honoured: readonly HonouredOverride[], isAutomation: (user: UserInfo) => boolean, now: Date): string[] {
  const object = request.object;
  if (!object || request.subResource === 'scale' || request.operation === 'DELETE' || request.operation === 'CONNECT') return [];
  const annotations = object.metadata?.annotations ?? {};
  const stored = request.operation === 'CREATE' ? {} : (request.oldObject?.metadata?.annotations ?? {});
  const problems: string[] = [];
  for (const key of stampKeys(annotations, stored)) {
    const value = annotations[key];
    if (value === stored[key] || levees(key, value, request, annotations, honoured, isAutomation, now)) continue;
    const change = value === undefined ? 'removes it' : `sets it to ${quote(value)}`;
    const was = stored[key] === undefined ? '' : ` (stored: ${quote(stored[key])})`;
    problems.push(`${key} is written by levee alone, and this request ${change}${was}; leave levee's stamps as they are`);
  }
  return problems;
}

function levees(key: string, value: string | undefined, request: AdmissionRequest, annotations: Annotations, honoured: readonly HonouredOverride[], isAutomation: (user: UserInfo) => boolean, now: Date): boolean {
  if (key === AUTHORIZED_BY) {
    if (!writesOverride(request)) return false;
    return value === undefined || (!isAutomation(request.userInfo) && value === recordValue(request.userInfo, annotations));
  }
  const override = honoured[0];
  if (!override || value === undefined) return false;
  if (key === OVERRIDDEN_BY) return value === override.author;
  if (key === OVERRIDDEN_AT) {
    const at = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(value) ? Date.parse(value) : Number.NaN;
    return Math.abs(at - now.getTime()) <= STAMP_CLOCK_SLACK_MS;
  }
  return false;
}

function stampKeys(a: Annotations, b: Annotations): string[] {
  return [...new Set([...Object.keys(a), ...Object.keys(b)])].filter(isStamp);
}

function quote(value: string): string {
  return JSON.stringify(value.length > 120 ? `${value.slice(0, 117)}...` : value);
}
